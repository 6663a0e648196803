"""The Wyoming endpoint, driven by the wyoming package's own client over a Unix socket in a temp dir."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import tempfile
from pathlib import Path

import numpy as np
import pytest
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong

from assistant.audio.io import float_to_pcm16
from assistant.config import ConfigError, PipelineConfig, WyomingConfig, parse_config
from assistant.events import Error, IntentRecognized, SkillHandled, WakeDetected
from assistant.pipeline import Assistant, Pacing
from assistant.wyoming import WyomingServer, wyoming_events
from tests.pipeline_doubles import EchoDialogue, ScriptedListener, ToneRecognizer, ToneVoice, tone_audio


def _assistant(listener=None):
    return Assistant(PipelineConfig(), sample_rate=16000, pacing=Pacing.REALTIME,
                     listener=listener or ScriptedListener(), recognizer=ToneRecognizer(),
                     dialogue=EchoDialogue(follow_up_s=0.0), speaker=ToneVoice(word_s=0.02))


async def _read_until(client: AsyncClient, last_type: str, timeout: float = 5.0) -> list:
    events = []
    while True:
        event = await asyncio.wait_for(client.read_event(), timeout)
        assert event is not None, f"connection closed; got {[e.type for e in events]}"
        events.append(event)
        if event.type == last_type:
            return events


def test_event_mapping():
    types = [e.type for e in wyoming_events(WakeDetected("hey_jarvis", 0.8, 1.25))]
    assert types == ["detection", "wake-detected"]
    detection, ours = wyoming_events(WakeDetected("hey_jarvis", 0.8, 1.25))
    assert detection.data["name"] == "hey_jarvis" and detection.data["timestamp"] == 1250
    assert ours.data == {"name": "hey_jarvis", "score": 0.8, "time_s": 1.25}
    intent = wyoming_events(IntentRecognized("HassStartTimer", {"minutes": 5}, "set a timer"))[0]
    assert intent.type == "intent" and intent.data["entities"] == [{"name": "minutes", "value": 5}]
    assert [e.type for e in wyoming_events(SkillHandled("timer", "HassStartTimer", "Done", False))] == [
        "not-handled", "skill-handled"]
    (err,) = wyoming_events(Error("skills", "timed out"))
    assert err.type == "error" and err.data["code"] == "skills"


def test_info_names_each_wake_word_with_its_phrase(tmp_path):
    """Home Assistant resolves a satellite's detection to the phrase of the wake model of that name in its
    ``info`` (so satellites hearing one phrase are told apart): the device's wake words are announced with
    their phrases (``Stages.wake_words``: tests/wake/test_confirm.py)."""
    words = {"hey_jarvis": "hey jarvis", "micro/okay_nabu": "okay nabu"}
    sock_path = tmp_path / "wyoming.sock"

    async def scenario():
        server = WyomingServer(WyomingConfig(socket=sock_path), _assistant(), accept_audio=False, wake_words=words)
        await server.start()
        async with AsyncClient.from_uri(f"unix://{sock_path}") as client:
            await client.write_event(Describe().event())
            info = Info.from_event((await _read_until(client, "info"))[-1])
        await server.stop()
        return info

    info = asyncio.run(scenario())
    assert info.satellite.active_wake_words == ["hey_jarvis", "micro/okay_nabu"]
    (program,) = info.wake
    assert program.installed and [(m.name, m.phrase) for m in program.models] == [
        ("hey_jarvis", "hey jarvis"), ("micro/okay_nabu", "okay nabu")]


def test_stream_audio_in_and_get_events_and_reply_audio_out(tmp_path):
    sock_path = tmp_path / "wyoming.sock"

    async def scenario():
        a = _assistant(ScriptedListener(wakes=[0.5], speech=[(1.0, 1.6)]))
        server = WyomingServer(WyomingConfig(socket=sock_path), a, accept_audio=True)
        await server.start()
        run = asyncio.create_task(a.run())
        assert stat.S_IMODE(sock_path.stat().st_mode) == 0o600
        async with AsyncClient.from_uri(f"unix://{sock_path}") as client:
            await client.write_event(Describe().event())
            info = Info.from_event((await _read_until(client, "info"))[-1])
            assert info.satellite is not None and info.satellite.name == "assistant"
            await client.write_event(Ping(text="x").event())
            assert Pong.from_event((await _read_until(client, "pong"))[-1]).text == "x"
            # 2.5 s of audio at 48 kHz stereo: converted to 16 kHz mono at the edge.
            audio = tone_audio(2.5, [(1.0, 1.6, 660)], rate=48000)
            pcm = float_to_pcm16(np.repeat(audio, 2))
            await client.write_event(AudioStart(rate=48000, width=2, channels=2).event())
            step = 48000 * 2 * 2 // 50
            for i in range(0, len(pcm), step):
                chunk = AudioChunk(rate=48000, width=2, channels=2, audio=pcm[i:i + step])
                await client.write_event(chunk.event())
            await client.write_event(AudioStop().event())
            events = await _read_until(client, "audio-stop")
            # Inject text as if heard: answered the same way.
            await client.write_event(Transcript(text="what time is it").event())
            injected = await _read_until(client, "audio-stop")
        a.end_of_input()
        await asyncio.wait_for(run, 5)
        await server.stop()
        return events, injected, a

    events, injected, a = asyncio.run(scenario())
    types = [e.type for e in events]
    for t in ["detection", "wake-detected", "voice-started", "voice-stopped", "transcript",
              "transcript-final", "intent", "intent-recognized", "handled", "skill-handled", "audio-start",
              "audio-chunk", "audio-stop", "state-changed"]:
        assert t in types, t
    assert types.index("detection") < types.index("voice-started") < types.index("transcript") \
        < types.index("intent") < types.index("audio-start")
    transcript = next(e for e in events if e.type == "transcript")
    assert transcript.data["text"] == "set a timer"  # the audio went through, resampled and mixed down
    chunks = [AudioChunk.from_event(e) for e in events if e.type == "audio-chunk"]
    assert chunks[0].rate == 22050 and sum(c.samples for c in chunks) == int(5 * 0.02 * 22050)
    assert [e.data["text"] for e in injected if e.type == "transcript"] == ["what time is it"]
    assert "audio-chunk" in [e.type for e in injected]
    assert not sock_path.exists()  # removed on stop


def test_audio_is_refused_when_the_microphone_is_the_input(tmp_path):
    sock_path = tmp_path / "w.sock"

    async def scenario():
        a = _assistant()
        server = WyomingServer(WyomingConfig(socket=sock_path), a, accept_audio=False)
        await server.start()
        run = asyncio.create_task(a.run())
        async with AsyncClient.from_uri(f"unix://{sock_path}") as client:
            await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
            err = (await _read_until(client, "error"))[-1]
        a.stop()
        await run
        await server.stop()
        return err

    assert "microphone" in asyncio.run(scenario()).data["text"]


def test_refuses_to_replace_a_file_that_is_not_a_socket(tmp_path):
    path = tmp_path / "precious.txt"
    path.write_text("keep me")

    async def scenario():
        server = WyomingServer(WyomingConfig(socket=path), _assistant(), accept_audio=False)
        await server.start()

    from assistant.audio.io import AudioError

    with pytest.raises(AudioError, match="not a socket"):
        asyncio.run(scenario())
    assert path.read_text() == "keep me"


def test_tcp_is_loopback_unless_allowed():
    with pytest.raises(ConfigError, match="wyoming.tcp: 0.0.0.0 is not a loopback address"):
        parse_config({"wyoming": {"tcp": "0.0.0.0:10700"}})
    with pytest.raises(ConfigError, match="wyoming.tcp"):
        parse_config({"wyoming": {"tcp": "10700"}})
    assert parse_config({"wyoming": {"tcp": "192.168.1.5:10700", "allow_remote": True}}).wyoming.allow_remote
    assert parse_config({"wyoming": {"tcp": "[::1]:10700"}}).wyoming.tcp == "[::1]:10700"
    assert parse_config({}).wyoming == WyomingConfig()  # nothing listens by default


def test_tcp_endpoint_on_loopback():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def scenario():
        a = _assistant()
        server = WyomingServer(WyomingConfig(tcp=f"127.0.0.1:{port}"), a, accept_audio=False)
        await server.start()
        run = asyncio.create_task(a.run())
        async with AsyncClient.from_uri(f"tcp://127.0.0.1:{port}") as client:
            await client.write_event(Ping().event())
            pong = (await _read_until(client, "pong"))[-1]
        a.stop()
        await run
        await server.stop()
        return pong

    assert asyncio.run(scenario()).type == "pong"


def connect_as_nobody(address: Path | int) -> str:
    """Fork; the child drops to uid 65534 (nobody) and tries the endpoint (a Unix socket's path, or a
    loopback TCP port) with a ping. Returns what happened."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: socket calls and os._exit only
        result = b"answered"
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                if isinstance(address, int):
                    s = socket.create_connection(("127.0.0.1", address), timeout=3)
                else:
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(str(address))
                s.sendall(b'{"type": "ping", "data": {}}\n')
                s.settimeout(3)
                if s.recv(100) == b"":
                    result = b"closed-by-server"
            except PermissionError:
                result = b"refused-by-permissions"
            except (ConnectionResetError, BrokenPipeError):
                result = b"closed-by-server"
        except BaseException as e:
            result = f"child-failed: {type(e).__name__}: {e}".encode()
        os.write(w, result)
        os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    with os.fdopen(r, "rb") as f:
        return f.read().decode()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_other_users_are_refused():
    d = Path(tempfile.mkdtemp(prefix="assistant-wy-"))
    try:
        d.chmod(0o755)
        sock_path = d / "w.sock"

        async def attempt(widen: bool) -> str:
            a = _assistant()
            server = WyomingServer(WyomingConfig(socket=sock_path), a, accept_audio=False)
            await server.start()
            if widen:  # even if someone loosens the file mode, the peer check refuses other uids
                sock_path.chmod(0o666)
            run = asyncio.create_task(a.run())
            out = await asyncio.wait_for(asyncio.to_thread(connect_as_nobody, sock_path), 10)
            a.stop()
            await run
            await server.stop()
            return out

        assert asyncio.run(attempt(widen=False)) == "refused-by-permissions"
        assert asyncio.run(attempt(widen=True)) == "closed-by-server"
    finally:
        for p in d.iterdir():
            p.unlink()
        d.rmdir()
