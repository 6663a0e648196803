#!/usr/bin/env python3
"""Average the weights of several checkpoints of one training run (icefall's ``--avg``), into one
checkpoint that export.py, greedy_eval.py and train.py ``--resume-from`` take.

    python -m tools.train.average var/asr-exp8/step-28000.pt var/asr-exp8/step-29000.pt ... --out AVG.pt

The snapshots come from ``train.py --keep-every N``. The config and step are the last one's, the loss
history ``--history-from``'s (the run's last.pt); integer buffers are taken from the last one as they are.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch


def average(paths: list[Path], history_from: Path | None = None) -> dict:
    cks = [torch.load(p, map_location="cpu", weights_only=False) for p in paths]
    configs = {repr(sorted(ck["config"].items())) for ck in cks}
    if len(configs) != 1:
        raise SystemExit("average.py: the checkpoints have different model configs")
    last = cks[-1]
    state = {}
    for name, value in last["model"].items():
        if value.dtype.is_floating_point:
            state[name] = (sum(ck["model"][name].double() for ck in cks) / len(cks)).to(value.dtype)
        else:
            state[name] = value
    out = {"config": last["config"], "model": state, "step": last["step"],
           "averaged": [str(p) for p in paths]}
    if history_from is not None:  # the snapshots carry none: the loss curve of the run's last.pt
        out["history"] = torch.load(history_from, map_location="cpu", weights_only=False)["history"]
    elif "history" in last:
        out["history"] = last["history"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ckpts", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--history-from", type=Path, help="take the loss history from this checkpoint (EXP/last.pt)")
    args = ap.parse_args(argv)
    torch.save(average(args.ckpts, args.history_from), args.out)
    print(f"{args.out}: the average of {len(args.ckpts)} checkpoints", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
