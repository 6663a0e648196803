"""Satellite mode (assistant/satellite.py) over a real TCP Wyoming endpoint, with the wyoming package's
own client in Home Assistant's place: it connects, runs (or pauses) the satellite, receives the request
the device streams after its wake word, and answers as Home Assistant's pipeline does (transcript,
synthesize, the reply's audio; or an error, or nothing). tests/home/test_satellite.py does the same with
the real Home Assistant."""

from __future__ import annotations

import asyncio
import socket
import tomllib

import numpy as np
import pytest
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.event import Event as WyEvent
from wyoming.info import Describe
from wyoming.ping import Ping

from assistant.audio.io import float_to_pcm16, pcm16_to_float
from assistant.config import ConfigError, PipelineConfig, WyomingConfig, WyomingMode, parse_config
from assistant.events import Error, RemoteReplied, RequestHandedOver, SpeechSynthesized, TranscriptFinal
from assistant.pipeline import Assistant, Pacing
from assistant.satellite import SatelliteLink
from assistant.wyoming import WyomingServer
from tests.pipeline_doubles import (
    EchoDialogue,
    RecordingSink,
    ScriptedListener,
    ToneRecognizer,
    ToneVoice,
    dominant_hz,
    tone_audio,
)

RATE = 16000
CHUNK = RATE // 50
REPLY_RATE = 22050
APOLOGY = "Home Assistant could not answer that"
"""wyoming.satellite_error_reply, as the voice double says it (one sentence, no full stop)"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Device:
    """The pipeline (doubles for the stages) behind a real Wyoming endpoint on a loopback TCP port."""

    def __init__(self, mode: WyomingMode = WyomingMode.SATELLITE, *, speech=((1.0, 1.6),),
                 turn_timeout_s: float = 8.0) -> None:
        self.cfg = WyomingConfig(tcp=f"127.0.0.1:{_free_port()}", mode=mode)
        self.link = SatelliteLink(self.cfg) if mode == WyomingMode.SATELLITE else None
        self.listener = ScriptedListener(wakes=[0.5, 6.5], speech=[*speech, (7.0, 7.6)])
        self.recognizer, self.voice, self.sink = ToneRecognizer(), ToneVoice(word_s=0.02), RecordingSink()
        self.dialogue = EchoDialogue(follow_up_s=0.0)
        self.assistant = Assistant(PipelineConfig(turn_timeout_s=turn_timeout_s), sample_rate=RATE,
                                   pacing=Pacing.REALTIME, listener=self.listener, recognizer=self.recognizer,
                                   dialogue=self.dialogue, speaker=self.voice, sink=self.sink, remote=self.link)
        self.server = WyomingServer(self.cfg, self.assistant, accept_audio=False, satellite=self.link)
        self.events: list = []
        self.assistant.subscribe(self.events.append)

    async def __aenter__(self) -> Device:
        await self.server.start()
        self.run = asyncio.create_task(self.assistant.run())
        await asyncio.sleep(0.05)
        return self

    async def __aexit__(self, *exc) -> None:
        self.assistant.stop()
        await asyncio.wait_for(self.run, 5)
        await self.server.stop()

    def client(self) -> AsyncClient:
        return AsyncClient.from_uri(f"tcp://{self.cfg.tcp}")

    async def speak(self, audio: np.ndarray, start_s: float = 0.0) -> None:
        """Feed ``audio`` in real time, as a microphone would (from ``start_s`` of it)."""
        for i in range(int(start_s * RATE), len(audio), CHUNK):
            await self.assistant.feed_audio(audio[i:i + CHUNK])
            await asyncio.sleep(CHUNK / RATE)

    async def idle(self, timeout_s: float = 10.0) -> None:
        for _ in range(int(timeout_s / 0.02)):
            if self.assistant.state.value == "idle" and self.assistant._turn is None:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"still {self.assistant.state} after {timeout_s} s")


REQUEST = tone_audio(2.5, [(1.0, 1.6, 660)])
"""the wake word at 0.5 s (scripted), then "set a timer" (660 Hz) from 1.0 to 1.6 s"""
SECOND = tone_audio(8.5, [(7.0, 7.6, 440)])
"""the same stream on: the wake word again at 6.5 s, then "what time is it" (440 Hz) at 7.0 s"""


async def _read(client: AsyncClient, until: str, timeout_s: float = 5.0) -> list[WyEvent]:
    events = []
    while True:
        event = await asyncio.wait_for(client.read_event(), timeout_s)
        assert event is not None, f"connection closed after {[e.type for e in events]}"
        events.append(event)
        if event.type == until:
            return events


async def _run_satellite(client: AsyncClient) -> None:
    await client.write_event(Describe().event())
    await _read(client, "info")
    await client.write_event(WyEvent(type="run-satellite"))
    await client.write_event(Ping(text="hello").event())  # Home Assistant pings every few seconds
    assert (await _read(client, "pong"))[-1].data["text"] == "hello"


def _reply_audio(seconds: float = 0.3, hz: int = 330) -> list[bytes]:
    t = np.arange(int(seconds * REPLY_RATE)) / REPLY_RATE
    pcm = float_to_pcm16((0.4 * np.sin(2 * np.pi * hz * t)).astype(np.float32))
    step = 1024 * 2  # Home Assistant sends 1024 samples an event
    return [pcm[i:i + step] for i in range(0, len(pcm), step)]


async def _answer(client: AsyncClient, transcript: str, reply: str) -> None:
    """What Home Assistant's pipeline sends back for a request."""
    for event in [WyEvent(type="transcribe", data={"language": "en"}),
                  WyEvent(type="voice-started", data={"timestamp": 0}),
                  WyEvent(type="transcript", data={"text": transcript}),
                  WyEvent(type="synthesize", data={"text": reply, "voice": {}}),
                  AudioStart(rate=REPLY_RATE, width=2, channels=1).event(),
                  *[AudioChunk(rate=REPLY_RATE, width=2, channels=1, audio=c).event() for c in _reply_audio()],
                  AudioStop().event()]:
        await client.write_event(event)


