"""Benchmark the always-on listening path against the openwakeword package, on the same 10 minutes.

    python -m tools.bench_listen [--minutes 10] [--chunk 1280] [--json]

The audio: real recorded speech (the Asterisk prompts and the pocketsphinx recordings, where installed)
with the demo recording ("Hey Jarvis. Set a timer ...") inserted every 40 s, so there is something to
detect; deterministic. Every pipeline gets the same chunks (80 ms by default, openWakeWord's step).

* ``openwakeword``: ``openwakeword.Model([hey_jarvis], inference_framework="onnx", vad_threshold=0.5)``,
  the package's own pipeline with its own silero VAD (and once without the VAD). It needs the package's
  dependencies (scikit-learn, tqdm, scipy, requests): ``pip install scikit-learn requests``.
* ours: the :class:`Listener` as the device runs it (wake word always; silero VAD and endpointing after
  a wake word until the utterance ends) on the same head; the listener as shipped (our own hey jarvis
  head at its candidate threshold and the second look by the recogniser's Whisper, with how many looks
  it took: another head, so its detections are not compared); then :class:`WakeStream` + a VAD stream on
  every chunk (the VAD all the time: a worst case) in the variants below, to show what each piece costs.

CPU time is ``time.process_time()`` (all threads of the process; one ONNX thread everywhere). Detections
are compared after the same rule (threshold 0.5, refractory 2 s) on both score sequences; "identical
within one frame" means the same count and every pair within one 80 ms step.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from assistant.audio.io import read_audio
from assistant.config import EndpointConfig, MelImpl, RuntimeConfig, VadConfig, VadEngine, WakeConfig
from assistant.models import ModelError, ModelRegistry
from assistant.vad.speech_prob import load_speech_prob
from assistant.wake.detector import WakeWordModel
from assistant.wake.evaluate import detection_steps

RATE = 16000
DEMO = Path(__file__).resolve().parent.parent / "assistant" / "data" / "demo.wav"
SOURCES = [Path("/usr/share/asterisk/sounds/en"), Path("/usr/share/pocketsphinx/test/data/librivox"),
           Path("/usr/share/pocketsphinx/test/data/cards")]


def bench_audio(minutes: float) -> np.ndarray:
    total = int(minutes * 60 * RATE)
    files = [p for d in SOURCES for p in sorted(d.rglob("*.wav"))]
    demo = read_audio(DEMO, RATE).samples
    speech = [read_audio(p, RATE).samples for p in files] or [np.zeros(RATE, np.float32)]
    out, n, i, next_demo = [], 0, 0, 10 * RATE
    while n < total:
        if n >= next_demo:
            clip, next_demo = demo, next_demo + 40 * RATE
        else:
            clip = speech[i % len(speech)]
            i += 1
        out.append(clip)
        out.append(np.zeros(RATE // 4, np.float32))
        n += len(clip) + RATE // 4
    return np.concatenate(out)[:total].astype(np.float32)


def run_ours(name: str, wake: WakeWordModel, vad, x: np.ndarray, chunk: int) -> dict:
    stream = wake.stream()
    vstream = vad.stream() if vad is not None else None
    scores = []
    step = wake.step_samples
    fed = 0
    t0, w0 = time.process_time(), time.perf_counter()
    for i in range(0, len(x), chunk):
        c = x[i : i + chunk]
        stream.feed(c)
        if vstream is not None:
            vstream.feed(c)
        fed += len(c)
        while len(scores) < fed // step:  # one score per step; a chunk of several steps keeps the last
            scores.append(float(stream.scores[0]))
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    return {"pipeline": name, "cpu_s": cpu, "wall_s": wall, "scores": np.array(scores, np.float32)}


def run_listener(name: str, listener, x: np.ndarray, chunk: int) -> dict:
    listener.reset()
    times = []
    t0, w0 = time.process_time(), time.perf_counter()
    for i in range(0, len(x), chunk):
        for e in listener.feed(x[i : i + chunk]):
            if e.kind == "wake-detected":
                times.append(e.time_s)
        listener.take_utterance()
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    return {"pipeline": name, "cpu_s": cpu, "wall_s": wall, "times": times}


def run_oww(name: str, model_path: Path, x: np.ndarray, chunk: int, vad_threshold: float) -> dict:
    from openwakeword.model import Model

    oww = Model(wakeword_models=[str(model_path)], inference_framework="onnx", vad_threshold=vad_threshold)
    key = next(iter(oww.models))
    pcm = np.round(x * 32768).clip(-32768, 32767).astype(np.int16)
    scores = []
    t0, w0 = time.process_time(), time.perf_counter()
    for i in range(0, len(pcm) - chunk + 1, chunk):
        scores.append(float(oww.predict(pcm[i : i + chunk])[key]))
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    return {"pipeline": name, "cpu_s": cpu, "wall_s": wall, "scores": np.array(scores, np.float32)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--chunk", type=int, default=1280, help="samples per feed (default 1280 = 80 ms)")
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true", help="tiny input, seconds: a smoke run (make test runs it)")
    args = ap.parse_args()
    if args.quick:
        args.minutes = 0.25
    reg = ModelRegistry.load()
    rt = RuntimeConfig(num_threads=1)
    x = bench_audio(args.minutes)
    seconds = len(x) / RATE
    print(f"audio: {seconds / 60:.1f} min, chunks of {args.chunk} samples", file=sys.stderr)

    from assistant.listener import Listener

    silero = load_speech_prob(VadConfig(engine=VadEngine.SILERO), rt, reg)
    gated = load_speech_prob(VadConfig(engine=VadEngine.GATED), rt, reg)
    # the openwakeword package's head, so both sides run the same weights
    base = WakeConfig(models=("wake/hey_jarvis",), threshold=args.threshold)
    variants = [
        ("ours: onnx mel, fp32 embedding streamed, silero", dataclasses.replace(base, mel=MelImpl.ONNX), silero),
        ("ours: native mel, fp32 embedding streamed, silero", dataclasses.replace(base, mel=MelImpl.AUTO), silero),
        ("ours: native mel, fp32 embedding streamed, gated silero", dataclasses.replace(base, mel=MelImpl.AUTO),
         gated),
        ("ours: native mel, fp32 embedding streamed, no VAD", dataclasses.replace(base, mel=MelImpl.AUTO), None),
        ("ours: native mel, fp32 embedding windowed (openWakeWord's way), no VAD",
         dataclasses.replace(base, mel=MelImpl.AUTO, embedding_stream=False), None),
    ]
    try:
        int8 = reg.path("wake/embedding.int8")
        variants.append(("ours: native mel, int8 embedding (windowed), gated silero",
                         dataclasses.replace(base, embedding=str(int8)), gated))
    except ModelError as e:
        print(f"int8 embedding unavailable ({e}); run: assistant models prepare", file=sys.stderr)
    results = []
    try:
        import openwakeword.model  # noqa: F401

        results.append(run_oww("openwakeword 0.5.1 + its VAD", reg.path("wake/hey_jarvis"), x, args.chunk, 0.5))
        results.append(run_oww("openwakeword 0.5.1, no VAD", reg.path("wake/hey_jarvis"), x, args.chunk, 0.0))
    except ImportError as e:
        print(f"openwakeword's pipeline cannot run ({e}); pip install scikit-learn requests", file=sys.stderr)
    listener = Listener.load(base, VadConfig(), EndpointConfig(), rt, reg)
    mel = listener.wake.models[0].mel.implementation
    results.append(run_listener(f"ours: listener (wake; silero VAD after it), {mel} mel", listener, x, args.chunk))
    # what the device ships: its own head at its candidate threshold and the second look by the
    # recogniser's Whisper ([wake.confirm]); another head, so its detections are not compared
    from assistant.asr.whisper import WhisperModel
    from assistant.config import WhisperConfig

    shipped = Listener.load(WakeConfig(), VadConfig(), EndpointConfig(), rt, reg,
                            WhisperModel.load(WhisperConfig(), rt, reg))
    heads = ", ".join(WakeConfig().models)
    r = run_listener(f"ours: listener as shipped ({heads} + second look)", shipped, x, args.chunk)
    r["looks"] = shipped._wake_stream.looks
    results.append({**r, "compare": False})
    for name, wcfg, vad in variants:
        model = WakeWordModel.load(wcfg, rt, reg)
        label = name.replace("native mel", f"{model.mel.implementation} mel")
        results.append(run_ours(label, model, vad, x, args.chunk))

    ref = results[0] if results and results[0]["pipeline"].startswith("openwakeword") else None
    step_s = 0.08
    refractory = int(round(2.0 / step_s))
    ref_hits = detection_steps(ref["scores"], args.threshold, refractory) if ref else None
    for r in results:
        if "times" in r:  # the listener: its own events (steps end at (i + 1) * 80 ms)
            hits = [int(round(t / step_s)) - 1 for t in r["times"]]
        else:
            hits = detection_steps(r["scores"], args.threshold, refractory)
        row = {
            "pipeline": r["pipeline"],
            "cpu_s": round(r["cpu_s"], 3),
            "real_time_factor": round(r["cpu_s"] / seconds, 5),
            "detections": len(hits),
        }
        if "looks" in r:
            row["second_looks"] = r["looks"]
        if ref:
            row["cpu_vs_openwakeword"] = round(r["cpu_s"] / ref["cpu_s"], 3)
            if "scores" in r:
                n = min(len(r["scores"]), len(ref["scores"]))
                skip = 25  # openWakeWord starts from random noise: compare after 2 s
                row["max_score_diff_vs_openwakeword"] = round(
                    float(np.abs(r["scores"][skip:n] - ref["scores"][skip:n]).max()), 4)
            row["detections_within_one_frame"] = None if r.get("compare") is False else len(hits) == len(
                ref_hits) and all(abs(a - b) <= 1 for a, b in zip(hits, ref_hits, strict=True))
        if args.json:
            print(json.dumps(row))
        else:
            same = row.get("detections_within_one_frame")
            extra = (f"  x{row['cpu_vs_openwakeword']:.2f} of openwakeword's CPU; detections same within one "
                     f"frame: {'not compared' if same is None else same}" if ref else "")
            if "second_looks" in row:
                extra += f"; {row['second_looks']} second looks"
            print(f"{row['pipeline']:<52} CPU {row['cpu_s']:7.2f} s  RTF {row['real_time_factor']:.4f}  "
                  f"{row['detections']} detections{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
