"""assistant wake enroll: a per-user verifier cuts the false accepts of a loose head for that user."""

from __future__ import annotations

import dataclasses
import json
import subprocess

import numpy as np
import pytest

from assistant.cli import main
from assistant.config import ConfigError, RuntimeConfig, WakeConfig, WakeWordConfig
from assistant.models import ModelError
from assistant.wake.detector import WakeWordModel
from assistant.wake.train.verifier import EnrollError, enroll
from tests.wake.train.conftest import padded

USER = "en-us+f2"


def say(tmp, text, name, rate=175, voice=USER):
    path = tmp / f"{name}.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(path), text], check=True, capture_output=True, timeout=60
    )
    return path


def detections(model, paths) -> int:
    stream = model.stream()
    n = 0
    for p in paths:
        stream.reset()
        n += bool(stream.feed(padded(p)))
    return n


def test_enrolled_verifier_cuts_false_accepts_for_the_user(quick_head, registry, tmp_path):
    from assistant.config import load_config

    head, _ = quick_head
    pos = [say(tmp_path, "hey mycroft", f"p{i}", rate) for i, rate in enumerate((140, 160, 180, 200, 220))]
    own = [say(tmp_path, t, f"o{i}") for i, t in enumerate(["good morning, how are you", "put the kettle on"])]
    cfg = dataclasses.replace(load_config(None), wake=WakeConfig(models=(str(head),)))
    result = enroll(cfg, str(head), pos[:4], own, tmp_path / "enroll", cache=tmp_path / "no-cache")
    assert result.clips == 4 and result.positive_accept >= 0.75 and result.negative_reject > 0.9
    assert json.loads((tmp_path / "enroll" / "enroll.json").read_text())["verifier"] == result.verifier
    loose = 0.02  # a head this loose fires on sound-alikes: what a verifier is for
    confusable = [
        say(tmp_path, t, f"c{i}")
        for i, t in enumerate(
            [
                "hey microsoft",
                "hey minecraft",
                "my craft",
                "hey my crow",
                "hey mike",
                "aircraft",
                "hey my cross",
                "hey microphone",
                "the light is on",
                "ashcroft said hello",
            ]
        )
    ]
    plain = WakeWordModel.load(WakeConfig(models=(str(head),), threshold=loose), RuntimeConfig(), registry)
    verified = WakeWordModel.load(
        WakeConfig(
            models=(str(head),),
            threshold=loose,
            words={str(head): WakeWordConfig(verifier=result.verifier, verifier_threshold=0.5)},
        ),
        RuntimeConfig(),
        registry,
    )
    before, after = detections(plain, confusable), detections(verified, confusable)
    assert before > 0 and after < before
    assert detections(verified, pos[4:]) == detections(plain, pos[4:]) == 1  # a new clip of the user still wakes


def test_enroll_needs_three_clips_and_a_known_word(quick_head, tmp_path, capsys):
    head, _ = quick_head
    assert main(["wake", "enroll", "--phrase", str(head), "-o", str(tmp_path), str(tmp_path / "a.wav")]) == 2
    assert "at least 3" in capsys.readouterr().err
    from assistant.config import load_config

    with pytest.raises(EnrollError, match="nope"):
        enroll(load_config(None), "wake/nope", [tmp_path / "x.wav"] * 3, [], tmp_path)


def test_verifier_config_is_checked(registry, tmp_path):
    with pytest.raises(ConfigError, match="verifier"):
        WakeWordConfig(verifier="model.bin")
    with pytest.raises(ConfigError, match="verifier_threshold"):
        WakeWordConfig(verifier_threshold=1.5)
    with pytest.raises(ModelError, match="not found"):
        WakeWordModel.load(
            WakeConfig(
                models=("wake/hey_jarvis",),
                words={"wake/hey_jarvis": WakeWordConfig(verifier=str(tmp_path / "v.onnx"))},
            ),
            RuntimeConfig(),
            registry,
        )


def test_a_verifier_of_the_wrong_shape_is_refused(registry, tmp_path):
    from assistant.wake.train.head import Mlp, export_onnx

    rng = np.random.default_rng(0)
    bad = export_onnx(Mlp.init(8, 96, 1, 0, np.zeros(768), np.ones(768), rng), tmp_path / "v.onnx")
    with pytest.raises(ModelError, match="does not match"):
        WakeWordModel.load(
            WakeConfig(models=("wake/hey_jarvis",), words={"wake/hey_jarvis": WakeWordConfig(verifier=str(bad))}),
            RuntimeConfig(),
            registry,
        )


def test_shared_negatives_are_read_only_from_the_verifiers_own_front_end(registry, tmp_path):
    """The cache holds the micro architecture's negatives (40-d, 30 ms) beside openWakeWord's (96-d, 80 ms);
    a verifier takes the newest of its own kind, not the newest file."""
    import os

    from assistant.wake.train.data import Featurizer, Streams
    from assistant.wake.train.verifier import shared_negative_windows

    rng = np.random.default_rng(0)
    own = Streams.build([("a", "noise", "", rng.standard_normal((40, 96)).astype(np.float32))], 96, 0.08)
    micro = Streams.build([("b", "noise", "", rng.standard_normal((90, 40)).astype(np.float32))], 40, 0.03)
    own.save(tmp_path / "negatives-own.npz")
    micro.save(tmp_path / "negatives-micro.npz")
    os.utime(tmp_path / "negatives-own.npz", (1, 1))  # the micro file is the newer
    feat = Featurizer(WakeWordModel.load(WakeConfig(), RuntimeConfig(), registry))
    windows = shared_negative_windows(feat, rng, 10, cache=tmp_path)
    assert windows.shape == (10, 16, 96)
