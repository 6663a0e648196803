"""assistant transcribe FILE... | --list F: transcripts with per-word times and decoding time.

Engines (``[asr] engine`` by default): ``two-pass`` (streaming partials, Whisper final), ``whisper``,
``transducer`` (``--partials`` prints the partial transcripts as the audio is fed in 100 ms pieces). It runs
the device's recogniser (``assistant.asr.recognizer.Recognizer``, loaded as ``assistant run`` loads it).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from assistant.cli import JobError, add_config_flag, add_json_flag, emit
from assistant.config import load_config


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
    from assistant.app import load_recognizer
    from assistant.audio.io import AudioError, read_audio
    from assistant.config import AsrEngine

    cfg = load_config(args.config)
    asr = cfg.asr
    if args.transducer:
        d = Path(args.transducer)
        asr = dataclasses.replace(
            asr,
            transducer=dataclasses.replace(
                asr.transducer,
                model="",
                encoder=_pick(d, "encoder"),
                decoder=_pick(d, "decoder"),
                joiner=_pick(d, "joiner"),
                tokens=d / "tokens.txt",
            ),
        )
    engine = AsrEngine(args.engine) if args.engine else (AsrEngine.TRANSDUCER if args.transducer else asr.engine)
    streaming = engine is not AsrEngine.WHISPER
    if streaming and not asr.transducer.configured:
        raise JobError(
            f"engine {engine.value} needs a transducer model: [asr.transducer] in the config or --transducer DIR"
        )
    if args.partials and not streaming:
        raise JobError("--partials needs a streaming engine (--engine transducer or two-pass)")
    files = _files(args)
    # the device's recogniser: the same models, LM, hotwords and decoding settings as `assistant run`
    recognizer = load_recognizer(dataclasses.replace(cfg, asr=dataclasses.replace(asr, engine=engine)))

    failed = 0
    for path in files:
        try:
            audio = read_audio(path, cfg.audio.sample_rate, max_s=cfg.audio.max_file_s)
        except AudioError as e:
            failed += 1
            emit({"file": str(path), "error": str(e)}, args.json, f"{path}: error: {e}")
            continue

        def on_partial(partial, path=path):
            if args.partials:
                emit({"file": str(path), "partial": partial.text, "time_s": round(partial.time_s, 2)},
                     args.json, f"  ... {partial.text}")

        t0 = time.perf_counter()
        final = recognizer.transcribe(audio.samples, on_partial=on_partial)
        decode_s = time.perf_counter() - t0
        result = {"file": str(path), "engine": engine.value, "duration_s": round(audio.duration_s, 3),
                  "text": final.text, "decode_s": round(decode_s, 4),
                  "real_time_factor": round(decode_s / max(audio.duration_s, 1e-9), 4)}
        if final.words:
            result["words"] = [dataclasses.asdict(w) for w in final.words]
        if final.first_pass:
            result["streaming_text"] = final.first_pass
        if final.alternatives:
            result["nbest"] = list(final.alternatives)
        text = (
            f"{path}: {final.text}\n  {engine.value}, {audio.duration_s:.2f} s of audio decoded in "
            f"{decode_s * 1000:.0f} ms (real-time factor {result['real_time_factor']:.3f})"
        )
        if final.words:
            text += "\n  words: " + " ".join(f"{w.text}[{w.start_s:.2f}-{w.end_s:.2f}]" for w in final.words)
        emit(result, args.json, text)
    if failed:
        raise JobError(f"{failed} of {len(files)} file(s) could not be read")
    return 0