def _streamed(events: list[WyEvent]) -> np.ndarray:
    return np.concatenate([pcm16_to_float(e.payload) for e in events if e.type == "audio-chunk"])


def test_the_request_goes_to_home_assistant_and_its_reply_is_played():
    async def scenario():
        async with Device() as device, device.client() as ha:
            await _run_satellite(ha)
            speaking = asyncio.create_task(device.speak(REQUEST))
            request = await _read(ha, "audio-stop")
            await _answer(ha, "set a timer", "Timer set for five minutes")
            await speaking
            await device.idle()
            await asyncio.sleep(0.2)
            return device, request, ha

    device, request, _ = asyncio.run(scenario())
    types = [e.type for e in request]
    # the wake word's name, then the run, then the request's audio, and nothing of our own events
    assert types[:4] == ["detection", "run-pipeline", "audio-start", "audio-chunk"] and types[-1] == "audio-stop"
    assert set(types) == {"detection", "run-pipeline", "audio-start", "audio-chunk", "audio-stop"}, types
    assert request[0].data["name"] == "scripted"
    assert request[1].data == {"start_stage": "asr", "end_stage": "tts", "restart_on_end": False}
    audio = _streamed(request)
    assert abs(dominant_hz(audio) - 660) <= 5 and 0.6 <= len(audio) / RATE <= 1.2  # the request, up to our endpoint
    assert device.recognizer.heard == [] and device.dialogue.handled == []  # nothing answered on the device
    played = np.concatenate([s for s, rate in device.sink.played if rate == REPLY_RATE])
    assert len(played) == len(np.concatenate([pcm16_to_float(c) for c in _reply_audio()]))
    assert abs(dominant_hz(played, REPLY_RATE) - 330) <= 5  # Home Assistant's reply, through the device's sink
    handed = [e for e in device.events if isinstance(e, RequestHandedOver)]
    assert [(e.target, e.wake_word) for e in handed] == [("homeassistant", "scripted")]
    assert [(e.text, e.engine) for e in device.events if isinstance(e, TranscriptFinal)] == [
        ("set a timer", "homeassistant")]
    assert [e.text for e in device.events if isinstance(e, RemoteReplied)] == ["Timer set for five minutes"]
    said = [e for e in device.events if isinstance(e, SpeechSynthesized)]
    assert [e.text for e in said] == ["Timer set for five minutes"] and said[0].sample_rate == REPLY_RATE
    assert not [e for e in device.events if isinstance(e, Error)]
    assert device.assistant.stats.latencies_s  # end of speech -> first reply audio is measured as ours is


