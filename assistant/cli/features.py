"""assistant features FILE: the front end's frames, their shape and statistics."""

from __future__ import annotations

import time

import numpy as np

from assistant.audio.io import read_audio
from assistant.cli import add_config_flag, add_json_flag, emit
from assistant.config import load_config
from assistant.frontend.fbank import Fbank


def register(sub) -> None:
    p = sub.add_parser("features", help="front-end frames of an audio file: shape and statistics")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--impl", choices=["native", "python"], help="force an implementation")
    add_config_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    cfg = load_config(args.config)
    fbank = Fbank(cfg.frontend, cfg.audio.sample_rate, impl=args.impl)
    for path in args.files:
        audio = read_audio(path, cfg.audio.sample_rate, max_s=cfg.audio.max_file_s)
        t0 = time.perf_counter()
        frames = fbank.compute(audio.samples)
        elapsed = time.perf_counter() - t0
        result = {
            "file": str(path),
            "source": f"{audio.source_format}, {audio.source_rate} Hz, {audio.source_channels} ch",
            "duration_s": round(audio.duration_s, 3),
            "num_frames": int(frames.shape[0]),
            "num_bins": int(frames.shape[1]),
            "mean": float(frames.mean()) if frames.size else None,
            "std": float(frames.std()) if frames.size else None,
            "min": float(frames.min()) if frames.size else None,
            "max": float(frames.max()) if frames.size else None,
            "implementation": fbank.implementation,
            "compute_s": round(elapsed, 6),
            "real_time_factor": round(elapsed / max(audio.duration_s, 1e-9), 6),
        }
        text = (
            f"{path}: {result['num_frames']} frames x {result['num_bins']} bins "
            f"({result['duration_s']} s, {result['source']})\n"
            f"  log-mel mean {result['mean']:.3f}  std {result['std']:.3f}  "
            f"min {result['min']:.3f}  max {result['max']:.3f}\n"
            f"  {fbank.implementation} front end: {elapsed * 1000:.2f} ms, real-time factor "
            f"{result['real_time_factor']:.5f}"
            if frames.size
            else f"{path}: no frames"
        )
        emit(result, args.json, text)
        if not args.json and frames.size:
            band = frames.mean(axis=0)
            print("  mean per bin (low -> high): " + _sparkline(band))
    return 0


def _sparkline(values: np.ndarray) -> str:
    ticks = "▁▂▃▄▅▆▇█"
    lo, hi = float(values.min()), float(values.max())
    scale = (len(ticks) - 1) / (hi - lo) if hi > lo else 0.0
    return "".join(ticks[int((v - lo) * scale)] for v in values)
