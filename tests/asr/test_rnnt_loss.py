"""The transducer loss of tools/train/model.py against brute-force enumeration of every alignment.

Runs only where PyTorch is installed (it is a training-time dependency, not a runtime or test one).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "train"))
from model import (  # noqa: E402
    rnnt_loss,
    rnnt_loss_bruteforce,
    rnnt_loss_modified,
    rnnt_loss_modified_bruteforce,
)


def test_loss_equals_the_sum_over_all_alignments():
    torch.manual_seed(0)
    b, t, u, v = 3, 5, 3, 6
    logits = torch.randn(b, t, u + 1, v, dtype=torch.float64)
    targets = torch.randint(1, v, (b, u))
    t_lens, u_lens = torch.tensor([5, 4, 3]), torch.tensor([3, 2, 1])
    loss = rnnt_loss(logits, targets, t_lens, u_lens)
    for i in range(b):
        ref = rnnt_loss_bruteforce(
            logits[i, : t_lens[i], : u_lens[i] + 1].float(), targets[i, : u_lens[i]].tolist()
        )
        assert abs(float(loss[i]) - float(ref)) < 1e-4


def test_loss_gradient_is_finite():
    torch.manual_seed(1)
    logits = torch.randn(2, 7, 4, 5, requires_grad=True)
    loss = rnnt_loss(logits, torch.randint(1, 5, (2, 3)), torch.tensor([7, 6]), torch.tensor([3, 2])).sum()
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_modified_loss_equals_the_sum_over_one_symbol_per_frame_alignments():
    torch.manual_seed(2)
    b, t, u, v = 3, 6, 3, 5
    logits = torch.randn(b, t, u + 1, v, dtype=torch.float64)
    targets = torch.randint(1, v, (b, u))
    t_lens, u_lens = torch.tensor([6, 5, 3]), torch.tensor([3, 2, 3])
    loss = rnnt_loss_modified(logits, targets, t_lens, u_lens)
    for i in range(b):
        ref = rnnt_loss_modified_bruteforce(
            logits[i, : t_lens[i], : u_lens[i] + 1].float(), targets[i, : u_lens[i]].tolist()
        )
        assert abs(float(loss[i]) - float(ref)) < 1e-4


def test_modified_loss_gradient_is_finite():
    torch.manual_seed(3)
    logits = torch.randn(2, 7, 4, 5, requires_grad=True)
    args = (torch.randint(1, 5, (2, 3)), torch.tensor([7, 6]), torch.tensor([3, 2]))
    loss = rnnt_loss_modified(logits, *args)
    loss.sum().backward()
    assert torch.isfinite(logits.grad).all()
