"""Make the statically quantized int8 speech embedding and check it against the fp32 model.

    python -m tools.quantize_embedding [--clips DIR] [-o PATH]

Runs the recipe (``assistant.wake.quantize:quantize_embedding``, the same one ``assistant models
prepare`` runs for ``wake/embedding.int8``), then measures on the same audio: the embedding's time per
call (fp32 vs int8, one thread), the largest score difference of the default wake word, and whether the
detections are the same. ``--clips`` adds a folder of clips (e.g. a corpus's positives) to the check.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from assistant.audio.io import read_audio
from assistant.config import load_config
from assistant.models import ModelRegistry
from assistant.wake.detector import WakeWordModel, make_session
from assistant.wake.quantize import DEMO_WAV, quantize_embedding


def time_per_call(path: Path, rt, windows: np.ndarray, repeat: int = 200) -> float:
    sess = make_session(path, rt)
    name = sess.get_inputs()[0].name
    for w in windows[:10]:
        sess.run(None, {name: w[None]})
    t0 = time.process_time()
    for i in range(repeat):
        sess.run(None, {name: windows[i % len(windows)][None]})
    return (time.process_time() - t0) / repeat


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", type=Path, help="default: where the registry keeps wake/embedding.int8")
    ap.add_argument("--clips", type=Path, help="folder of clips to compare detections on")
    args = ap.parse_args()
    cfg = load_config()
    reg = ModelRegistry.load(cfg.models)
    out = args.output or reg.location("wake/embedding.int8")
    out.parent.mkdir(parents=True, exist_ok=True)
    emb, mel = reg.path("wake/embedding"), reg.path("wake/melspectrogram")
    t0 = time.perf_counter()
    quantize_embedding([emb, mel], out)
    print(
        f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, fp32 {emb.stat().st_size / 1e6:.2f} MB) "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    from assistant.wake.quantize import calibration_windows

    windows = calibration_windows(mel, 76)
    t32 = time_per_call(emb, cfg.runtime, windows)
    t8 = time_per_call(out, cfg.runtime, windows)
    print(
        f"embedding per call (CPU time, 1 thread): fp32 {t32 * 1e3:.3f} ms, int8 {t8 * 1e3:.3f} ms, "
        f"speed-up {t32 / t8:.2f}x"
    )
    models = {}
    for label, path in (("fp32", str(emb)), ("int8", str(out))):
        wcfg = dataclasses.replace(cfg.wake, embedding=path)
        models[label] = WakeWordModel.load(wcfg, cfg.runtime, reg)
    clips = [DEMO_WAV] + (sorted(args.clips.glob("*.wav")) if args.clips else [])
    same, max_diff, n_det = 0, 0.0, 0
    pad = np.zeros(16000, np.float32)
    for clip in clips:
        x = np.concatenate([pad, read_audio(clip, 16000).samples, pad])
        a = models["fp32"].stream().scores_for(x)
        b = models["int8"].stream().scores_for(x)
        max_diff = max(max_diff, float(np.abs(a - b).max()))
        t = cfg.wake.threshold
        det_a, det_b = bool((a >= t).any()), bool((b >= t).any())
        n_det += det_a
        same += det_a == det_b
    print(
        f"{len(clips)} clips: same detection outcome on {same} ({n_det} detected by fp32); "
        f"largest score difference {max_diff:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
