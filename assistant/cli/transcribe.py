"""assistant transcribe FILE... | --list F: transcripts with per-word times and decoding time.

Engines: ``whisper`` (the accurate default), ``transducer`` (streaming; ``--partials`` prints the partial
transcripts as the audio is fed in 100 ms pieces), ``two-pass`` (streaming partials, Whisper final).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from assistant.cli import JobError, add_config_flag, add_json_flag, emit
from assistant.config import AsrEngine, load_config

FEED_MS = 100


def register(sub) -> None:
    p = sub.add_parser("transcribe", help="transcribe audio files (per-word times, decoding time)")
    p.add_argument("files", nargs="*", metavar="FILE")
    p.add_argument("--list", metavar="F", help="a file naming one audio file per line")
    p.add_argument("--engine", choices=["whisper", "transducer", "two-pass"], help="default: [asr] engine")
    p.add_argument(
        "--transducer",
        metavar="DIR",
        help="a sherpa-onnx transducer folder (encoder*.onnx, decoder*.onnx, joiner*.onnx, tokens.txt)",
    )
    p.add_argument(
        "--partials", action="store_true", help="also print partial transcripts (streaming engines)"
    )
    add_config_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)


def _pick(folder: Path, role: str) -> Path:
    found = sorted(folder.glob(f"{role}*.onnx"))
    if not found:
        raise JobError(f"{folder}: no {role}*.onnx")
    int8 = [f for f in found if ".int8." in f.name]
    return (int8 or found)[0]


def _files(args) -> list[Path]:
    files = [Path(f) for f in args.files]
    if args.list:
        try:
            lines = Path(args.list).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise JobError(f"--list {args.list}: {e}") from None
        base = Path(args.list).parent
        for line in lines:
            line = line.strip()
            if line and not line.startswith("#"):
                p = Path(line.split()[0])
                files.append(p if p.is_absolute() or p.exists() else base / p)
    if not files:
        raise JobError("no audio files given (FILE... or --list F)")
    return files


def run(args) -> int:
    from assistant.audio.io import AudioError, read_audio

    cfg = load_config(args.config)
    asr = cfg.asr
    if args.transducer:
        d = Path(args.transducer)
        asr = dataclasses.replace(
            asr,
            transducer=dataclasses.replace(
                asr.transducer,
                encoder=_pick(d, "encoder"),
                decoder=_pick(d, "decoder"),
                joiner=_pick(d, "joiner"),
                tokens=d / "tokens.txt",
            ),
        )
    engine = args.engine or (asr.engine.value if not args.transducer else "transducer")
    streaming = engine in ("transducer", "two-pass")
    if streaming and not asr.transducer.configured:
        raise JobError(
            f"engine {engine} needs a transducer model: [asr.transducer] in the config or --transducer DIR"
        )
    if args.partials and not streaming:
        raise JobError("--partials needs a streaming engine (--engine transducer or two-pass)")
    files = _files(args)

    from assistant.cli.run import asr_word_lm, load_transducer
    from assistant.models import ModelRegistry

    cfg = dataclasses.replace(cfg, asr=asr)
    registry = ModelRegistry.load(cfg.models)
    use_whisper = engine in ("whisper", "two-pass") or asr.engine is AsrEngine.WHISPER and engine == "whisper"
    lm = asr_word_lm(cfg, registry, whisper=use_whisper, transducer=streaming)  # ranked and fused as the pipeline does
    transducer = whisper = None
    if streaming:
        transducer = load_transducer(cfg, registry, lm)
    if use_whisper:
        from assistant.asr.whisper import WhisperModel, second_pass, with_first_pass

        whisper_cfg = with_first_pass(asr.whisper, asr.transducer if streaming else None, registry)
        whisper = WhisperModel.load(whisper_cfg, cfg.runtime, registry)

    failed = 0
    for path in files:
        try:
            audio = read_audio(path, cfg.audio.sample_rate, max_s=cfg.audio.max_file_s)
        except AudioError as e:
            failed += 1
            emit({"file": str(path), "error": str(e)}, args.json, f"{path}: error: {e}")
            continue
        result = {"file": str(path), "engine": engine, "duration_s": round(audio.duration_s, 3)}
        words = []
        if transducer is not None:
            from assistant.frontend.fbank import Fbank

            t0 = time.perf_counter()
            fbank = Fbank(transducer.feature_config, cfg.audio.sample_rate)
            stream = transducer.stream()
            step = cfg.audio.sample_rate * FEED_MS // 1000
            for i in range(0, len(audio.samples), step):
                for partial in stream.feed(fbank.feed(audio.samples[i : i + step])):
                    if args.partials:
                        emit(
                            {"file": str(path), "partial": partial.text, "time_s": round(partial.time_s, 2)},
                            args.json,
                            f"  ... {partial.text}",
                        )
            stream.feed(fbank.finish())
            hyps = stream.finish()
            result["streaming_decode_s"] = round(time.perf_counter() - t0, 4)
            result["text"] = hyps[0].text
            words = [dataclasses.asdict(w) for w in stream.words(hyps[0])]
            result["words"] = words
        if whisper is not None:
            t0 = time.perf_counter()
            hyps = second_pass(whisper, audio.samples, lm, result.get("text", ""))
            result["decode_s"] = round(time.perf_counter() - t0, 4)
            if transducer is not None:
                result["streaming_text"] = result["text"]
            result["text"] = hyps[0].text
            result["nbest"] = [h.text for h in hyps[1:]]
        else:
            result["decode_s"] = result["streaming_decode_s"]
        result["real_time_factor"] = round(result["decode_s"] / max(audio.duration_s, 1e-9), 4)
        text = (
            f"{path}: {result['text']}\n  {engine}, {audio.duration_s:.2f} s of audio decoded in "
            f"{result['decode_s'] * 1000:.0f} ms (real-time factor {result['real_time_factor']:.3f})"
        )
        if words:
            text += "\n  words: " + " ".join(
                f"{w['text']}[{w['start_s']:.2f}-{w['end_s']:.2f}]" for w in words
            )
        emit(result, args.json, text)
    if failed:
        raise JobError(f"{failed} of {len(files)} file(s) could not be read")
    return 0
