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
    p.add_argument("--segment", choices=["auto", "on", "off"], default="auto",
                   help="cut each file into utterances as the device's listener does (auto: files longer "
                        "than [endpoint] max_utterance_s); one result per utterance")
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
    listener = None

    failed = 0
    for path in files:
        try:
            audio = read_audio(path, cfg.audio.sample_rate, max_s=cfg.audio.max_file_s)
        except AudioError as e:
            failed += 1
            emit({"file": str(path), "error": str(e)}, args.json, f"{path}: error: {e}")
            continue

        long = audio.duration_s > cfg.endpoint.max_utterance_s
        if args.segment == "on" or (args.segment == "auto" and long):
            if listener is None:
                listener = _load_listener(cfg)
            pieces = utterances(listener, audio.samples, cfg.audio.sample_rate)
        else:
            pieces = [(0.0, audio.samples)]
        for start_s, samples in pieces:
            _transcribe_one(args, recognizer, engine, path, samples, start_s, len(pieces) > 1 or start_s > 0)
    if failed:
        raise JobError(f"{failed} of {len(files)} file(s) could not be read")
    return 0


def _load_listener(cfg):
    from assistant.listener import Listener
    from assistant.models import ModelRegistry

    return Listener.load(cfg.wake, cfg.vad, cfg.endpoint, cfg.runtime, ModelRegistry.load(cfg.models))


def utterances(listener, samples, sample_rate: int) -> list[tuple[float, object]]:
    """``samples`` cut into utterances as the device's listener cuts them (voice activity, the end of
    speech rules, ``max_utterance_s``), without a wake word: ``(start_s, samples)`` each, pre-roll
    included, in order."""
    from assistant.events import SpeechEnded

    out = []
    step = sample_rate // 10
    listener.reset()
    listener.listen()

    def take(events) -> None:
        for event in events:
            if isinstance(event, SpeechEnded):
                utterance = listener.take_utterance()
                if event.reason != "leading-silence" and utterance is not None and len(utterance):
                    out.append((max(0.0, event.time_s - len(utterance) / sample_rate), utterance))
                listener.listen()

    for i in range(0, len(samples), step):
        take(listener.feed(samples[i : i + step]))
    take(listener.finish())
    listener.reset()
    return out


def _transcribe_one(args, recognizer, engine, path: Path, samples, start_s: float, segmented: bool) -> None:
    def on_partial(partial):
        if args.partials:
            emit({"file": str(path), "partial": partial.text, "time_s": round(start_s + partial.time_s, 2)},
                 args.json, f"  ... {partial.text}")

    duration_s = len(samples) / recognizer.sample_rate
    t0 = time.perf_counter()
    final = recognizer.transcribe(samples, on_partial=on_partial)
    decode_s = time.perf_counter() - t0
    result = {"file": str(path), "engine": engine.value, "duration_s": round(duration_s, 3),
              "text": final.text, "decode_s": round(decode_s, 4),
              "real_time_factor": round(decode_s / max(duration_s, 1e-9), 4)}
    if segmented:
        result["start_s"] = round(start_s, 3)
    if final.first_pass:
        result["streaming_text"] = final.first_pass
    if final.words:
        result["words"] = [dataclasses.asdict(w) for w in final.words]
    if final.alternatives:
        result["nbest"] = list(final.alternatives)
    where = f" [{start_s:.2f} s]" if segmented else ""
    text = (
        f"{path}{where}: {final.text}\n  {engine.value}, {duration_s:.2f} s of audio decoded in "
        f"{decode_s * 1000:.0f} ms (real-time factor {result['real_time_factor']:.3f})"
    )
    if final.words:
        text += "\n  words: " + " ".join(f"{w.text}[{w.start_s:.2f}-{w.end_s:.2f}]" for w in final.words)
    emit(result, args.json, text)
