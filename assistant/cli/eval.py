"""assistant eval wake: recall, false accepts per hour and the DET curve of wake-word heads, and of the
whole wake stage with its second look (``[wake.confirm]``) at its operating point."""

from __future__ import annotations

import sys
from pathlib import Path

from assistant.cli import JobError, add_config_flag, add_json_flag, emit
from assistant.cli.wake import wake_config
from assistant.config import load_config
from assistant.models import ModelRegistry
from assistant.wake.evaluate import audio_files, engine_breakdown, evaluate, evaluate_confirmed, plot_det
from assistant.wake.wakeset import WakeSet


def register(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a stage on a corpus")
    what = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    w = what.add_parser("wake", help="wake words: recall, false accepts per hour, DET curve")
    w.add_argument(
        "--positives", required=True, type=Path, metavar="DIR", help="clips that each hold the wake word"
    )
    w.add_argument(
        "--negatives",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="real speech without it, played back to back: false accepts per hour (repeatable)",
    )
    w.add_argument(
        "--hard-negatives",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="clips that sound like the wake word, scored one by one: share accepted (repeatable)",
    )
    w.add_argument(
        "--model", action="append", metavar="NAME", help="head(s) to evaluate (default: [wake] models)"
    )
    w.add_argument("--threshold", type=float, help="override [wake] threshold")
    w.add_argument("--plot", type=Path, metavar="PNG", help="draw the DET curve here")
    w.add_argument("--heads-only", action="store_true",
                   help="only the heads' threshold sweep, not the wake stage with its second look")
    w.add_argument("--no-progress", action="store_true")
    add_config_flag(w)
    add_json_flag(w)
    w.set_defaults(func=run_wake)


def run_wake(args) -> int:
    from assistant.app import wake_confirm_model

    cfg = load_config(args.config)
    registry = ModelRegistry.load(cfg.models)
    wcfg = wake_config(cfg, args.model, args.threshold)
    wake = WakeSet.load(wcfg, cfg.runtime, registry)
    progress = None
    if not args.no_progress and sys.stderr.isatty():
        from tqdm import tqdm

        def progress(it, **kw):
            return tqdm(it, file=sys.stderr, leave=False, **kw)

    results = [  # each kind of head (openWakeWord format, microWakeWord) on its own step
        r
        for model in wake.models
        for r in evaluate(
            model,
            args.positives,
            args.negatives,
            cfg.audio.sample_rate,
            cfg.audio.max_file_s,
            progress,
            args.hard_negatives,
        )
    ]
    files = audio_files(args.positives)
    for r in results:
        s = r.summary()
        engines = engine_breakdown(r, args.positives, files)
        if engines:
            s["recall_by_engine"] = engines
        if args.json and r.hours > 0:
            s["det"] = [[t, round(miss, 4), round(fa, 3)] for t, miss, fa in r.det()]
        best = s.get("best_threshold_at_0.5_fa_per_hour")
        text = (
            f"{r.name}: threshold {r.threshold:g}, patience {r.patience_frames}: recall "
            f"{s['recall']:.1%} of {s['positives']} positives"
        )
        if s["false_accepts_per_hour"] is not None:
            text += (
                f"; {s['false_accepts']} false accepts in {s['negative_hours'] * 60:.1f} min of negatives "
                f"= {s['false_accepts_per_hour']:.2f} per hour"
            )
        for k, v in s["negatives"].items():
            text += f"\n  {k}: {v['false_accepts']} in {v['hours'] * 60:.1f} min"
        for k, v in s.get("hard_negatives", {}).items():
            text += f"\n  hard negatives {k}: {v['accepted']} of {v['clips']} accepted"
        if engines:
            text += "\n  recall by engine: " + ", ".join(
                f"{e} {v['recall']:.1%} ({v['clips']})" for e, v in engines.items()
            )
        if best:
            text += (
                f"\n  best threshold at <= 0.5 false accepts/hour: {best['threshold']:g} "
                f"(recall {best['recall']:.1%})"
            )
        emit(s, args.json, text)
    if cfg.wake.confirm.enabled and not args.heads_only:
        staged = WakeSet.load(wcfg, cfg.runtime, registry, wake_confirm_model(cfg, registry))
        for r in evaluate_confirmed(staged, args.positives, args.negatives, cfg.audio.sample_rate,
                                    cfg.audio.max_file_s, progress, args.hard_negatives):
            s = r.summary()
            text = (f"{r.name} with the second look (candidates at {r.candidate_threshold:g}, Whisper at >= "
                    f"{r.min_logprob:g}): recall {s['recall']:.1%} (candidates {s['candidate_recall']:.1%})")
            if s["false_accepts_per_hour"] is not None:
                text += (f"; {s['false_accepts']} false accepts in {s['negative_hours'] * 60:.1f} min = "
                         f"{s['false_accepts_per_hour']:.2f} per hour ({s['candidates_per_hour']:g} candidates an "
                         f"hour, {s['second_look_cpu_ms']} ms each)")
            for k, v in s.get("hard_negatives", {}).items():
                text += f"\n  hard negatives {k}: {v['accepted']} of {v['clips']} accepted"
            emit({"type": "wake-stage", **s}, args.json, text)
    if args.plot and not args.negatives:
        raise JobError("--plot needs --negatives (false accepts per hour are its x axis)")
    if args.plot:
        try:
            path = plot_det(results, args.plot)
        except RuntimeError as e:
            raise JobError(str(e)) from None
        emit({"type": "plot", "path": str(path)}, args.json, f"DET curve: {path}")
    return 0
