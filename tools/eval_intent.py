#!/usr/bin/env python3
"""Intent accuracy on the hand-written test set (tests/intent/data/utterances.txt).

An utterance counts as right only if the intent and every slot are right (no slot missing, none
extra); for sentences that must get no intent, only None is right. Prints per-intent accuracy and
every miss.

    python -m tools.eval_intent [FILE] [--home F] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from assistant.config import HomeConfig, IntentConfig
from assistant.intent.home import load_home
from assistant.intent.parser import IntentParser

DEFAULT_SET = Path(__file__).resolve().parent.parent / "tests" / "intent" / "data" / "utterances.txt"


@dataclass(frozen=True)
class Case:
    text: str
    intent: str | None
    slots: dict


def read_cases(path: Path) -> list[Case]:
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3:
            raise ValueError(f"{path}:{n}: expected 'text | intent | slots'")
        text, intent, slot_text = parts
        slots = {}
        for kv in filter(None, (s.strip() for s in slot_text.split(";"))):
            k, _, v = kv.partition("=")
            slots[k.strip()] = int(v) if v.strip().lstrip("-").isdigit() else v.strip()
        cases.append(Case(text, None if intent == "None" else intent, slots))
    return cases


def evaluate(cases: list[Case], parser: IntentParser) -> dict:
    per_intent: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses = []
    for c in cases:
        got = parser.parse(c.text)
        got_intent = got.name if got else None
        got_slots = dict(got.slots) if got else {}
        ok = got_intent == c.intent and (c.intent is None or got_slots == c.slots)
        key = c.intent or "None"
        per_intent[key][0] += ok
        per_intent[key][1] += 1
        if not ok:
            misses.append({"text": c.text, "expected": [c.intent, c.slots], "got": [got_intent, got_slots]})
    right = sum(v[0] for v in per_intent.values())
    return {
        "utterances": len(cases),
        "right": right,
        "accuracy": right / max(1, len(cases)),
        "per_intent": {k: round(v[0] / v[1], 3) for k, v in sorted(per_intent.items())},
        "misses": misses,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", nargs="?", type=Path, default=DEFAULT_SET)
    ap.add_argument("--home", type=Path, default=Path(""))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    parser = IntentParser(IntentConfig(), load_home(HomeConfig(path=args.home)))
    result = evaluate(read_cases(args.file), parser)
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"intent accuracy (intent and every slot): {result['right']}/{result['utterances']} = "
        f"{result['accuracy']:.1%}"
    )
    for k, v in result["per_intent"].items():
        print(f"  {k:24s} {v:.1%}")
    for m in result["misses"]:
        print(f"  MISS {m['text']!r}: expected {m['expected']}, got {m['got']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
