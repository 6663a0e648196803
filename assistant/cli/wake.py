"""assistant wake FILE...: the wake-word detections in audio files (and optionally the score trace)."""

from __future__ import annotations

import dataclasses
import time

from assistant.audio.io import read_audio
from assistant.cli import add_config_flag, add_json_flag, emit
from assistant.config import ConfigError, load_config
from assistant.events import to_dict
from assistant.models import ModelRegistry
from assistant.wake.detector import WakeWordModel


def register(sub) -> None:
    p = sub.add_parser("wake", help="wake-word detections in audio files")
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
    model = WakeWordModel.load(wcfg, cfg.runtime, ModelRegistry.load(cfg.models))
    stream = model.stream()
    for path in args.files:
        audio = read_audio(path, cfg.audio.sample_rate, max_s=cfg.audio.max_file_s)
        stream.reset()
        chunk = cfg.audio.sample_rate * cfg.audio.chunk_ms // 1000
        t0 = time.perf_counter()
        events = []
        for i in range(0, len(audio.samples), chunk):
            events += stream.feed(audio.samples[i : i + chunk])
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
            "mel": model.mel.implementation,
        }
        emit(
            summary,
            args.json,
            f"{path}: {len(events)} detection(s) in {audio.duration_s:.2f} s "
            f"(real-time factor {summary['real_time_factor']:.4f}, mel {model.mel.implementation})",
        )
    return 0
