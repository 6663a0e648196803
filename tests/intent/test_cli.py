"""assistant parse / chat / say through the CLI entry point."""

import io
import json
from pathlib import Path

import pytest

from assistant.audio.io import read_audio
from assistant.cli import main

TINY = Path(__file__).resolve().parents[1] / "data" / "models" / "tiny_voice.onnx"


def test_parse_json(capsys):
    assert main(["parse", "turn of the kitchen lite", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "text": "turn of the kitchen lite",
        "intent": "HassTurnOff",
        "slots": {"name": "Kitchen Light"},
    }
    assert main(["parse", "tell me a joke", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["intent"] is None


def test_parse_with_another_home(tmp_path, capsys):
    home = tmp_path / "home.toml"
    home.write_text(
        '[[area]]\nname = "Den"\n[[device]]\nname = "Lava Lamp"\narea = "Den"\ndomain = "light"\n'
    )
    assert main(["parse", "turn on the lava lamp", "--home", str(home), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["slots"] == {"name": "Lava Lamp"}
    home.write_text('[[device]]\nname = "Lamp"\narea = "Nowhere"\ndomain = "light"\n')
    assert main(["parse", "x", "--home", str(home)]) == 1
    assert "home.device[0].area: unknown area" in capsys.readouterr().err


def test_chat_keeps_state_between_sessions(tmp_path, capsys, monkeypatch):
    state = str(tmp_path / "state")
    monkeypatch.setattr("sys.stdin", io.StringIO("set the kitchen light to study mode\nit's 30 percent\n"))
    assert main(["chat", "--state-dir", state, "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["expects"] == "teach" and rows[1]["learned"] == "concept: study mode"
    monkeypatch.setattr("sys.stdin", io.StringIO("study mode\n"))
    assert main(["chat", "--state-dir", state]) == 0
    assert capsys.readouterr().out.strip() == "assistant: Set the Kitchen Light to 30 percent."


def test_say_writes_a_wav(tmp_path, capsys):
    out = tmp_path / "out.wav"
    assert main(["say", "Hello there. It's 5:30.", "-o", str(out), "--voice", str(TINY), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["type"] for e in lines[:2]] == ["speech-synthesized", "speech-synthesized"]
    assert lines[-1]["sentences"] == 2
    audio = read_audio(out, sample_rate=None)
    assert audio.sample_rate == 16000 and abs(audio.duration_s - lines[-1]["duration_s"]) < 0.01


@pytest.mark.parametrize("text, message", [("", "nothing to say"), ("?!", "nothing speakable")])
def test_say_refuses_empty_text(tmp_path, capsys, text, message):
    assert main(["say", text, "-o", str(tmp_path / "x.wav"), "--voice", str(TINY)]) == 1
    assert message in capsys.readouterr().err
