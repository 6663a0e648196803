#!/usr/bin/env python3
"""Word error rate through the device's path: ``assistant.app.load_recognizer`` (the models, LM, hotwords
and decoding settings ``assistant run`` loads) and ``Recognizer.transcribe`` (the stream the pipeline
feeds, then ``finish``), per engine and set, in one run.

    python -m tools.eval_asr [--engines two-pass whisper transducer] [--sets heldout asterisk cards librivox]
        [--prompts 120] [--heldout 0] [--config F] [--quick] [--json]

Sets (none of them ever trained on):
* ``heldout``: ``var/asr-data/test.jsonl`` (``python -m tools.train.make_data --parts 1 --train 0``): the
  streaming model's held-out synthetic voices; half the texts were seen in training, half not.
* ``asterisk``: ``--prompts`` Asterisk English prompts, evenly spaced (8 kHz studio recordings).
* ``cards``, ``librivox``: pocketsphinx-testdata's real read speech.

Beside WER: the share of exactly right transcripts, and how well ``TranscriptFinal.confidence`` tells
them from wrong ones (AUC: the chance a right one is more confident than a wrong one).

``tools/train/evaluate.py`` chooses the decoding settings on validation voices; this tool measures what
those settings do on the device.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from tqdm import tqdm

from assistant.app import load_recognizer
from assistant.asr.corpora import asterisk, cards, librivox, wer
from assistant.audio.io import read_audio
from assistant.config import AsrEngine, load_config
from assistant.models import ModelRegistry
from assistant.text import spoken_words

REPO = Path(__file__).resolve().parent.parent
HELDOUT = REPO / "var" / "asr-data" / "test.jsonl"


def heldout(limit: int) -> list[tuple[Path, str]]:
    if not HELDOUT.exists():
        print(f"heldout: {HELDOUT} not found (python -m tools.train.make_data --parts 1 --train 0 makes it)",
              file=sys.stderr)
        return []
    rows = [json.loads(line) for line in HELDOUT.read_text(encoding="utf-8").splitlines()]
    rows = rows[:: max(1, len(rows) // limit)][:limit] if limit else rows
    return [(HELDOUT.parent / r["file"], r["text"]) for r in rows]


def _auc(scores: list[float], right: list[bool]) -> float | None:
    """How well ``TranscriptFinal.confidence`` tells exactly right transcripts from wrong ones: the chance
    that a right one scores above a wrong one (ties count half); None without both kinds."""
    pos = [s for s, r in zip(scores, right, strict=True) if r]
    neg = [s for s, r in zip(scores, right, strict=True) if not r]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return round(wins / (len(pos) * len(neg)), 3)


def _mean(values) -> float | None:
    values = list(values)
    return round(sum(values) / len(values), 3) if values else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", nargs="+", default=[e.value for e in AsrEngine],
                    choices=[e.value for e in AsrEngine])
    ap.add_argument("--sets", nargs="+", default=["heldout", "asterisk", "cards", "librivox"],
                    choices=["heldout", "asterisk", "cards", "librivox"])
    ap.add_argument("--prompts", type=int, default=120, help="Asterisk prompts (0 = all)")
    ap.add_argument("--heldout", type=int, default=0, help="held-out utterances (0 = all)")
    ap.add_argument("--config", help="the device's config (default: the shipped one)")
    ap.add_argument("--quick", action="store_true", help="three files a set: a smoke run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    limit = 3 if args.quick else None
    sets = {
        "heldout": lambda: heldout(limit or args.heldout),
        "asterisk": lambda: asterisk(limit or args.prompts),
        "cards": cards,
        "librivox": librivox,
    }
    data = {}
    for name in args.sets:
        items = sets[name]()[: limit or None]
        if items:
            data[name] = [(read_audio(p, 16000).samples, text) for p, text in items]
    if not data:
        print("no evaluation set is installed (tools/system_deps.sh)", file=sys.stderr)
        return 1
    cfg = load_config(args.config)
    registry = ModelRegistry.load(cfg.models)
    rows = []
    for engine in args.engines:
        recognizer = load_recognizer(
            dataclasses.replace(cfg, asr=dataclasses.replace(cfg.asr, engine=AsrEngine(engine))), registry)
        for name, items in data.items():
            hyps, confidences, t0 = [], [], time.perf_counter()
            for samples, _ in tqdm(items, desc=f"{engine} {name}", disable=args.json or None, leave=False):
                final = recognizer.transcribe(samples)
                hyps.append(final.text)
                confidences.append(final.confidence)
            secs = time.perf_counter() - t0
            audio_s = sum(len(s) for s, _ in items) / 16000
            right = [spoken_words(h) == spoken_words(t) for h, (_, t) in zip(hyps, items, strict=True)]
            row = {"engine": engine, "set": name, "files": len(items),
                   "wer": round(wer([t for _, t in items], hyps), 4), "rtf": round(secs / audio_s, 4),
                   "exact": round(sum(right) / len(right), 4),
                   "confidence_auc": _auc(confidences, right),
                   "confidence_right": _mean(c for c, r in zip(confidences, right, strict=True) if r),
                   "confidence_wrong": _mean(c for c, r in zip(confidences, right, strict=True) if not r)}
            rows.append(row)
            print(json.dumps(row) if args.json else
                  f"{engine:<11}{name:<10}{len(items):>5} files  WER {100 * row['wer']:6.2f}%  RTF {row['rtf']:.4f}"
                  f"  exact {100 * row['exact']:5.1f}%  confidence AUC {row['confidence_auc']}"
                  f" (right {row['confidence_right']}, wrong {row['confidence_wrong']})",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
