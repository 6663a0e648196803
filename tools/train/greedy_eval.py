#!/usr/bin/env python3
"""Greedy WER of a training checkpoint on make_data.py's held-out voices, in PyTorch (no export), so
front ends and checkpoints compare on the same utterances.

    python -m tools.train.greedy_eval CKPT [CKPT ...] [--data var/asr-data] [--split test] [--limit 160]
        [--max-symbols 1]
    python -m tools.train.greedy_eval CKPT ... --split valid,valid_kokoro,valid_festival --limit 600,100,400
        # how a sitting chooses what ships (from the fifteenth): WER pooled over the validation splits'
        # words, and each split's

``--lead S`` puts S seconds more of each utterance's own background before it (``train.lead_in``; the same
frames for every checkpoint): how a later start of the speech, as after a pause or an early endpointer,
moves the WER.

Greedy search as icefall's, with up to ``--max-symbols`` tokens per encoder frame (default 1, as our
engine and sherpa-onnx decode; the 12.5 Hz oww front end and models trained with the regular transducer
loss need more). Reports WER overall, on clean
utterances (no noise below 20 dB, no room, no telephone band), per split (several given) and per engine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from assistant.asr.corpora import wer
from tools.train.model import CONTEXT_SIZE, Transducer
from tools.train.train import lead_in, load_split

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@torch.no_grad()
def greedy(model: Transducer, x: torch.Tensor, max_symbols: int) -> list[int]:
    h, c = model.encoder.init_state(1)
    enc, _, _ = model.encoder(x[None], h, c)
    ctx, out = [-1] * (CONTEXT_SIZE - 1) + [0], []
    dec = model.decoder(torch.tensor([ctx]))
    for t in range(enc.shape[1]):
        for _ in range(max_symbols):
            k = int(model.joiner(enc[0, t], dec[0]).argmax())
            if k == 0:
                break
            out.append(k)
            ctx = ctx[1:] + [k]
            dec = model.decoder(torch.tensor([ctx]))
    return out


def clean(split: str, row: dict) -> bool:
    """No noise below 20 dB SNR, no room, no telephone band."""
    return row.get("snr_db", 99) >= 20 and not row.get("rt60_s") and not row.get("telephone")


def wer_of(refs: list[str], hyps: list[str], picked: list[tuple[str, dict]], keep) -> float:
    """WER over the utterances whose (split, row) ``keep`` accepts."""
    ks = [k for k, (split, row) in enumerate(picked) if keep(split, row)]
    return round(wer([refs[k] for k in ks], [hyps[k] for k in ks]), 4)


def main(argv: list[str] | None = None) -> int:
    import sentencepiece as spm

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ckpts", nargs="+", type=Path)
    ap.add_argument("--data", type=Path, default=ROOT / "var" / "asr-data")
    ap.add_argument("--bpe", type=Path, default=ROOT / "var" / "asr-exp" / "bpe.model")
    ap.add_argument("--split", default="test",
                    help="test (the held-out voices), valid (for choosing), or several, comma-separated "
                         "(valid,valid_kokoro): WER pooled over all their words, and each split's")
    ap.add_argument("--limit", default="160", help="utterances of each split (one number, or one per split)")
    ap.add_argument("--max-symbols", type=int, default=1)
    ap.add_argument("--lead", type=float, default=0.0,
                    help="seconds more of each utterance's own background before it (train.lead_in; the same "
                         "frames for every checkpoint): how much a later start of the speech costs")
    args = ap.parse_args(argv)
    splits = args.split.split(",")
    limits = [int(n) for n in args.limit.split(",")]
    if len(limits) not in (1, len(splits)):
        ap.error(f"--limit: one number, or one per split ({len(splits)})")
    limits = limits * len(splits) if len(limits) == 1 else limits
    torch.set_num_threads(1)
    sp = spm.SentencePieceProcessor(model_file=str(args.bpe))
    for path in args.ckpts:
        ck = torch.load(path, map_location="cpu", weights_only=False)
        model = Transducer(**ck["config"])
        model.load_state_dict(ck["model"])
        model.eval()
        frontend = ck["config"].get("frontend", "fbank")
        refs, hyps, picked = [], [], []  # picked: (split, row) of each utterance
        for split, limit in zip(splits, limits, strict=True):
            rows, feats, idx = load_split(args.data, split, frontend)
            for i in np.arange(len(rows))[:: max(1, len(rows) // limit)][:limit]:
                x = torch.from_numpy(np.asarray(feats[idx[i, 0] : idx[i, 0] + idx[i, 1]], np.float32))
                x = lead_in(x, np.random.default_rng([7, int(i), len(split)]), round(args.lead * 100))
                hyps.append(sp.decode(greedy(model, x, args.max_symbols)))
                refs.append(rows[i]["text"])
                picked.append((split, rows[i]))
        res = {"ckpt": str(path), "step": ck.get("step"), "frontend": frontend, "lead_s": args.lead,
               "utterances": len(picked),
               "wer": round(wer(refs, hyps), 4), "wer_clean": wer_of(refs, hyps, picked, clean),
               "clean": sum(clean(*p) for p in picked)}
        if len(splits) > 1:
            res.update({f"wer_{s}": wer_of(refs, hyps, picked, lambda split, _, s=s: split == s) for s in splits})
        for eng in sorted({row["engine"] for _, row in picked}):
            res[f"wer_{eng}"] = wer_of(refs, hyps, picked, lambda _, row, eng=eng: row["engine"] == eng)
        print(json.dumps(res), flush=True)
        for r, h in list(zip(refs, hyps, strict=True))[:4]:
            print(f"   ref: {r}\n   hyp: {h}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
