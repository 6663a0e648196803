"""`assistant run` on files: the real command line, with the stages that exist or with doubles."""

from __future__ import annotations

import dataclasses
import json

import pytest

from assistant import app
from assistant.audio.io import read_audio, write_audio
from assistant.cli import main
from tests.conftest import DEMO_WAV
from tests.pipeline_doubles import EchoDialogue, ScriptedListener, ToneRecognizer, ToneVoice, tone_audio


def test_file_run_with_the_real_stages(tmp_path, capsys):
    rc = main(["run", "--input", str(DEMO_WAV), "--output", str(tmp_path / "reply.wav"),
               "--events", str(tmp_path / "events.jsonl"), "--json"])
    assert rc == 0
    out, err = capsys.readouterr()
    summary = json.loads(out.splitlines()[-1])
    assert summary["audio_s"] == pytest.approx(read_audio(DEMO_WAV).duration_s, abs=0.02)
    # Reported, not timed here: the speed target is tools/bench_runtime.py's (a shared machine is noisy).
    assert 0.0 < summary["real_time_factor"] < float("inf")
    from assistant.text import spoken_words as normalize  # the WER normaliser

    assert [normalize(t) for t in summary["transcripts"]] == [normalize("set a timer for five minutes")]
    assert summary["replies"] == ["Timer set for five minutes."]
    for line in (tmp_path / "events.jsonl").read_text().splitlines():
        assert "type" in json.loads(line)


def test_file_run_two_pass_with_the_shipped_transducer(tmp_path, capsys):
    """The streaming first pass (models/asr/home-lstm-en) gives partials while the request is spoken and
    a say in Whisper's final (first_pass_weight), through early decoding at the pause and the end."""
    cfg = tmp_path / "assistant.toml"
    cfg.write_text('[asr.transducer]\nmodel = "asr/home-lstm-en"\n[asr.whisper]\nfirst_pass_weight = 1.0\n',
                   encoding="utf-8")
    rc = main(["run", "--config", str(cfg), "--input", str(DEMO_WAV), "--events", str(tmp_path / "ev.jsonl"),
               "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["replies"] == ["Timer set for five minutes."]
    events = [json.loads(line) for line in (tmp_path / "ev.jsonl").read_text().splitlines()]
    partials = [e["text"] for e in events if e["type"] == "transcript-partial"]
    assert partials and partials[-1] == "set a timer for five minutes"  # the pre-roll too: "set a" is heard
    assert not [e for e in events if e["type"] == "error"]


def test_file_run_end_to_end_with_doubles(tmp_path, capsys, monkeypatch):
    @dataclasses.dataclass(frozen=True)
    class DoubleStages:
        listener: object
        recognizer: object
        dialogue: object
        speaker: object
        wake_words: dict = dataclasses.field(default_factory=lambda: {"scripted": "scripted"})

    def fake_stages(cfg):
        return DoubleStages(listener=ScriptedListener(wakes=[0.5], speech=[(1.0, 1.6)]),
                            recognizer=ToneRecognizer(), dialogue=EchoDialogue(), speaker=ToneVoice())

    monkeypatch.setattr(app, "load_stages", fake_stages)
    wav = tmp_path / "in.wav"
    write_audio(wav, tone_audio(4.0, [(1.0, 1.6, 880)]), 16000)
    rc = main(["run", "--input", str(wav), "--output", str(tmp_path / "reply.wav"), "--events", "-"])
    assert rc == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds.index("wake-detected") < kinds.index("transcript-final") < kinds.index("speech-synthesized")
    assert next(e for e in events if e["type"] == "transcript-final")["text"] == "tell me a story"
    reply = read_audio(tmp_path / "reply.wav", sample_rate=None)
    assert reply.sample_rate == 22050 and reply.duration_s == pytest.approx(6 * 0.2, abs=0.01)


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "x.wav").write_bytes(b"RIFF not really")
    assert main(["run", "--input", str(tmp_path / "x.wav")]) == 1
    assert "not a readable audio file" in capsys.readouterr().err


def test_a_model_that_fails_to_load_exits_nonzero_before_ready(tmp_path, capsys, monkeypatch):
    import socket

    from assistant.models import ModelError

    def broken(cfg):
        raise ModelError("wake/hey_jarvis: resources/models/hey_jarvis_v0.1.onnx is not an ONNX model")

    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(0.3)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setattr(app, "load_stages", broken)
    try:
        assert main(["run", "--input", str(DEMO_WAV)]) == 1
        assert "is not an ONNX model" in capsys.readouterr().err
        messages = []
        try:
            while True:
                messages.append(notify.recv(4096))
        except TimeoutError:
            pass
        assert not any(m.startswith(b"READY=1") for m in messages)
    finally:
        notify.close()
