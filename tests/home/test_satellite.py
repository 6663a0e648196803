"""The device as the real Home Assistant's satellite: Home Assistant 2024.3.3 (tests/home/conftest.py)
adds the device through its own ``wyoming`` integration's config flow, connects to its loopback TCP port
and runs the satellite; a spoken request through ``assistant run`` (wake word, then the request) is
streamed to its Assist pipeline, which turns ``light.kitchen_lights`` on, and its spoken reply (the demo
TTS's MP3, converted by Home Assistant with ffmpeg) is written to the device's reply WAV.

The pipeline: ``satellite_stt`` (tests/home/ha_custom_components: the demo STT for mono audio, which keeps
what it heard), Home Assistant's own conversation agent, the demo TTS.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.io import float_to_pcm16, read_audio
from tests.home.conftest import HA_VENV, _http, free_port
from tests.home.test_spoken import _spoken

REPO = Path(__file__).resolve().parents[2]
RATE = 16000
WAKE_WORD_COOLDOWN_S = 2.5
"""Home Assistant refuses a second wake-up with the same wake word within 2 s (assist_pipeline's
WAKE_WORD_COOLDOWN: several satellites hearing one wake word); the input is read faster than real time,
so the requests are written that far apart"""
_LAST_WRITE = [0.0]
"""when audio was last written to a device (time.monotonic)"""
PING_INTERVAL_S = 2.0
"""Home Assistant pings a satellite 2 s after its last pong (wyoming/satellite.py, _PING_SEND_DELAY)"""


@pytest.fixture(scope="module")
def satellite_home(home_assistant):
    """The real Home Assistant with an Assist pipeline that can serve a satellite, preferred."""
    if not shutil.which("ffmpeg"):
        pytest.skip("ffmpeg (Debian package, tools/system_deps.sh): Home Assistant converts its TTS reply with it")
    if not list(HA_VENV.glob("lib/python3*/site-packages/wyoming/satellite.py")):
        pytest.skip(f"the Home Assistant venv at {HA_VENV} has no wyoming package (tools/ha/setup_venv.sh adds it)")
    ha = home_assistant
    ha.ensure_running()
    (pipeline,) = ha.websocket({"type": "assist_pipeline/pipeline/create", "name": "Satellite test",
                                "language": "en", "conversation_engine": "homeassistant",
                                "conversation_language": "en", "stt_engine": "satellite_stt", "stt_language": "en",
                                "tts_engine": "demo", "tts_language": "en", "tts_voice": None,
                                "wake_word_entity": None, "wake_word_id": None})
    ha.websocket({"type": "assist_pipeline/pipeline/set_preferred", "pipeline_id": pipeline["id"]})
    return ha


def _stt_dir(ha) -> Path:
    return ha.config_dir / "satellite_stt"


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


class Device:
    """``assistant -v run --input -`` in satellite mode on a free loopback port, added to Home Assistant
    through the wyoming config flow; its input is raw PCM on stdin, its replies a WAV."""

    def __init__(self, ha, tmp_path: Path, *, mode: str = "satellite", turn_timeout_s: float = 8.0) -> None:
        self.ha, self.tmp = ha, tmp_path
        self.port = free_port()
        self.config = tmp_path / "assistant.toml"
        self.config.write_text(f'[runtime]\nstate_dir = "{tmp_path / "state"}"\n'
                               f'[pipeline]\nturn_timeout_s = {turn_timeout_s}\n'
                               f'[wyoming]\ntcp = "127.0.0.1:{self.port}"\nmode = "{mode}"\n')
        self.log = tmp_path / "assistant.log"
        self.events_file = tmp_path / "events.jsonl"
        self.reply_wav = tmp_path / "reply.wav"
        self.entry_id = ""
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "assistant", "-v", "run", "--config", str(self.config), "--input", "-",
                 "--output", str(self.reply_wav), "--events", str(self.events_file), "--json"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=REPO)
        self.wait_log("Wyoming endpoint listening", 120)

    def wait_log(self, text: str, timeout_s: float = 30, after: int = 0) -> int:
        """Wait until the device's log has ``text`` (past character ``after``); where it ends."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            log = self.log.read_text(errors="replace")
            at = log.find(text, after)
            if at >= 0:
                return at + len(text)
            assert self.process.poll() is None, f"the device exited:\n{log[-3000:]}"
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} in the device's log after {timeout_s} s:\n{log[-3000:]}")

    def add_to_home_assistant(self) -> None:
        """The wyoming integration's config flow, as a user adds a satellite (host and port)."""
        ha = self.ha
        flow = _http(f"{ha.url}/api/config/config_entries/flow", {"handler": "wyoming"}, token=ha.token)
        result = _http(f"{ha.url}/api/config/config_entries/flow/{flow['flow_id']}",
                       {"host": "127.0.0.1", "port": self.port}, token=ha.token)
        assert result["type"] == "create_entry", result
        self.entry_id = result["result"]["entry_id"]

    def remove_from_home_assistant(self) -> None:
        if self.entry_id and self.ha.running:
            _http(f"{self.ha.url}/api/config/config_entries/entry/{self.entry_id}", token=self.ha.token,
                  method="DELETE")
            self.entry_id = ""

    def write(self, samples: np.ndarray) -> None:
        # every request reaches the one Home Assistant: none within its wake-word cooldown of the last one,
        # from this test or the one before (with a second's margin for a loaded machine's processing)
        time.sleep(max(0.0, _LAST_WRITE[0] + WAKE_WORD_COOLDOWN_S + 1.0 - time.monotonic()))
        self.process.stdin.write(float_to_pcm16(samples))
        self.process.stdin.flush()
        _LAST_WRITE[0] = time.monotonic()

    def finish(self, timeout_s: float = 120) -> tuple[dict, list[dict]]:
        """End the input; the summary (``--json``) and the events."""
        out, _ = self.process.communicate(timeout=timeout_s)
        assert self.process.returncode == 0, self.log.read_text(errors="replace")[-3000:]
        summary = json.loads(out.splitlines()[-1])
        events = [json.loads(line) for line in self.events_file.read_text().splitlines()]
        return summary, events

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.remove_from_home_assistant()


