"""assistant wake and assistant eval wake, end to end through the command line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from assistant.audio.io import read_audio, write_audio
from assistant.cli import main
from tests.conftest import DEMO_WAV, REPO, librivox_wavs


def json_lines(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_wake_lists_detections(registry, capsys):
    assert main(["wake", str(DEMO_WAV), "--json"]) == 0
    lines = json_lines(capsys)
    assert lines[0]["type"] == "wake-detected" and lines[0]["name"] == "hey_jarvis"
    assert lines[-1]["type"] == "summary" and lines[-1]["detections"] == 1


def test_wake_human_output_and_several_models(registry, capsys):
    assert main(["wake", str(DEMO_WAV), "--model", "wake/alexa", "--model", "wake/hey_jarvis"]) == 0
    out = capsys.readouterr().out
    assert "hey_jarvis at" in out and "1 detection(s)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threshold", "1.5"], "wake.threshold"),
        (["--model", "wake/nope"], "neither"),
    ],
)
def test_wake_bad_usage_is_a_clear_error(registry, capsys, args, message):
    assert main(["wake", str(DEMO_WAV), *args]) == 1
    assert message in capsys.readouterr().err


def test_wake_corrupt_file(registry, tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    assert main(["wake", str(bad)]) == 1
    assert "bad.wav" in capsys.readouterr().err


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    """A few espeak-ng positives and hard negatives from the corpus tool, real speech as negatives."""
    if not shutil.which("espeak-ng"):
        pytest.skip("needs espeak-ng (tools/system_deps.sh)")
    if not librivox_wavs():
        pytest.skip("needs pocketsphinx-testdata (tools/system_deps.sh)")
    out = tmp_path_factory.mktemp("corpus")
    cmd = [
        sys.executable,
        str(REPO / "tools" / "make_wake_corpus.py"),
        "--out",
        str(out),
        "--engines",
        "espeak",
        "--positives",
        "6",
        "--stress",
        "0",
        "--hard-negatives",
        "3",
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return out


def test_corpus_tool_output(tiny_corpus):
    positives = sorted((tiny_corpus / "positives").glob("*.wav"))
    assert len(positives) == 6
    items = [json.loads(line) for line in (tiny_corpus / "corpus.jsonl").read_text().splitlines()]
    assert {i["kind"] for i in items} == {"positive", "hard_negative"}
    assert all(
        i["engine"] == "espeak" and "jarvis" in i["text"].lower() for i in items if i["kind"] == "positive"
    )
    x = read_audio(positives[0]).samples
    assert 0.5 < len(x) / 16000 < 10 and np.abs(x).max() > 0.01
    assert any((tiny_corpus / "negatives").iterdir())


def test_eval_wake(registry, tiny_corpus, tmp_path, capsys):
    # keep the negatives short: the LibriVox readings only
    neg = tmp_path / "neg"
    neg.mkdir()
    for p in librivox_wavs():
        (neg / p.name).symlink_to(p)
    args = [
        "eval",
        "wake",
        "--positives",
        str(tiny_corpus / "positives"),
        "--negatives",
        str(neg),
        "--hard-negatives",
        str(tiny_corpus / "hard_negatives"),
        "--json",
        "--no-progress",
    ]
    plot = pytest.importorskip("matplotlib", reason="--plot needs matplotlib") and tmp_path / "det.png"
    assert main([*args, "--plot", str(plot)]) == 0
    summary, stage, plot_line = json_lines(capsys)
    # the whole stage with its second look, at its operating point
    assert stage["type"] == "wake-stage" and stage["model"] == "hey_jarvis" and stage["positives"] == 6
    assert stage["candidate_recall"] >= stage["recall"] >= summary["recall"] - 1 / 6
    assert stage["false_accepts"] == 0 and stage["negative_hours"] == pytest.approx(summary["negative_hours"])
    assert summary["model"] == "hey_jarvis" and summary["positives"] == 6
    assert 0.0 <= summary["recall"] <= 1.0
    assert summary["negative_hours"] == pytest.approx(24.7 / 3600, rel=0.05)
    assert summary["false_accepts"] == 0  # read speech does not wake it
    assert summary["hard_negatives"][str(tiny_corpus / "hard_negatives")]["clips"] == 3
    assert len(summary["det"]) > 50 and summary["recall_by_engine"]["espeak"]["clips"] == 6
    # the DET curve: miss rate never rises as the threshold falls
    misses = [m for _t, m, _fa in summary["det"]]
    assert all(a <= b + 1e-9 for a, b in zip(misses, misses[1:], strict=False))
    assert plot_line["path"] == str(plot) and plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_wake_bad_folder(registry, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["eval", "wake", "--positives", str(empty), "--negatives", str(empty)]) == 1
    assert "no audio files" in capsys.readouterr().err


def test_wake_8khz_file(registry, tmp_path, capsys):
    from assistant.audio.resample import resample

    x = read_audio(DEMO_WAV).samples
    path = write_audio(tmp_path / "tel.wav", resample(x, 16000, 8000), 8000)
    assert main(["wake", str(path), "--json"]) == 0
    assert json_lines(capsys)[-1]["detections"] <= 1


def test_eval_wake_positives_only(registry, tiny_corpus, capsys):
    assert main(["eval", "wake", "--positives", str(tiny_corpus / "positives"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "recall" in out and "false accepts" not in out and "second look" in out
    assert main(["eval", "wake", "--positives", str(tiny_corpus / "positives"), "--plot", "x.png"]) == 1


def test_wake_cli_runs_micro_heads_too(capsys):
    """``assistant wake FILE --model wake/micro/...``: microWakeWord's heads load through the same stage."""
    import json

    assert main(["wake", str(DEMO_WAV), "--model", "wake/micro/hey_jarvis", "--model", "wake/own/hey_jarvis",
                 "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    summary = lines[-1]
    assert summary["models"] == ["hey_jarvis", "micro/hey_jarvis"] and summary["mel"] in ("native", "python")
    # with the second look both run at their candidate thresholds, and Whisper hears "Hey Jarvis" for both
    assert sorted(e["name"] for e in lines if e.get("type") == "wake-detected") == ["hey_jarvis", "micro/hey_jarvis"]
