"""assistant parse ["TEXT"] [--home F] [--area A] [--json]: the intent and slots the device hears in a
sentence; with no text, one sentence per line from standard input (one JSON object per line with --json)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from assistant.cli import JobError, add_config_flag, add_json_flag, emit
from assistant.config import load_config


def register(sub) -> None:
    p = sub.add_parser("parse", help="intent and slots of a sentence (as the recogniser would write it)")
    p.add_argument(
        "text", nargs="*", metavar="TEXT", help="the sentence; '-' or nothing reads lines from stdin"
    )
    p.add_argument("--home", metavar="FILE", help="home TOML (default: [home] path of the config)")
    p.add_argument(
        "--area", metavar="AREA", help="the area the sentence is said in (default: [home] area of the config)"
    )
    add_config_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from assistant.intent.home import load_home
    from assistant.intent.parser import IntentParser

    cfg = load_config(args.config)
    home_cfg = dataclasses.replace(cfg.home, path=Path(args.home)) if args.home else cfg.home
    if args.area is not None:
        home_cfg = dataclasses.replace(home_cfg, area=args.area)
    parser = IntentParser(cfg.intent, load_home(home_cfg), home_cfg.area)
    texts = (
        [" ".join(args.text)]
        if args.text and args.text != ["-"]
        else (line.rstrip("\n") for line in sys.stdin)
    )
    any_text = False
    for text in texts:
        if not text.strip():
            continue
        any_text = True
        intent = parser.parse(text)
        row = {
            "text": text,
            "intent": intent.name if intent else None,
            "slots": dict(intent.slots) if intent else {},
        }
        if intent and intent.unknown:
            row["unknown"] = intent.unknown
        if intent is None:
            human = f"{text!r}: no intent"
        else:
            slots = " ".join(f"{k}={v!r}" for k, v in intent.slots.items())
            human = f"{text!r}: {intent.name} {slots}" + (
                f"  (not understood: {intent.unknown!r})" if intent.unknown else ""
            )
        emit(row, args.json, human)
    if not any_text:
        raise JobError("no text given")
    return 0