def test_pause_satellite_stops_streaming_and_the_device_answers_on_its_own():
    async def scenario():
        async with Device(speech=((1.0, 3.0),)) as device, device.client() as ha:
            audio = tone_audio(4.0, [(1.0, 3.0, 660)])
            await _run_satellite(ha)
            speaking = asyncio.create_task(device.speak(audio))
            before = await _read(ha, "audio-chunk")  # the request is streaming...
            await ha.write_event(WyEvent(type="pause-satellite"))  # ...when the user mutes the satellite
            await asyncio.sleep(0.3)  # (what was already on its way)
            after = []
            with pytest.raises(TimeoutError):
                while True:
                    after.append(await asyncio.wait_for(ha.read_event(), 1.5))
            await speaking
            await device.idle()
            # paused: the next request is the device's own, and nothing goes to Home Assistant
            await device.speak(SECOND, start_s=4.0)
            await device.idle()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ha.read_event(), 0.5)
            return device, before, after

    device, before, after = asyncio.run(scenario())
    assert [e.type for e in before][:2] == ["detection", "run-pipeline"]
    assert after == []  # nothing streamed once the pause had arrived, not even audio-stop
    errors = [e.message for e in device.events if isinstance(e, Error)]
    assert errors == ["Home Assistant paused the satellite"]
    assert APOLOGY in device.voice.synthesized
    assert device.recognizer.heard == ["what time is it"] and device.dialogue.handled == ["what time is it"]


def test_home_assistant_leaving_mid_turn_gets_an_apology_and_the_device_keeps_running():
    async def scenario():
        async with Device() as device:
            async with device.client() as ha:
                await _run_satellite(ha)
                speaking = asyncio.create_task(device.speak(REQUEST))
                await _read(ha, "audio-stop")
                await ha.write_event(WyEvent(type="transcript", data={"text": "set a timer"}))
                await asyncio.sleep(0.1)
            # Home Assistant stopped before it answered
            await speaking
            await device.idle()
            await device.speak(SECOND, start_s=2.5)
            await device.idle()
            return device

    device = asyncio.run(scenario())
    assert [e.message for e in device.events if isinstance(e, Error)] == ["Home Assistant disconnected"]
    assert APOLOGY in device.voice.synthesized
    assert device.dialogue.handled == ["what time is it"]  # the next request: the device's own answer


def test_no_reply_within_the_turn_timeout_gets_an_apology_and_a_timer_rings_after_it():
    async def scenario():
        async with Device(turn_timeout_s=1.0) as device, device.client() as ha:
            await _run_satellite(ha)
            await device.speak(REQUEST)
            await _read(ha, "audio-stop")
            device.assistant.announce("Your timer is done")  # due while Home Assistant keeps it waiting
            await device.idle(5.0)
            for _ in range(100):  # the announcement's turn, once the request's has ended
                if len(device.voice.synthesized) == 2:
                    break
                await asyncio.sleep(0.02)
            await device.idle(5.0)
            await ha.write_event(Ping(text="still here").event())  # the connection is still served
            assert (await _read(ha, "pong"))[-1].data["text"] == "still here"
            return device

    device = asyncio.run(scenario())
    assert [e.message for e in device.events if isinstance(e, Error)] == ["no reply within 1 s"]
    assert device.voice.synthesized == [APOLOGY, "Your timer is done"]  # rung once the turn ended


def test_a_pipeline_error_is_said_as_an_apology():
    async def scenario():
        async with Device() as device, device.client() as ha:
            await _run_satellite(ha)
            await device.speak(REQUEST)
            await _read(ha, "audio-stop")
            await ha.write_event(WyEvent(type="error", data={"code": "stt-no-text-recognized", "text": "No text"}))
            await device.idle()
            return device

    device = asyncio.run(scenario())
    assert [e.message for e in device.events if isinstance(e, Error)] == ["stt-no-text-recognized: No text"]
    assert device.voice.synthesized == [APOLOGY]


