"""The hardware-in-the-loop runner (tools/hil/run.py) against a device served over a Unix socket,
with the stage doubles standing in for the models."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import threading
from pathlib import Path

import pytest

from assistant.audio.io import write_audio
from assistant.config import PipelineConfig, WyomingConfig
from assistant.pipeline import Assistant, Pacing
from assistant.wyoming import WyomingServer
from tests.pipeline_doubles import EchoDialogue, ScriptedListener, ToneRecognizer, ToneVoice, tone_audio

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("hil_run", REPO / "tools" / "hil" / "run.py")
hil = importlib.util.module_from_spec(_spec)
sys.modules["hil_run"] = hil  # dataclasses look their module up
_spec.loader.exec_module(hil)

SCENARIO = """
name = "{name}"
audio = "command.wav"
realtime = false
tail_s = 1.0
speech_end_s = 1.6
timeout_s = {timeout}

[[expect]]
event = "wake-detected"
within_s = [0.0, 5.0]

[[expect]]
event = "transcript-final"
text_contains = "TIMER"

[[expect]]
event = "intent-recognized"
intent = "{intent}"
slots = {{ text = "set a timer" }}

[[expect]]
event = "audio-start"
max_latency_s = 1.0
"""


class Device:
    """An Assistant with doubles behind a Wyoming socket, on its own thread and loop."""

    def __init__(self, sock: Path) -> None:
        self.sock = sock
        self.ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    async def _main(self) -> None:
        self.assistant = Assistant(PipelineConfig(), sample_rate=16000, pacing=Pacing.REALTIME,
                                   listener=ScriptedListener(wakes=[0.5], speech=[(1.0, 1.6)]),
                                   recognizer=ToneRecognizer(), dialogue=EchoDialogue(follow_up_s=0.0),
                                   speaker=ToneVoice(word_s=0.02))
        server = WyomingServer(WyomingConfig(socket=self.sock), self.assistant, accept_audio=True)
        await server.start()
        run = asyncio.create_task(self.assistant.run(on_ready=self.ready.set))
        await run
        await server.stop()

    def stop(self) -> None:
        self.assistant.stop()
        self.thread.join(5)


@pytest.fixture
def scenario_dir(tmp_path):
    write_audio(tmp_path / "command.wav", tone_audio(2.0, [(1.0, 1.6, 660)]), 16000)
    (tmp_path / "pass.toml").write_text(SCENARIO.format(name="passes", intent="Echo", timeout=10))
    (tmp_path / "fail.toml").write_text(SCENARIO.format(name="wrong intent", intent="HassTurnOn", timeout=2))
    (tmp_path / "text.toml").write_text(
        'inject = "what time is it"\n[[expect]]\nevent = "intent-recognized"\nintent = "Echo"\n'
        '[[expect]]\nevent = "audio-stop"\n')
    return tmp_path


def test_passing_scenario_reports_latency(scenario_dir, tmp_path):
    device = Device(tmp_path / "w.sock")
    try:
        uri = f"unix://{device.sock}"
        result = asyncio.run(hil.run_scenario(uri, hil.load_scenario(scenario_dir / "pass.toml")))
        text = asyncio.run(hil.run_scenario(uri, hil.load_scenario(scenario_dir / "text.toml")))
    finally:
        device.stop()
    assert result.passed, result.failures
    assert [m["event"] for m in result.matched] == ["wake-detected", "transcript-final", "intent-recognized",
                                                    "audio-start"]
    assert 0 <= result.latency_s < 10.0  # seconds, not milliseconds; a busy machine is slow
    assert text.passed, text.failures


def test_failing_scenario_is_reported_by_main(scenario_dir, tmp_path, capsys):
    device = Device(tmp_path / "w.sock")
    try:
        rc = hil.main(["--uri", f"unix://{device.sock}", "--json", str(scenario_dir / "fail.toml")])
    finally:
        device.stop()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rc == 1
    assert lines[0]["passed"] is False
    assert "no intent-recognized event matching" in lines[0]["failures"][0]
    assert lines[-1]["passed"] == 0


def test_bad_scenarios_are_clear_errors(tmp_path):
    (tmp_path / "both.toml").write_text('inject = "x"\naudio = "a.wav"\n[[expect]]\nevent = "x"\n')
    with pytest.raises(hil.ScenarioError, match="exactly one of audio or inject"):
        hil.load_scenario(tmp_path / "both.toml")
    (tmp_path / "typo.toml").write_text('inject = "x"\nexpects = 1\n')
    with pytest.raises(hil.ScenarioError, match="unknown key"):
        hil.load_scenario(tmp_path / "typo.toml")
    (tmp_path / "noaudio.toml").write_text('audio = "missing.wav"\n[[expect]]\nevent = "x"\n')
    with pytest.raises(hil.ScenarioError, match="no such file"):
        hil.load_scenario(tmp_path / "noaudio.toml")


def test_shipped_scenarios_load():
    for path in sorted((REPO / "tools" / "hil" / "scenarios").glob("*.toml")):
        s = hil.load_scenario(path)
        assert s.expect, path


def test_smoke_scenario_against_the_real_process(tmp_path):
    """What the firmware image's smoke test does, on this machine: `assistant run` with the stages that
    exist, input from the socket, and the shipped smoke scenario played by the runner."""
    import os
    import signal
    import subprocess
    import time

    sock = tmp_path / "wyoming.sock"
    config = tmp_path / "smoke.toml"
    config.write_text(f'[pipeline]\ninput = "wyoming"\n[wyoming]\nsocket = "{sock}"\n')
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "run", "--config", str(config)], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            if sock.exists():
                break
            time.sleep(0.05)
        result = asyncio.run(hil.run_scenario(f"unix://{sock}", hil.load_scenario(
            REPO / "tools" / "hil" / "scenarios" / "smoke_text.toml")))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert result.passed, result.failures


def test_generated_scenarios_load(tmp_path):
    import shutil

    if shutil.which("espeak-ng") is None:
        pytest.skip("scenario voices need espeak-ng (tools/system_deps.sh)")
    spec = importlib.util.spec_from_file_location("hil_make", REPO / "tools" / "hil" / "make_scenarios.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    paths = gen.make(tmp_path, gen.VOICES[:1], [15.0])
    assert len(paths) == len(gen.COMMANDS)
    timer = hil.load_scenario(paths[0])
    assert timer.audio is not None and 2.0 < len(timer.audio) / 16000 < 6.0
    assert [e.event for e in timer.expect] == ["wake-detected", "speech-ended", "transcript-final",
                                               "intent-recognized", "audio-start"]
    assert timer.expect[3].fields == {"intent": "HassStartTimer", "slots": {"minutes": 5}}
