"""assistant wake calibrate: the second look's operating point, set on negatives that are not the
evaluation's (other languages' prompts, augmented English sentences in the training voices)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from assistant.asr.whisper import WhisperModel
from assistant.cli import main
from assistant.config import RuntimeConfig, WakeConfig, WhisperConfig
from assistant.wake.evaluate import THRESHOLDS
from assistant.wake.train.calibrate import calibrate, min_logprob_for, negative_audio
from assistant.wake.wakeset import WakeSet

pytestmark = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng (tools/system_deps.sh)")


def test_the_whisper_score_lets_through_what_the_false_accept_target_allows():
    scores = [-1.0 - i / 10 for i in range(400)] + [float("-inf")]  # -1.0, -1.1, ..., one silent window
    # 50 candidates an hour, 400 windows: 0.5 an hour lets 4 through, but at most 1% (4): above the 5th
    assert min_logprob_for(scores, 50.0, 0.5) == (-1.39, 4)
    assert min_logprob_for(scores, 100.0, 0.5) == (-1.19, 2)  # 2 of 400 at 100 an hour = 0.5 an hour
    assert min_logprob_for(scores, 1000.0, 0.5) == (-0.99, 0)  # none: above the highest
    assert min_logprob_for(scores, 0.0, 0.5) == (-1.39, 4)  # a head that never fired: still 1% at most
    assert min_logprob_for([float("-inf")], 10.0, 0.5) == (-19.99, 0)


def test_negatives_are_real_speech_in_other_languages_and_english_sentences():
    x = negative_audio(0.5, seed=3)
    assert x.dtype == np.float32 and 0.5 * 60 * 16000 <= len(x) < 1.5 * 60 * 16000
    assert np.isfinite(x).all() and np.abs(x).max() > 0.01


def test_calibration_gives_each_head_a_candidate_threshold_and_a_whisper_score(registry):
    wake = WakeSet.load(WakeConfig(models=("wake/own/hey_jarvis", "wake/micro/alexa")), RuntimeConfig(), registry)
    whisper = WhisperModel.load(WhisperConfig(), RuntimeConfig(), registry)
    audio = negative_audio(0.5, seed=4)
    out = calibrate(wake, whisper, [h.name for h in wake.heads], ["hey jarvis", "alexa"], audio)
    assert [c.name for c in out] == ["hey_jarvis", "micro/alexa"]
    for c in out:
        assert c.confirm_threshold in THRESHOLDS and c.confirm_threshold <= 0.5
        assert -20 <= c.confirm_min_logprob < 0 and c.windows >= 10 and c.negative_minutes >= 0.5
        assert c.candidates_per_hour <= 200 or c.confirm_threshold == 0.5
        assert 0 <= c.false_accepts_per_hour <= 0.5
        assert c.decoding.startswith(f"confirm_threshold = {c.confirm_threshold:g}, confirm_min_logprob = ")


def test_calibrate_cli(registry, capsys):
    assert main(["wake", "calibrate", "--model", "wake/own/stop", "--minutes", "0.3", "--json", "--no-progress"]) == 0
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert line["name"] == "stop" and line["phrase"] == "stop" and line["confirm_min_logprob"] < 0
    assert main(["wake", "calibrate", "--model", "wake/own/stop", "--phrase", "a", "--phrase", "b"]) == 1
    assert "--phrase given 2 times" in capsys.readouterr().err
