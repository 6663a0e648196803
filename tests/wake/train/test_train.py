"""assistant wake train: a quick run end to end, its files, its CLI, bad input."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest

from assistant.cli import main
from assistant.config import RuntimeConfig, WakeConfig
from assistant.models import ModelError
from assistant.wake.detector import WakeWordModel
from assistant.wake.train.train import THRESHOLD_GRID, choose_threshold
from tests.wake.train.conftest import espeak_clip, padded


def test_quick_run_writes_a_head_report_det_and_manifest_entry(quick_head):
    head, report = quick_head
    out = head.parent
    assert head.is_file() and (out / "report.json").is_file() and (out / "det.png").is_file()
    assert json.loads((out / "report.json").read_text())["threshold"] == report["threshold"]
    assert report["quick"] is True and report["phrase"] == "hey mycroft" and report["name"] == "hey_mycroft"
    assert 0 < report["threshold"] < 1 and report["elapsed_s"] > 0
    assert report["train_positive_windows"] > 0 and report["train_negative_windows"] > 0
    (entry,) = tomllib.loads((out / "manifest.toml").read_text())["model"]
    assert entry["name"] == "wake/hey_mycroft" and entry["contract"] == "openwakeword-head"
    assert entry["licence"].startswith("Apache-2.0") and len(entry["sha256"]) == 64
    # the second look's operating point, measured for the new head (assistant wake calibrate)
    c = report["confirm"]
    assert 0 < c["confirm_threshold"] <= 0.5 and c["confirm_min_logprob"] < 0 and c["negative_minutes"] > 0
    assert entry["decoding"] == {"threshold": report["threshold"], "confirm_threshold": c["confirm_threshold"],
                                 "confirm_min_logprob": c["confirm_min_logprob"]}


def test_quick_head_loads_and_fires_on_the_phrase_more_than_on_other_speech(quick_head, registry, tmp_path):
    head, report = quick_head
    model = WakeWordModel.load(
        WakeConfig(models=(str(head),), threshold=report["threshold"]), RuntimeConfig(), registry
    )
    assert model.heads[0].name == "head" and model.heads[0].num_embeddings == 16
    stream = model.stream()
    pos = [
        stream.scores_for(padded(espeak_clip(tmp_path, t, v, f"p{i}"))).max()
        for i, (t, v) in enumerate([("hey mycroft", "en-us"), ("hey mycroft!", "en-gb+f3")])
    ]
    stream.reset()
    neg = [
        stream.scores_for(padded(espeak_clip(tmp_path, t, "en-us", f"n{i}"))).max()
        for i, t in enumerate(["turn on the kitchen lights", "what time is it"])
    ]
    assert min(pos) > max(neg)


@pytest.mark.parametrize(
    ("phrase", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (" ".join(["word"] * 20), "20 words"),
        ("hé mycroft", "non-ASCII"),
        ("hey r2d2", "not letters"),
    ],
)
def test_bad_phrases_are_clear_errors_with_exit_2(phrase, message, tmp_path, capsys):
    assert main(["wake", "train", phrase, "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "assistant wake train: error:" in err and message in err
    assert not (tmp_path / "out").exists()


def test_bad_numbers_are_exit_2(tmp_path, capsys):
    assert main(["wake", "train", "hey mycroft", "-o", str(tmp_path), "--steps", "0"]) == 2
    assert "--steps" in capsys.readouterr().err


def test_corrupt_head_is_a_clear_error(registry, tmp_path, capsys):
    bad = tmp_path / "head.onnx"
    bad.write_bytes(b"\x08\x07not an onnx model at all")
    with pytest.raises(ModelError, match="cannot be loaded by onnxruntime"):
        WakeWordModel.load(WakeConfig(models=(str(bad),)), RuntimeConfig(), registry)
    wav = espeak_clip(tmp_path, "hello") if __import__("shutil").which("espeak-ng") else None
    if wav is not None:
        assert main(["wake", str(wav), "--model", str(bad)]) == 1
        assert "head.onnx" in capsys.readouterr().err


def test_wake_files_still_work_beside_the_verbs(registry, capsys):
    from tests.conftest import DEMO_WAV

    assert main(["wake", str(DEMO_WAV), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["type"] == "summary"


def test_threshold_is_the_lowest_meeting_the_false_accept_target():
    quiet = np.zeros(1000, np.float32)
    loud = quiet.copy()
    loud[[100, 400, 700]] = [0.31, 0.61, 0.91]  # three separate bursts in 80 s
    hours = 1000 * 0.08 / 3600
    # 0.5/h over 80 s allows none: the threshold must be above 0.91
    assert choose_threshold([quiet, loud], hours, 0.5) > 0.91
    # 100/h allows two: above 0.31 suffices (the lowest such grid value)
    t = choose_threshold([quiet, loud], hours, 100.0)
    assert 0.31 < t <= 0.61 and t == min(g for g in THRESHOLD_GRID if g > 0.31)


def test_quick_micro_head_runs_in_the_micro_listener_without_openwakewords_front_end(registry, tmp_path):
    """``--arch micro``: a head in microWakeWord's streaming contract, with its manifest entry, loaded
    beside the converted microWakeWord models (no mel or embedding session)."""
    import contextlib
    import io
    import shutil

    from assistant.wake.wakeset import WakeSet

    if not shutil.which("espeak-ng"):
        pytest.skip("needs espeak-ng (tools/system_deps.sh)")
    out = tmp_path / "micro"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["wake", "train", "hey rhasspy", "-o", str(out), "--quick", "--arch", "micro", "--json"]) == 0
    report = json.loads(buf.getvalue().strip().splitlines()[-1])
    assert report["arch"] == "micro" and 0 < report["threshold"] < 1
    assert report["threshold"] * 256 == int(report["threshold"] * 256)  # a uint8 probability's threshold
    (entry,) = tomllib.loads((out / "manifest.toml").read_text())["model"]
    assert entry["contract"] == "microwakeword-onnx" and "--arch micro" in entry["source"]
    wake = WakeSet.load(WakeConfig(models=(str(out / "head.onnx"), "wake/micro/alexa"), stop_model=""),
                        RuntimeConfig(), registry)
    assert [type(m).__name__ for m in wake.models] == ["MicroWakeModel"]
    assert [h.name for h in wake.heads] == ["head", "micro/alexa"]
    assert wake.heads[0].threshold == report["threshold"]
    events = wake.stream().feed(padded(espeak_clip(tmp_path, "hey rhasspy", "en-us", "p")))
    assert "head" in [e.name for e in events]  # at its threshold it hears the phrase it learnt
    assert report["confirm"]["confirm_threshold"] > 0
