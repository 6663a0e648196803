#!/usr/bin/env python3
"""openWakeWord's frozen speech embedding as the transducer's front end (issue 8's comparison).

    python -m tools.train.oww_features [--data var/asr-data]

For every utterance of make_data.py's corpus: the wake word's own front end (assistant/wake: the
openWakeWord mel step and the 96-dim embedding over 76 mel frames, every 8 frames = 80 ms), computed
exactly as the always-on listener computes it (``WakeStream``'s priming: the first window repeats the
first step's frames). Writes OUT/feats_oww_{split}.npy (float16, 12.5 frames a second) and
OUT/feats_oww_{split}.idx.npy (start, length per line of the split's jsonl).

That embedding was trained by its authors on real speech so that heads trained on synthetic speech
generalise to real voices; the question is whether a transducer on it generalises across voices better
than one on fbank from scratch (tools/train/README.md has the measurement).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from assistant.audio.io import read_audio
from assistant.config import RuntimeConfig, WakeConfig
from assistant.models import ModelRegistry
from assistant.wake.detector import INT16_SCALE, MEL_FRAMES_PER_STEP, WakeWordModel

ROOT = Path(__file__).resolve().parents[2]


def embeddings(model: WakeWordModel, samples: np.ndarray) -> np.ndarray:
    """(steps, 96): one embedding per 80 ms step, the window ending at that step."""
    mel = model.mel.compute(samples.astype(np.float32) * np.float32(INT16_SCALE))  # (frames, 32)
    n = model.mel_window
    mel = np.concatenate([np.repeat(mel[:MEL_FRAMES_PER_STEP], -(-n // MEL_FRAMES_PER_STEP), axis=0)[-n:], mel])
    ends = np.arange(n + MEL_FRAMES_PER_STEP, len(mel) + 1, MEL_FRAMES_PER_STEP)
    windows = np.stack([mel[e - n : e] for e in ends])
    return np.concatenate([model.embed(windows[i : i + 256]) for i in range(0, len(windows), 256)])


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "var" / "asr-data")
    args = ap.parse_args(argv)
    cfg = WakeConfig(models=("wake/hey_jarvis",))  # the embedding is what is used; the head is not
    model = WakeWordModel.load(cfg, RuntimeConfig(num_threads=1), ModelRegistry.load())
    for split in ("train", "test"):
        rows = [json.loads(line) for line in (args.data / f"{split}.jsonl").read_text().splitlines()]
        feats, idx, start = [], [], 0
        for r in tqdm(rows, desc=split, unit="utt", file=sys.stderr):
            e = embeddings(model, read_audio(args.data / r["file"], 16000).samples).astype(np.float16)
            feats.append(e)
            idx.append((start, len(e)))
            start += len(e)
        np.save(args.data / f"feats_oww_{split}.npy", np.concatenate(feats))
        np.save(args.data / f"feats_oww_{split}.idx.npy", np.array(idx, np.int64))
    return 0


if __name__ == "__main__":
    sys.exit(main())
