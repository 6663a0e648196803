"""Front-end benchmark: native fbank, its numpy twin and kaldi-native-fbank on the same 60 s of speech.

Prints each CPU time (best of N runs, one thread), the real-time factors and the ratios, in one run so the
machine's load affects all three alike. The audio is real recorded speech (pocketsphinx-testdata, looped
to 60 s) when installed, else the bundled demo recording looped. Also times the streaming resampler.

``--micro`` times microWakeWord's front end instead (assistant/wake/micro_frontend.py): native, its numpy
twin and pymicro-features (TFLite Micro's C original) driven as pymicro-wakeword drives it, on the same
audio and chunks (``--quick`` smokes both sections).

    python -m tools.bench_frontend [--micro] [--seconds 60] [--repeat 5] [--json]
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
    ap.add_argument("--micro", action="store_true", help="microWakeWord's front end (native, twin, pymicro-features)")
    ap.add_argument("--quick", action="store_true", help="tiny input, seconds: a smoke run (make test runs it)")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.repeat = 2.0, 1
    x, source = load_audio(args.seconds)
    cfg = FrontendConfig()
    chunk = args.chunk or len(x)
    # --quick smokes both sections (make test runs it), so the micro front end's cannot rot unrun either
    sections = ["micro"] if args.micro else ["fbank", "micro"] if args.quick else ["fbank"]
    for section in sections:
        if section == "micro":
            results = bench_micro(x, chunk, args.repeat)
        else:
            results = bench_fbank(x, cfg, chunk, args.repeat, args.seconds)
        print_report(results, section, args, source, chunk)


def print_report(results: dict[str, float], section: str, args, source: str, chunk: int) -> None:
    reference = "pymicro_features" if section == "micro" else "kaldi_native_fbank"
    report = {
        "section": section,
        "audio": f"{args.seconds:.0f} s of {source}",
        "chunk_samples": chunk,
        "seconds": {k: round(v, 5) for k, v in results.items()},
        "real_time_factor": {k: round(v / args.seconds, 6) for k, v in results.items()},
    }
    if "native" in results:
        ratios = {"numpy_twin / native": results["numpy_twin"] / results["native"]}
        if reference in results:
            ratios[f"{reference} / native"] = results[reference] / results["native"]
        report["ratios"] = {k: round(v, 2) for k, v in ratios.items()}
    if args.json:
        print(json.dumps(report))
        return
    what = "microWakeWord front end" if section == "micro" else "fbank"
    print(f"{what}; audio: {report['audio']}, fed in chunks of {chunk} samples; best of {args.repeat}")
    for k, v in results.items():
        print(f"  {k:22s} {v * 1000:9.2f} ms   real-time factor {v / args.seconds:.6f}")
    for k, v in report.get("ratios", {}).items():
        print(f"  {k:30s} {v:.2f}x")


def bench_micro(x: np.ndarray, chunk: int, repeat: int) -> dict[str, float]:
    from assistant.wake.micro_frontend import STEP_SAMPLES, MicroFrontend, to_int16

    def stream(fe):
        s = fe.stream()
        for i in range(0, len(x), chunk):
            s.feed(x[i : i + chunk])

    results: dict[str, float] = {}
    if _accel.native is not None:
        native = MicroFrontend("native")
        results["native"] = best_time(lambda: stream(native), repeat)
    twin = MicroFrontend("python")
    results["numpy_twin"] = best_time(lambda: stream(twin), max(1, repeat // 2))
    try:
        from pymicro_features import MicroFrontend as Reference
    except ImportError:
        return results
    step_bytes = 2 * STEP_SAMPLES

    def run_reference():
        # pymicro-wakeword's MicroWakeWordFeatures.process_streaming: a byte buffer, 10 ms per call, each
        # frame's features to a numpy array; the float -> int16 conversion is ours, as the others do it.
        fe, buf = Reference(), b""
        for i in range(0, len(x), chunk):
            buf += to_int16(x[i : i + chunk]).tobytes()
            j = 0
            while j + step_bytes <= len(buf):
                res = fe.process_samples(buf[j : j + step_bytes])
                j += 2 * res.samples_read
                if res.features:
                    np.array(res.features).reshape((1, 1, len(res.features)))
            buf = buf[j:]

    results["pymicro_features"] = best_time(run_reference, repeat)
    return results


def bench_fbank(x: np.ndarray, cfg: FrontendConfig, chunk: int, repeat: int, seconds: float) -> dict[str, float]:
    def stream(fb):
        for i in range(0, len(x), chunk):
            fb.feed(x[i : i + chunk])
        fb.finish()
        fb.reset()

    results: dict[str, float] = {}
    if _accel.native is not None:
        fb = Fbank(cfg, impl="native")
        results["native"] = best_time(lambda: stream(fb), repeat)
    fbp = Fbank(cfg, impl="python")
    results["numpy_twin"] = best_time(lambda: stream(fbp), max(1, repeat // 2))
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

        results["kaldi_native_fbank"] = best_time(run_knf, repeat)
    except ImportError:
        pass
    rs = Resampler(48000, 16000)
    x48 = np.resize(x, int(seconds * 48000))

    def run_resample():
        for i in range(0, len(x48), 960):
            rs.feed(x48[i : i + 960])
        rs.finish()
        rs.reset()

    results["resample_48k_to_16k"] = best_time(run_resample, repeat)
    return results


if __name__ == "__main__":
    main()
