"""tools/train/decode_eval.py: the shipped model's decoding settings chosen on validation voices and its
greedy and shipped-configuration WER, on a small validation split made of the held-out test clips."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.asr.conftest import ASR_DATA
from tests.asr.test_shipped_transducer import CLIPS
from tools.train import decode_eval
from tools.train.evaluate import tuning_rows

ROOT = Path(__file__).resolve().parents[2]

MODEL = ROOT / "models" / "asr" / "home-lstm-en"


@pytest.fixture()
def data(tmp_path) -> Path:
    """valid (3), valid_kokoro (3), valid_festival (3): the same three clips, as make_data.py lists them"""
    for split in ("valid", "valid_kokoro", "valid_festival"):
        (tmp_path / split).mkdir()
        rows = []
        for name, text in CLIPS.items():
            shutil.copy(ASR_DATA / "heldout" / name, tmp_path / split / name)
            rows.append(json.dumps({"file": f"{split}/{name}", "text": text}))
        (tmp_path / f"{split}.jsonl").write_text("\n".join(rows) + "\n")
    return tmp_path


def test_tuning_set_spaces_valid_and_festival_and_takes_kokoros_first(data):
    rows, said = tuning_rows(data, 1, 2, 3)
    assert [r["file"] for r in rows] == ["valid/timer_en-us.wav", "valid_kokoro/timer_en-us.wav",
                                         "valid_kokoro/lamp_flite-rms.wav", *(f"valid_festival/{n}" for n in CLIPS)]
    assert said == "valid (1) + valid_kokoro (2) + valid_festival (3)"
    rows, said = tuning_rows(data, 2, 0, 0)  # every (3 // 2)th: the first two
    assert [r["file"] for r in rows] == ["valid/timer_en-us.wav", "valid/lamp_flite-rms.wav"]
    assert said == "valid (2)"


def test_the_shipped_model_scored_greedy_and_as_shipped(data, capsys):
    if not MODEL.joinpath("encoder.int8.onnx").exists():
        pytest.skip("the shipped transducer is not here")
    assert decode_eval.main([str(MODEL), "--data", str(data), "--split", "valid,valid_festival",
                             "--limit", "3,2", "--ilm-weights", "0,0.1"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["model"] == str(MODEL)
    assert set(row["decoding"]) == {"lm_weight", "lm_word_bonus", "hotword_boost_per_token", "temperature",
                                    "ilm_weight"}
    assert row["decoding"]["temperature"] in (1.0, 1.25, 1.5, 2.0)
    assert row["decoding"]["ilm_weight"] in (0.0, 0.1)
    for name in ("greedy", "shipped"):  # pooled over the words: valid has 16 (6 + 5 + 5), its first two 11
        assert row[name] == pytest.approx((16 * row[f"{name}_valid"] + 11 * row[f"{name}_valid_festival"]) / 27,
                                          abs=1e-3)
        # the timer clip comes right in both (test_shipped_transducer.py): at most the other 10 words wrong
        assert 0.0 <= row[f"{name}_valid"] <= 10 / 16
