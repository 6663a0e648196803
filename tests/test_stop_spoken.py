"""The wake-free "stop", spoken, through ``assistant run`` with the stop head the device ships (``SHIPPED``): it
stops a ringing timer mid-announcement (the timer is then done) and cuts a reply (no follow-up window
opens). Audio goes in on stdin as the device hears it; "stop" is written once the device is speaking.
The word is spoken by flite's kal voice, which no head was trained on."""

from __future__ import annotations

import asyncio
import json
import queue
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.io import read_audio
from assistant.intent.parser import Intent
from assistant.skills.state import StateStore
from assistant.skills.timers import TimerSkill
from assistant.text import spoken_words
from assistant.wake.confirm import SHIPPED
from tests.conftest import DEMO_WAV

RATE = 16000
CHUNK = 320

pytestmark = pytest.mark.skipif(shutil.which("flite") is None, reason="flite not installed (tools/system_deps.sh)")


def _flite(text: str, tmp: Path) -> np.ndarray:
    wav = tmp / "said.wav"
    subprocess.run(["flite", "-voice", "kal", "-t", text, "-o", str(wav)], check=True, capture_output=True)
    return read_audio(wav, RATE).samples


def _pcm(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


class Device:
    """``assistant run --input - --events -``: audio written in 20 ms chunks, events read as they come."""

    def __init__(self, config: Path, tmp: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "run", "--config", str(config), "--input", "-",
             "--output", str(tmp / "reply.wav"), "--events", "-"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.events: list[dict] = []
        self._new: queue.Queue[dict] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            self.events.append(event)
            self._new.put(event)

    def write(self, x: np.ndarray, realtime: bool = False) -> None:
        for i in range(0, len(x), CHUNK):
            self.proc.stdin.write(_pcm(x[i : i + CHUNK]))
            if realtime:
                time.sleep(CHUNK / RATE)
        self.proc.stdin.flush()

    def silence_until(self, predicate, timeout_s: float = 30.0) -> dict:
        """Write silence in real time until an event satisfies ``predicate``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.write(np.zeros(CHUNK, np.float32), realtime=True)
            while not self._new.empty():
                event = self._new.get()
                if predicate(event):
                    return event
        raise AssertionError(f"no such event within {timeout_s} s: {[e['type'] for e in self.events]}")

    def finish(self) -> None:
        self.proc.stdin.close()
        code = self.proc.wait(60)
        self._reader.join(5)
        log = self.proc.stderr.read().decode()
        self.proc.stdout.close()
        self.proc.stderr.close()
        assert code == 0, log[-2000:]


def _speaking(event: dict) -> bool:
    return event["type"] == "state-changed" and event["new"] == "speaking"


def test_stop_ends_a_ringing_timer_and_cuts_a_reply(tmp_path):
    state = tmp_path / "state"
    # a one-second timer, set before the device starts: it rings as soon as the device is up
    asyncio.run(TimerSkill(StateStore(state)).handle(Intent("HassStartTimer", {"seconds": 1}, "")))
    time.sleep(1.1)
    config = tmp_path / "assistant.toml"
    config.write_text(f'[runtime]\nstate_dir = "{state}"\n\n[wake]\nstop_model = "{SHIPPED["stop"]}"\n')
    stop = np.concatenate([np.zeros(int(0.3 * RATE), np.float32), _flite("stop", tmp_path),
                           np.zeros(int(1.5 * RATE), np.float32)])
    device = Device(config, tmp_path)
    try:
        device.silence_until(_speaking)  # the timer's announcement
        device.write(stop)
        device.silence_until(lambda e: e["type"] == "state-changed" and e["new"] == "idle", 10)
        # then a request, and "stop" while the answer is spoken: the request ends (the endpoint) 4.6 s into the
        # demo recording and the answer, "Timer set for five minutes.", takes the next 1.8 s of the stream
        # (reading waits while the device thinks), so "stop" laid over the recording's tail at 4.8 s is heard
        # inside the answer
        request = np.concatenate([read_audio(DEMO_WAV, RATE).samples, np.zeros(2 * RATE, np.float32)])
        word = _flite("stop", tmp_path)
        at = int(4.8 * RATE)
        request[at : at + len(word)] += word
        device.write(request)
        device.silence_until(lambda e: e["type"] == "state-changed" and e["new"] == "idle", 10)
        device.write(np.zeros(RATE, np.float32))
    finally:
        device.finish()
    kinds = [e["type"] for e in device.events]
    assert kinds.count("stop-heard") >= 2, kinds
    changes = [(e["old"], e["new"]) for e in device.events if e["type"] == "state-changed"]
    # each time "stop" was heard while speaking: straight back to idle, no follow-up listening
    assert changes.count(("speaking", "idle")) == 2 and ("speaking", "listening") not in changes, changes
    # the announcement was cut inside its one sentence (a sentence is reported once wholly spoken); the answer
    # to the request was under way
    said = [e["text"] for e in device.events if e["type"] == "speech-synthesized"]
    assert not any("timer is done" in s for s in said), said
    heard = [" ".join(spoken_words(e["text"])) for e in device.events if e["type"] == "transcript-final"]
    assert heard == ["set a timer for five minutes"], heard
    # the rung timer is done (the new five-minute one is the only timer left)
    left = TimerSkill(StateStore(state)).timers
    assert [t["start_s"] for t in left] == [300], left
