"""Training-time helpers of tools/train/ that shape what ships: checkpoint averaging, the spectral
equaliser augmentation and the longer lead-in. Runs only where PyTorch is installed (a training-time dependency)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tools.train.average import average  # noqa: E402
from tools.train.model import Transducer  # noqa: E402
from tools.train.train import (  # noqa: E402
    BACKGROUND_FRAMES,
    RUN_ARGS,
    given_options,
    keep_run_args,
    lead_in,
    make_batch,
    spectral_eq,
)


def _snapshot(path: Path, seed: int, step: int) -> dict:
    torch.manual_seed(seed)
    model = Transducer(20, 16, 2, 16, 16)
    ck = {"config": model.config, "model": model.state_dict(), "step": step}
    torch.save(ck, path)
    return ck


def test_average_is_the_mean_of_the_weights_and_loads(tmp_path):
    a = _snapshot(tmp_path / "a.pt", 0, 100)
    b = _snapshot(tmp_path / "b.pt", 1, 200)
    torch.save({**b, "history": {"train": [(1, 2.0)], "dev": []}}, tmp_path / "last.pt")
    out = average([tmp_path / "a.pt", tmp_path / "b.pt"], history_from=tmp_path / "last.pt")
    assert out["step"] == 200 and out["history"]["train"] == [(1, 2.0)]
    for name, value in out["model"].items():
        if value.dtype.is_floating_point:
            torch.testing.assert_close(value, (a["model"][name] + b["model"][name]) / 2)
    Transducer(**out["config"]).load_state_dict(out["model"])


def test_average_refuses_different_models(tmp_path):
    _snapshot(tmp_path / "a.pt", 0, 100)
    torch.save({"config": Transducer(20, 32, 2, 16, 16).config, "model": {}, "step": 1}, tmp_path / "b.pt")
    with pytest.raises(SystemExit, match="different model configs"):
        average([tmp_path / "a.pt", tmp_path / "b.pt"])


def test_grown_model_starts_as_the_model_and_streams_chunk_by_chunk():
    """train.py --grow: residual LSTM layers on top, zero at the start; chunked = whole utterance"""
    torch.manual_seed(0)
    base = Transducer(20, 16, 2, 16, 16).eval()
    grown = Transducer(**base.config, residual_layers=2).eval()
    missing, unexpected = grown.load_state_dict(base.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("encoder.res_") for k in missing)
    assert grown.config["residual_layers"] == 2 and grown.encoder.state_layers == 4
    x = torch.randn(1, 131, 80)
    with torch.no_grad():
        same = grown.encoder(x, *grown.encoder.init_state(1))[0]
        assert torch.equal(same, base.encoder(x, *base.encoder.init_state(1))[0])
        for p in grown.encoder.res_out.parameters():  # as after training: the new layers now count
            p.normal_(0, 0.3)
        whole, h_end, _ = grown.encoder(x, *grown.encoder.init_state(1))
        assert h_end.shape == (4, 1, 16) and not torch.allclose(whole, same)
        h, c = grown.encoder.init_state(1)
        parts = []
        for start in range(0, 131 - 3, 32):  # the export's chunks: 32 frames + 3 of right context
            out, h, c = grown.encoder(x[:, start : start + 35], h, c)
            parts.append(out)
        torch.testing.assert_close(torch.cat(parts, 1), whole)  # 4 chunks of 8 frames: all 32 of them
        torch.testing.assert_close(h, h_end)


def test_spectral_eq_adds_one_smooth_bounded_curve_per_utterance():
    x = torch.randn(3, 7, 80)
    y = spectral_eq(x, np.random.default_rng(0), 6.0)
    diff = y - x
    torch.testing.assert_close(diff, diff[:, :1].expand_as(diff))  # the same curve in every frame
    bound = 6.0 * np.log(10) / 10 * 2.5  # tilt + three half-amplitude cosines
    assert float(diff.abs().max()) <= bound
    assert float((diff[:, 0, 1:] - diff[:, 0, :-1]).abs().max()) < 0.3  # smooth across the mel axis
    assert not torch.allclose(diff[0], diff[1])  # a new curve for each utterance


def test_lead_in_puts_the_utterances_own_background_before_it():
    x = torch.arange(40 * 80, dtype=torch.float32).reshape(40, 80)
    y = lead_in(x, np.random.default_rng(0), 25)
    assert y.shape == (65, 80)
    torch.testing.assert_close(y[25:], x)  # the utterance itself, untouched
    first = {tuple(row.tolist()) for row in x[:BACKGROUND_FRAMES]}
    assert all(tuple(row.tolist()) in first for row in y[:25])  # only background frames before it
    assert len({tuple(row.tolist()) for row in y[:25]}) > 1  # drawn, not one frame repeated
    assert lead_in(x, np.random.default_rng(0), 0) is x
    short = x[:3]
    assert lead_in(short, np.random.default_rng(0), 5).shape == (8, 80)  # fewer frames than the background


class _Pieces:
    def encode(self, text):
        return [3 + ord(ch) % 5 for ch in text]


def test_make_batch_lengthens_only_the_share_asked_and_only_when_augmenting():
    lens = [30, 50, 40, 20]
    feats = np.random.default_rng(1).standard_normal((sum(lens), 80)).astype(np.float16)
    idx = np.array([(sum(lens[:k]), n) for k, n in enumerate(lens)])
    rows = [{"text": "ab"}] * 4
    args = ([0, 1, 2, 3], rows, feats, idx, _Pieces())
    assert make_batch(*args, lead=(1.0, 0.5))[1].tolist() == lens  # no augment_rng: as it is
    x_lens = make_batch(*args, np.random.default_rng(2), lead=(1.0, 0.5))[1].tolist()
    assert all(n <= x_lens[k] <= n + 50 for k, n in enumerate(lens)) and x_lens != lens
    assert make_batch(*args, np.random.default_rng(2), lead=(0.0, 0.5))[1].tolist() == lens


def test_resume_keeps_the_runs_settings_unless_given_again():
    import argparse

    saved = {"max_steps": "102000", "schedule_from": "92000", "lr": "0.0005", "lead": "(0.5, 2.0)",
             "loss": "modified", "dropout": "None", "threads": "2", "minutes": "200.0"}
    args = argparse.Namespace(max_steps=8000, schedule_from=None, lr=1.5e-3, lead=(0.0, 0.0), loss="modified",
                              dropout=None, threads=1, minutes=55.0, warmup=150)
    kept = keep_run_args(args, saved, given={"lr"})
    assert (args.max_steps, args.schedule_from, args.lead) == (102000, 92000, (0.5, 2.0))
    assert args.lr == 1.5e-3  # given again on the command line: this sitting's
    assert (args.threads, args.minutes, args.warmup) == (1, 55.0, 150)  # the sitting's own, or not saved
    assert kept == {"max_steps": 102000, "schedule_from": 92000, "lead": (0.5, 2.0)}
    assert {"max_steps", "lr", "lead", "schedule_from"} <= set(RUN_ARGS)


def test_given_options_are_the_ones_on_the_command_line():
    import argparse

    ap = argparse.ArgumentParser()
    for name in ("--max-steps", "--lr", "--lead"):
        ap.add_argument(name)
    ap.add_argument("--resume", action="store_true")
    assert given_options(ap, ["--resume", "--max-steps=9", "--lead", "0.5", "2"]) == {"resume", "max_steps", "lead"}
