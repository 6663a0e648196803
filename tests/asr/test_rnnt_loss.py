"""The transducer loss of tools/train/model.py against brute-force enumeration of every alignment.

Runs only where PyTorch is installed (it is a training-time dependency, not a runtime or test one).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from tools.train.model import (  # noqa: E402
    rnnt_loss,
    rnnt_loss_bruteforce,
    rnnt_loss_modified,
    rnnt_loss_modified_bruteforce,
)

LOSSES = {
    # name: (loss, brute force, frames per utterance, labels per utterance); the modified (one symbol a
    # frame) lattice needs T >= U
    "regular": (rnnt_loss, rnnt_loss_bruteforce, [5, 4, 3], [3, 2, 1]),
    "modified": (rnnt_loss_modified, rnnt_loss_modified_bruteforce, [6, 5, 3], [3, 2, 3]),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_equals_the_sum_over_its_alignments(name):
    loss_fn, brute, t_lens, u_lens = LOSSES[name]
    torch.manual_seed(0)
    b, t, u, v = 3, max(t_lens), max(u_lens), 6
    logits = torch.randn(b, t, u + 1, v, dtype=torch.float64)
    targets = torch.randint(1, v, (b, u))
    t_lens, u_lens = torch.tensor(t_lens), torch.tensor(u_lens)
    loss = loss_fn(logits, targets, t_lens, u_lens)
    for i in range(b):
        ref = brute(logits[i, : t_lens[i], : u_lens[i] + 1].float(), targets[i, : u_lens[i]].tolist())
        assert abs(float(loss[i]) - float(ref)) < 1e-4


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_gradient_is_finite(name):
    torch.manual_seed(1)
    logits = torch.randn(2, 7, 4, 5, requires_grad=True)
    loss = LOSSES[name][0](logits, torch.randint(1, 5, (2, 3)), torch.tensor([7, 6]), torch.tensor([3, 2]))
    loss.sum().backward()
    assert torch.isfinite(logits.grad).all()
