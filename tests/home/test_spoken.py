"""Spoken turns through `assistant run` (wake word, Whisper, the parser over Home Assistant's home, the
Home Assistant backend, Piper) change the real Home Assistant's entities; a wrong token stops the start."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.io import read_audio, write_audio

REPO = Path(__file__).resolve().parents[2]


def _spoken(tmp_path: Path, text: str) -> Path:
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng (Debian package, tools/system_deps.sh) speaks the request")
    raw = tmp_path / "raw.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
    speech = read_audio(raw, 16000).samples
    wav = tmp_path / "request.wav"
    write_audio(wav, np.concatenate([np.zeros(8000, np.float32), 0.8 * speech, np.zeros(24000, np.float32)]), 16000)
    return wav


def _config(tmp_path: Path, ha, token: str) -> Path:
    (tmp_path / "token").write_text(token)
    config = tmp_path / "assistant.toml"
    config.write_text(f'[runtime]\nstate_dir = "{tmp_path / "state"}"\n[home]\nbackend = "homeassistant"\n'
                      f'[home.homeassistant]\nurl = "{ha.url}"\ntoken_file = "{tmp_path / "token"}"\n')
    return config


def _run(config: Path, wav: Path):
    return subprocess.run([sys.executable, "-m", "assistant", "run", "--config", str(config), "--input", str(wav),
                           "--json"], capture_output=True, text=True, cwd=REPO, timeout=300)


def test_a_spoken_request_turns_off_the_real_light(home_assistant, tmp_path):
    ha = home_assistant
    ha.ensure_running()
    ha.call("light", "turn_on", entity_id="light.kitchen_lights")
    ha.wait_for_state("light.kitchen_lights", "on")
    run = _run(_config(tmp_path, ha, ha.token), _spoken(tmp_path, "Hey Jarvis. Turn off the kitchen lights."))
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(run.stdout.splitlines()[-1])
    assert summary["stats"]["errors"] == 0 and len(summary["replies"]) == 1, summary
    assert ha.wait_for_state("light.kitchen_lights", "off")["state"] == "off"


def test_assistant_run_with_a_wrong_token_fails_before_ready(home_assistant, tmp_path):
    home_assistant.ensure_running()
    run = _run(_config(tmp_path, home_assistant, "wrong-token-9876"), _spoken(tmp_path, "Hey Jarvis. What time is it."))
    assert run.returncode == 1
    assert "refused the access token" in run.stderr and "Traceback" not in run.stderr
    assert "wrong-token-9876" not in run.stderr + run.stdout
    assert '"replies"' not in run.stdout  # nothing was heard or answered: the start stopped
