"""Front-end benchmark: native fbank, its numpy twin and kaldi-native-fbank on the same 60 s of speech.

Prints each CPU time (best of N runs, one thread), the real-time factors and the ratios, in one run so the
machine's load affects all three alike. The audio is real recorded speech (pocketsphinx-testdata, looped
to 60 s) when installed, else the bundled demo recording looped. Also times the streaming resampler.

    python -m tools.bench_frontend [--seconds 60] [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from assistant import _accel
from assistant.audio.io import read_audio
from assistant.audio.resample import Resampler
from assistant.config import FrontendConfig
from assistant.frontend.fbank import Fbank

SPEECH_DIR = Path("/usr/share/pocketsphinx/test/data/librivox")


def load_audio(seconds: float) -> tuple[np.ndarray, str]:
    wavs = sorted(SPEECH_DIR.glob("*.wav"))
    source = "pocketsphinx-testdata LibriVox" if wavs else "assistant/data/demo.wav"
    paths = wavs or [Path(__file__).resolve().parent.parent / "assistant/data/demo.wav"]
    x = np.concatenate([read_audio(p).samples for p in paths])
    n = int(seconds * 16000)
    return np.resize(x, n).astype(np.float32), source


def best_time(fn, repeat: int) -> float:
    """Best CPU time of this thread over ``repeat`` runs: the machine is shared, so wall time would
    count other processes' work; every implementation here runs on the calling thread."""
    times = []
    for _ in range(repeat):
        t0 = time.thread_time()
        fn()
        times.append(time.thread_time() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--chunk", type=int, default=160, help="streaming chunk in samples (0 = whole file)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true", help="tiny input, seconds: a smoke run (make test runs it)")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.repeat = 2.0, 1
    x, source = load_audio(args.seconds)
    cfg = FrontendConfig()
    chunk = args.chunk or len(x)

    def stream(fb):
        for i in range(0, len(x), chunk):
            fb.feed(x[i : i + chunk])
        fb.finish()
        fb.reset()

    results: dict[str, float] = {}
    if _accel.native is not None:
        fb = Fbank(cfg, impl="native")
        results["native"] = best_time(lambda: stream(fb), args.repeat)
    fbp = Fbank(cfg, impl="python")
    results["numpy_twin"] = best_time(lambda: stream(fbp), max(1, args.repeat // 2))
    try:
        import kaldi_native_fbank as knf

        o = knf.FbankOptions()
        o.frame_opts.dither = 0.0
        o.frame_opts.snip_edges = False
        o.mel_opts.num_bins = cfg.num_mel_bins

        def run_knf():
            f = knf.OnlineFbank(o)
            for i in range(0, len(x), chunk):
                f.accept_waveform(16000, x[i : i + chunk])
            f.input_finished()
            n = f.num_frames_ready
            # Reading the frames out is part of the job (sherpa-onnx does it per chunk).
            _ = [f.get_frame(k) for k in range(n)]

        results["kaldi_native_fbank"] = best_time(run_knf, args.repeat)
    except ImportError:
        pass
    rs = Resampler(48000, 16000)
    x48 = np.resize(x, int(args.seconds * 48000))

    def run_resample():
        for i in range(0, len(x48), 960):
            rs.feed(x48[i : i + 960])
        rs.finish()
        rs.reset()

    results["resample_48k_to_16k"] = best_time(run_resample, args.repeat)
    report = {
        "audio": f"{args.seconds:.0f} s of {source}",
        "chunk_samples": chunk,
        "seconds": {k: round(v, 5) for k, v in results.items()},
        "real_time_factor": {k: round(v / args.seconds, 6) for k, v in results.items()},
    }
    if "native" in results:
        ratios = {"numpy_twin / native": results["numpy_twin"] / results["native"]}
        if "kaldi_native_fbank" in results:
            ratios["kaldi_native_fbank / native"] = results["kaldi_native_fbank"] / results["native"]
        report["ratios"] = {k: round(v, 2) for k, v in ratios.items()}
    if args.json:
        print(json.dumps(report))
        return
    print(f"audio: {report['audio']}, fed in chunks of {chunk} samples; best of {args.repeat}")
    for k, v in results.items():
        print(f"  {k:22s} {v * 1000:9.2f} ms   real-time factor {v / args.seconds:.6f}")
    for k, v in report.get("ratios", {}).items():
        print(f"  {k:30s} {v:.2f}x")


if __name__ == "__main__":
    main()
