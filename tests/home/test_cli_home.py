"""assistant home import: a real Home Assistant's (and a real broker's) home written as a home file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from assistant.config import HomeConfig
from assistant.intent.home import load_home

REPO = Path(__file__).resolve().parents[2]


def _run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=60, env=env)


def test_import_from_home_assistant_writes_a_home_file(home_assistant, tmp_path):
    import os

    home_assistant.ensure_running()
    config = tmp_path / "assistant.toml"
    config.write_text(f'[home.homeassistant]\nurl = "{home_assistant.url}"\n')
    out = tmp_path / "home.toml"
    env = {**os.environ, "ASSISTANT_HA_TOKEN": home_assistant.token}
    run = _run("home", "import", "--from", "homeassistant", "--config", str(config), "--output", str(out),
               "--json", env=env)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    home = load_home(HomeConfig(path=out))
    assert summary["devices"] == len(home.devices) > 5
    assert home.device("Kitchen Lights").aliases == ("cooker light",)
    assert home.device("Kitchen Lights").area == "Kitchen"
    assert home_assistant.token not in run.stdout + run.stderr + out.read_text()


def test_import_from_home_assistant_without_a_token_says_so(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if k != "ASSISTANT_HA_TOKEN"}
    run = _run("home", "import", "--from", "homeassistant", env=env)
    assert run.returncode == 1
    assert "ASSISTANT_HA_TOKEN is not set" in run.stderr and "Traceback" not in run.stderr


def test_import_from_mqtt(broker, tmp_path):
    import pytest

    pytest.importorskip("paho.mqtt")
    from .test_mqtt import FakeDevice

    device = FakeDevice(broker)
    device.announce()
    try:
        config = tmp_path / "assistant.toml"
        config.write_text(f'[home.mqtt]\nurl = "{broker.url}"\ndiscovery_wait_s = 0.5\n')
        run = _run("home", "import", "--from", "mqtt", "--config", str(config))
        assert run.returncode == 0, run.stderr
        out = tmp_path / "home.toml"
        out.write_text(run.stdout)
        home = load_home(HomeConfig(path=out))
        assert {d.name for d in home.devices} >= {"Hall Door", "Kitchen Ceiling Light"}
    finally:
        device.close()