@pytest.fixture
def device(satellite_home, tmp_path) -> Iterator[Device]:
    stt = _stt_dir(satellite_home)
    shutil.rmtree(stt, ignore_errors=True)
    d = Device(satellite_home, tmp_path)
    try:
        yield d
    finally:
        d.stop()
        shutil.rmtree(stt, ignore_errors=True)


def _request(tmp_path: Path, text: str) -> np.ndarray:
    return read_audio(_spoken(tmp_path, text), RATE).samples


def test_a_spoken_request_reaches_home_assistants_pipeline_and_its_reply_comes_back(device, tmp_path):
    ha = device.ha
    ha.call("light", "turn_off", entity_id="light.kitchen_lights")
    assert ha.wait_for_state("light.kitchen_lights", "off")["state"] == "off"
    device.start()
    device.add_to_home_assistant()
    device.wait_log("runs the satellite")
    request = _request(tmp_path, "Hey Jarvis. Turn on the kitchen lights.")
    turns = 3
    for _ in range(turns):
        device.write(np.concatenate([request, _silence(6.0)]))  # (room for the reply, in stream time)
        time.sleep(WAKE_WORD_COOLDOWN_S)
    summary, events = device.finish()

    assert ha.wait_for_state("light.kitchen_lights", "on")["state"] == "on"  # the real light changed
    kinds = [e["type"] for e in events]
    assert kinds.count("request-handed-over") == turns, kinds
    assert not [e for e in events if e["type"] == "error"], [e for e in events if e["type"] == "error"]
    finals = [e for e in events if e["type"] == "transcript-final"]
    assert [(e["text"], e["engine"]) for e in finals] == [("Turn the Kitchen Lights on", "homeassistant")] * turns
    replied = [e["text"] for e in events if e["type"] == "remote-replied"]
    assert len(replied) == turns and all(replied), replied  # Home Assistant's answer, as text
    said = [e for e in events if e["type"] == "speech-synthesized"]
    assert len(said) == turns and all(e["duration_s"] > 0.2 for e in said), said
    assert summary["transcripts"] == ["Turn the Kitchen Lights on"] * turns
    # its reply's audio was written where the device's own replies go
    reply = read_audio(device.reply_wav, 22050).samples
    assert len(reply) / 22050 >= 0.9 * sum(e["duration_s"] for e in said) and np.abs(reply).max() > 0.05
    # what Home Assistant heard is the request: the listener's pre-roll and the speech up to our endpoint
    heard = sorted(_stt_dir(ha).glob("request-*.wav"))
    assert len(heard) == turns
    for wav in heard:  # the request without the wake word and the silence before it
        audio = read_audio(wav, RATE).samples
        assert 1.0 < len(audio) / RATE < len(request) / RATE - 1.0 and np.abs(audio).max() > 0.1
    run = subprocess.run([sys.executable, "-m", "assistant", "transcribe", "--json", str(heard[0])],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "kitchen light" in run.stdout.lower(), run.stdout  # the device's recogniser hears it in HA's copy
    latency = summary["stats"]["latency_median_s"]
    assert latency is not None and latency < 5.0
    print(f"\nsatellite: end of speech -> first reply audio from Home Assistant, median of {turns} turns: "
          f"{1000 * latency:.0f} ms")


def test_muting_the_satellite_in_home_assistant_pauses_it_and_the_device_answers_on_its_own(device, tmp_path):
    ha = device.ha
    device.start()
    device.add_to_home_assistant()
    at = device.wait_log("runs the satellite")
    (entities,) = ha.websocket({"type": "config/entity_registry/list"})
    (mute,) = [e["entity_id"] for e in entities
               if e["config_entry_id"] == device.entry_id and e["entity_id"].startswith("switch.")]
    ha.call("switch", "turn_on", entity_id=mute)  # Home Assistant sends pause-satellite
    muted = time.monotonic()
    at = device.wait_log("paused the satellite", after=at)
    device.write(np.concatenate([_request(tmp_path, "Hey Jarvis. What time is it?"), _silence(6.0)]))
    at = device.wait_log("speech-synthesized", 60, after=at)  # the device's own answer
    # Home Assistant 2024.3.3's satellite loop looks at the switch only when an event arrives (a pong,
    # every 2 s): muted and unmuted in between, it goes on as if never muted, and never sends
    # run-satellite again (the device stays paused until it reconnects)
    time.sleep(max(0.0, muted + 2 * PING_INTERVAL_S - time.monotonic()))
    ha.call("switch", "turn_off", entity_id=mute)  # Home Assistant connects again and runs the satellite
    device.wait_log("runs the satellite", 30, after=at)
    time.sleep(WAKE_WORD_COOLDOWN_S)
    device.write(np.concatenate([_request(tmp_path, "Hey Jarvis. Turn on the kitchen lights."), _silence(6.0)]))
    summary, events = device.finish()
    kinds = [e["type"] for e in events]
    assert kinds.count("request-handed-over") == 1 and not [e for e in events if e["type"] == "error"], kinds
    first, second = [e for e in events if e["type"] == "transcript-final"]
    assert "what time is it" in first["text"].lower() and first["engine"] != "homeassistant"
    assert second["engine"] == "homeassistant"
    assert len(list(_stt_dir(ha).glob("request-*.wav"))) == 1  # nothing was streamed while muted


def test_home_assistant_stopping_mid_turn_gets_a_spoken_apology_and_the_device_keeps_answering(device, tmp_path):
    ha = device.ha
    stt = _stt_dir(ha)
    stt.mkdir(exist_ok=True)
    (stt / "delay_s").write_text("6")  # Home Assistant is still hearing the request when it stops
    device.start()
    device.add_to_home_assistant()
    device.wait_log("runs the satellite")
    entry_id = device.entry_id
    try:
        device.write(np.concatenate([_request(tmp_path, "Hey Jarvis. Turn on the kitchen lights."), _silence(2.0)]))
        device.wait_log('request-handed-over', 60)
        ha.stop()
        device.wait_log("Home Assistant disconnected", 30)
        # the device keeps running: the next request is its own
        device.write(np.concatenate([_request(tmp_path, "Hey Jarvis. What time is it?"), _silence(2.0)]))
        summary, events = device.finish()
    finally:
        (stt / "delay_s").unlink(missing_ok=True)
        ha.ensure_running()
        device.entry_id = entry_id  # removed now that it runs again
    errors = [e for e in events if e["type"] == "error"]
    assert [e["message"] for e in errors] == ["Home Assistant disconnected"], errors
    said = [e["text"] for e in events if e["type"] == "speech-synthesized"]
    assert said[0] == "Home Assistant could not answer that." and len(said) == 2, said
    assert "what time is it" in summary["transcripts"][-1].lower()  # heard on the device
    assert [e["type"] for e in events].count("request-handed-over") == 1


def test_standalone_mode_answers_on_the_device_though_home_assistant_runs_the_satellite(satellite_home, tmp_path):
    ha = satellite_home
    d = Device(ha, tmp_path, mode="standalone")
    try:
        d.start()
        d.add_to_home_assistant()
        d.wait_log("asked to run the satellite")
        d.write(np.concatenate([_request(tmp_path, "Hey Jarvis. What time is it?"), _silence(2.0)]))
        summary, events = d.finish()
    finally:
        d.stop()
    assert "request-handed-over" not in [e["type"] for e in events]
    assert "what time is it" in summary["transcripts"][0].lower() and summary["replies"]
    assert not _stt_dir(ha).exists() or not list(_stt_dir(ha).glob("request-*.wav"))