def test_standalone_mode_ignores_run_satellite():
    async def scenario():
        async with Device(WyomingMode.STANDALONE) as device, device.client() as ha:
            await _run_satellite(ha)
            await device.speak(REQUEST)
            seen = await _read(ha, "audio-stop")  # our events and reply, as to any client
            await device.idle()
            return device, seen

    device, seen = asyncio.run(scenario())
    types = [e.type for e in seen]
    assert "run-pipeline" not in types and "transcript-final" in types
    assert device.dialogue.handled == ["set a timer"]
    assert not [e for e in device.events if isinstance(e, RequestHandedOver)]


def test_satellite_mode_needs_a_tcp_address():
    with pytest.raises(ConfigError, match=r"wyoming.mode: \"satellite\" needs wyoming.tcp"):
        parse_config(tomllib.loads('[wyoming]\nmode = "satellite"\nsocket = "/tmp/x.sock"\n'))
    with pytest.raises(ConfigError, match="wyoming.mode"):
        parse_config(tomllib.loads('[wyoming]\nmode = "homeassistant"\n'))
    cfg = parse_config(tomllib.loads('[wyoming]\nmode = "satellite"\ntcp = "127.0.0.1:10700"\n'))
    assert cfg.wyoming.mode == WyomingMode.SATELLITE
    with pytest.raises(ValueError, match="satellite"):
        SatelliteLink(WyomingConfig())


def test_the_wake_word_during_home_assistants_reply_cuts_it_and_the_next_request_goes_to_it_too():
    async def scenario():
        device = Device(speech=((1.0, 1.6), (3.6, 4.0)))
        device.listener.wakes = [0.5, 3.0]  # the second wake word while the reply plays
        async with device, device.client() as ha:
            audio = tone_audio(5.5, [(1.0, 1.6, 660), (3.6, 4.0, 440)])
            await _run_satellite(ha)
            speaking = asyncio.create_task(device.speak(audio))
            await _read(ha, "audio-stop")
            await ha.write_event(WyEvent(type="synthesize", data={"text": "A long answer"}))
            await ha.write_event(AudioStart(rate=REPLY_RATE, width=2, channels=1).event())
            for c in _reply_audio(seconds=3.0):  # Home Assistant sends it all at once, as it does
                await ha.write_event(AudioChunk(rate=REPLY_RATE, width=2, channels=1, audio=c).event())
            await ha.write_event(AudioStop().event())
            second = await _read(ha, "audio-stop")
            await _answer(ha, "what time is it", "It is noon")
            await speaking
            await device.idle()
            return device, second

    device, second = asyncio.run(scenario())
    assert [e.type for e in second][:2] == ["detection", "run-pipeline"]
    assert abs(dominant_hz(_streamed(second)) - 440) <= 5  # the second request's audio
    assert device.sink.stops >= 1  # the reply was cut at the wake word
    said = [e for e in device.events if isinstance(e, SpeechSynthesized)]
    assert [e.text for e in said] == ["A long answer", "It is noon"]
    assert said[0].duration_s < 2.0  # of 3 s: cut short
    assert not [e for e in device.events if isinstance(e, Error)]


def test_the_text_level_hand_over_needs_the_home_assistant_backend():
    """The README's "Who answers": handing requests to Home Assistant's conversation agent without
    Home Assistant as the backend is refused at load, not silently ignored."""
    with pytest.raises(ConfigError, match=r'home.homeassistant.requests: "device-then-homeassistant" .* needs '
                                          r'home.backend = "homeassistant" \(it is "local"\)'):
        parse_config(tomllib.loads('[home.homeassistant]\nrequests = "device-then-homeassistant"\n'))
    cfg = parse_config(tomllib.loads('[home]\nbackend = "homeassistant"\n[home.homeassistant]\n'
                                     'requests = "device-then-homeassistant"\n[wyoming]\nmode = "satellite"\n'
                                     'tcp = "127.0.0.1:10700"\n'))
    assert cfg.home.homeassistant.requests == "device-then-homeassistant"  # with satellite mode: both hold
