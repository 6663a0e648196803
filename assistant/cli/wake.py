"""assistant wake FILE...: the wake-word detections in audio files.

assistant wake train "PHRASE" -o DIR: train a head for a new wake phrase (assistant/wake/train/).
assistant wake enroll --phrase NAME [WAV...] -o DIR: fit a per-user verifier behind a head.
assistant wake calibrate [--model NAME...]: the second look's operating point for heads
    (assistant/wake/train/calibrate.py).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from assistant.audio.io import read_audio
from assistant.cli import JobError, add_config_flag, add_json_flag, emit
from assistant.config import ConfigError, load_config
from assistant.events import to_dict
from assistant.models import ModelRegistry
from assistant.wake.detector import WakeWordModel
from assistant.wake.wakeset import WakeSet

VERBS = {("wake", "train"): "wake-train", ("wake", "enroll"): "wake-enroll",
         ("wake", "calibrate"): "wake-calibrate"}
"""``assistant wake train`` and ``assistant wake enroll`` (``assistant wake FILE`` stays as it was)"""


def register(sub) -> None:
    p = sub.add_parser(
        "wake",
        help="wake-word detections in audio files (also: wake train, wake enroll)",
        description="Wake-word detections in audio files. Also: `assistant wake train PHRASE -o DIR` "
        "trains a head; `assistant wake enroll --phrase NAME WAV... -o DIR` fits a per-user verifier.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument(
        "--model",
        action="append",
        metavar="NAME",
        help="wake-word head (manifest name or .onnx path); repeat for several (default: [wake] models)",
    )
    p.add_argument("--threshold", type=float, help="override [wake] threshold")
    add_config_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)
    register_train(sub)
    register_enroll(sub)
    register_calibrate(sub)


def register_train(sub) -> None:
    p = sub.add_parser(
        "wake-train",
        prog="assistant wake train",
        help="train a wake-word head for a phrase (same as `wake train`)",
        description="Train a wake-word head (Apache-2.0) for PHRASE from synthetic speech, on a front end "
        "the listener uses: openWakeWord's (its head format) or microWakeWord's (--arch micro: the streaming "
        "contract of converted microWakeWord models, a fraction of the CPU). Writes DIR/head.onnx, "
        "report.json, det.png and manifest.toml.",
    )
    p.add_argument("phrase", metavar="PHRASE", help='the wake phrase in English letters, e.g. "hey mycroft"')
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="folder for the head and its report")
    p.add_argument("--quick", action="store_true", help="seconds, not minutes: tiny data (tests, CI)")
    p.add_argument("--arch", choices=("openwakeword", "micro"), default="openwakeword",
                   help="the front end the head reads and its format (default openwakeword)")
    p.add_argument("--no-spec-augment", action="store_true",
                   help="--arch micro: train on the windows as they are (no channel shifts or masks)")
    p.add_argument("--utterances", type=int, help="positive utterances synthesised (default 700)")
    p.add_argument("--steps", type=int, help="training steps (default 1500)")
    p.add_argument("--target-fa-per-hour", type=float, default=0.5,
                   help="false accepts an hour on the validation negatives the threshold is set for")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime threads (default 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_json_flag(p)
    p.set_defaults(func=run_train, command="wake train")


def register_calibrate(sub) -> None:
    p = sub.add_parser(
        "wake-calibrate",
        prog="assistant wake calibrate",
        help="set the second look's operating point for wake-word heads (same as `wake calibrate`)",
        description="Measure, on negatives that are not the evaluation's (other languages' prompts, augmented "
        "English sentences in the training voices), each head's candidate threshold and the Whisper score its "
        "candidates need ([wake.confirm]); prints each head's manifest `decoding` settings.",
    )
    p.add_argument("--model", action="append", metavar="NAME", help="head(s) (default: [wake] models)")
    p.add_argument("--phrase", action="append", metavar="TEXT",
                   help="what each --model says, in order (default: its name read as words)")
    p.add_argument("--minutes", type=float, default=12.0, help="minutes of negatives (default 12)")
    p.add_argument("--candidates-per-hour", type=float, default=200.0, help="the second look's budget")
    p.add_argument("--false-accepts-per-hour", type=float, default=0.5,
                   help="the target the Whisper score is set for (default 0.5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    add_config_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run_calibrate, command="wake calibrate")


def run_calibrate(args) -> int:
    import sys

    from assistant.asr.whisper import WhisperModel
    from assistant.wake.detector import delay_of, phrase_of, word_name
    from assistant.wake.micro import head_name, is_micro_name
    from assistant.wake.train.calibrate import calibrate, negative_audio

    cfg = load_config(args.config)
    models = args.model or list(cfg.wake.models)
    if args.phrase and len(args.phrase) != len(models):
        raise JobError(f"--phrase given {len(args.phrase)} times for {len(models)} model(s)")
    if args.minutes <= 0 or args.candidates_per_hour <= 0 or args.false_accepts_per_hour < 0:
        raise JobError("--minutes and --candidates-per-hour must be > 0, --false-accepts-per-hour >= 0")
    wcfg = wake_config(cfg, models)
    registry = ModelRegistry.load(cfg.models)
    wake = WakeSet.load(dataclasses.replace(wcfg, stop_model=""), cfg.runtime, registry)  # the heads alone
    whisper = WhisperModel.load(cfg.asr.whisper, cfg.runtime, registry)  # whether [wake.confirm] is on or not
    progress = None
    if not args.no_progress and sys.stderr.isatty():
        from tqdm import tqdm

        def progress(it, **kw):
            return tqdm(it, file=sys.stderr, leave=False, **kw)

    phrases = args.phrase or [phrase_of(wcfg, m) for m in models]
    audio = negative_audio(args.minutes, args.seed, progress, phrases)
    if audio.size == 0:
        raise JobError("no negatives: install asterisk-core-sounds-{fr,es,it,ru}-wav or espeak-ng")
    heard_as = {m: head_name(m, registry) if is_micro_name(m, registry) else word_name(m) for m in models}
    said = {heard_as[m]: p for m, p in zip(models, phrases, strict=True)}
    delays = {heard_as[m]: delay_of(wcfg, m, registry) for m in models}
    names = [h.name for h in wake.heads]  # the kinds load apart: heads are not in the order of --model
    for c in calibrate(wake, whisper, names, [said[n] for n in names], audio, wcfg.confirm, delays=delays,
                       candidates_per_hour=args.candidates_per_hour,
                       false_accepts_per_hour=args.false_accepts_per_hour, progress=progress):
        emit(c.to_dict(), args.json,
             f"{c.name} ({c.phrase!r}): decoding = {{ ..., {c.decoding} }}  ({c.candidates_per_hour:g} candidates "
             f"an hour on {c.negative_minutes:g} min of negatives, {c.windows} windows; expected false accepts "
             f"{c.false_accepts_per_hour:g} an hour)")
    return 0


def register_enroll(sub) -> None:
    p = sub.add_parser(
        "wake-enroll",
        prog="assistant wake enroll",
        help="fit a per-user verifier behind a wake word (same as `wake enroll`)",
        description="Fit a small verifier (logistic regression on the embeddings) from a user's own "
        "utterances of a wake word; it is consulted after the head fires. Without WAV files it records "
        "from the microphone.",
    )
    p.add_argument("files", nargs="*", metavar="WAV", help="the user saying the wake phrase (3 or more)")
    p.add_argument("--phrase", required=True, metavar="NAME",
                   help="the head in [wake] models the verifier sits behind (e.g. wake/hey_jarvis)")
    p.add_argument("-o", "--out", required=True, metavar="DIR")
    p.add_argument("--negatives", nargs="*", default=[], metavar="WAV",
                   help="the same user saying other things (optional; sharpens the verifier)")
    p.add_argument("--record", type=int, default=5, metavar="N",
                   help="utterances to record when no WAV is given (default 5)")
    p.add_argument("--seconds", type=float, default=2.5, help="length of each recording")
    add_config_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run_enroll, command="wake enroll")


def run_train(args) -> int:
    import sys

    from assistant.wake.train.phrases import PhraseError, normalise
    from assistant.wake.train.train import TrainOptions, train

    try:
        normalise(args.phrase)
    except PhraseError as e:
        print(f"assistant wake train: error: {e}", file=sys.stderr)
        return 2
    for key in ("utterances", "steps", "threads"):
        v = getattr(args, key)
        if v is not None and v < 1:
            print(f"assistant wake train: error: --{key} must be >= 1, got {v}", file=sys.stderr)
            return 2
    if not 0 < args.target_fa_per_hour < 100:
        print("assistant wake train: error: --target-fa-per-hour must be in (0, 100)", file=sys.stderr)
        return 2
    kw = {k: getattr(args, k) for k in ("utterances", "steps") if getattr(args, k) is not None}
    kw.update(target_fa_per_hour=args.target_fa_per_hour, threads=args.threads, seed=args.seed, arch=args.arch,
              spec_augment=not args.no_spec_augment)
    out = Path(args.out)
    opts = TrainOptions.quick_options(args.phrase, out, **kw) if args.quick else TrainOptions(args.phrase, out, **kw)

    def log(msg: str) -> None:
        if not args.json:
            print(msg, file=sys.stderr, flush=True)

    try:
        report = train(opts, progress=not (args.no_progress or args.json), log=log)
    except RuntimeError as e:
        raise JobError(str(e)) from None
    emit(
        report.to_dict(),
        args.json,
        f"{report.phrase}: {report.head}\n"
        f"  threshold {report.threshold} for <= {report.target_fa_per_hour} false accepts/h on "
        f"{report.validation_negative_hours * 60:.0f} min of validation negatives "
        f"({report.validation_fa_per_hour}/h)\n"
        f"  validation recall {report.validation_recall:.1%} on {report.validation_positives} clips; "
        f"confusable phrases accepted {report.validation_confusable_accept_rate:.1%}\n"
        + (f"  second look: candidates at {report.confirm['confirm_threshold']:g}, Whisper at >= "
           f"{report.confirm['confirm_min_logprob']:g} ([wake.confirm])\n" if report.confirm else "")
        + f"  {report.elapsed_s / 60:.1f} min ({report.machine}); DET curve {report.files.get('det', '-')}; "
        f"manifest entry {report.files['manifest']}",
    )
    return 0


def run_enroll(args) -> int:
    import sys

    from assistant.wake.train.verifier import EnrollError, enroll, record_clips

    cfg = load_config(args.config)
    try:
        files = [Path(f) for f in args.files]
        if not files:
            files = record_clips(cfg.audio, args.record, args.seconds, Path(args.out), args.phrase)
        result = enroll(cfg, args.phrase, files, [Path(f) for f in args.negatives], Path(args.out))
    except EnrollError as e:
        print(f"assistant wake enroll: error: {e}", file=sys.stderr)
        return 2
    emit(
        result.to_dict(),
        args.json,
        f"verifier for {result.phrase}: {result.verifier}\n"
        f"  {result.positives} positive windows from {result.clips} clips, {result.negatives} negative windows; "
        f"training accuracy: positives {result.positive_accept:.0%} accepted, negatives "
        f"{result.negative_reject:.1%} rejected\n"
        f"  add to the config:\n{result.config_snippet}",
    )
    return 0


def wake_config(cfg, models=None, threshold=None):
    """The [wake] section with command-line overrides (validated like the file)."""
    try:
        kw = {}
        if models:
            kw["models"] = tuple(models)
            kw["words"] = {k: v for k, v in cfg.wake.words.items() if k in models}
        if threshold is not None:
            kw["threshold"] = threshold
        return dataclasses.replace(cfg.wake, **kw)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(f"wake: {e}") from None


def run(args) -> int:
    cfg = load_config(args.config)
    wcfg = wake_config(cfg, args.model, args.threshold)
    from assistant.app import wake_confirm_model

    registry = ModelRegistry.load(cfg.models)
    # openWakeWord and micro heads, with the second look where [wake.confirm] is on: as the device hears
    model = WakeSet.load(wcfg, cfg.runtime, registry, wake_confirm_model(cfg, registry))
    mel = next((m.mel.implementation for m in model.models if isinstance(m, WakeWordModel)), "none")
    stream = model.stream()
    for path in args.files:
        audio = read_audio(path, cfg.audio.sample_rate, max_s=cfg.audio.max_file_s)
        stream.reset()
        chunk = cfg.audio.sample_rate * cfg.audio.chunk_ms // 1000
        t0 = time.perf_counter()
        events = []
        for i in range(0, len(audio.samples), chunk):
            events += stream.feed(audio.samples[i : i + chunk])
        events += stream.finish()  # a wake word at the very end still gets its second look
        elapsed = time.perf_counter() - t0
        for e in events:
            emit(
                {"file": str(path), **to_dict(e)},
                args.json,
                f"{path}: {e.name} at {e.time_s:.2f} s (score {e.score:.3f})",
            )
        summary = {
            "file": str(path),
            "type": "summary",
            "detections": len(events),
            "duration_s": round(audio.duration_s, 3),
            "real_time_factor": round(elapsed / audio.duration_s, 5),
            "models": [h.name for h in model.heads],
            "mel": mel,
        }
        emit(
            summary,
            args.json,
            f"{path}: {len(events)} detection(s) in {audio.duration_s:.2f} s "
            f"(real-time factor {summary['real_time_factor']:.4f}, mel {mel})",
        )
    return 0
