#!/usr/bin/env python3
"""Intent accuracy: our spoken-style test set, or Home Assistant's English test suite.

Our set (tests/intent/data/utterances.txt): an utterance counts as right only if the intent and every
slot are right (no slot missing, none extra); for sentences that must get no intent, only None is right.

    python -m tools.eval_intent [FILE] [--home F] [--json]

Home Assistant's suite (a checkout of home-assistant/intents, or ../shared/ha-intents): the home is
built from ``tests/en/_fixtures.yaml`` through our home model, and every test sentence of
``tests/en/*.yaml`` is parsed three ways: as written, and as a recogniser writes it (lower case,
punctuation removed) with numbers as digits and with numbers as words. Right means the suite's own rule:
the expected intent, every expected slot, no other slot (a list of expected values allows any of them).
Home Assistant's matcher (hassil over the suite's own templates and the fixtures' slot lists, with the
test's context, choosing among matches by ``recognize_best`` as Home Assistant's agent does) is timed and
scored on the same sentences in the same run.

    python -m tools.eval_intent --hass ../shared/ha-intents [--json] [--misses]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import HomeConfig, IntentConfig
from assistant.intent.grammar import recogniser_text
from assistant.intent.home import Home, load_home, parse_home
from assistant.intent.numbers import number_to_words
from assistant.intent.parser import IntentParser

DEFAULT_SET = Path(__file__).resolve().parent.parent / "tests" / "intent" / "data" / "utterances.txt"
VARIANTS = ("written", "digits", "words")


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


# ------------------------------------------------------------------------- Home Assistant's suite


@dataclass(frozen=True)
class SuiteCase:
    file: str
    text: str
    intent: str
    slots: dict[str, Any]
    context: dict[str, Any]


def _yaml(path: Path) -> Any:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def suite_dir(root: Path, language: str = "en") -> Path:
    tests = root / "tests" / language
    if not (tests / "_fixtures.yaml").is_file():
        raise FileNotFoundError(f"{root}: no tests/{language}/_fixtures.yaml (a home-assistant/intents checkout?)")
    return tests


def read_suite(root: Path, language: str = "en") -> list[SuiteCase]:
    tests = suite_dir(root, language)
    cases = []
    for path in sorted(tests.glob("*.yaml")):  # the sub-folders are slot-combination tests
        if path.name == "_fixtures.yaml":
            continue
        for test in (_yaml(path) or {}).get("tests", []):
            intent = test["intent"]
            for sentence in test.get("sentences") or []:
                cases.append(
                    SuiteCase(
                        str(path.relative_to(tests)),
                        sentence,
                        intent["name"],
                        dict(intent.get("slots") or {}),
                        dict(intent.get("context") or {}),
                    )
                )
    return cases


def _expand(name: str) -> list[str]:
    """A fixture name may be a template ("Trader Joe[']s"): its sentences, the plainest (shortest) first,
    as the name; the others are its aliases."""
    from hassil import is_template, parse_sentence, sample_expression

    if not is_template(name):
        return [name.strip()]
    names = dict.fromkeys(n.strip() for n in sample_expression(parse_sentence(name).expression))
    return sorted(names, key=len)


def home_from_fixtures(fixtures: dict[str, Any]) -> Home:
    """Home Assistant's test home (``_fixtures.yaml``) as our home file would write it."""
    floor_names = {f["id"]: _expand(f["name"]) for f in fixtures.get("floors", [])}
    area_names = {a["id"]: _expand(a["name"]) for a in fixtures.get("areas", [])}
    table: dict[str, list[dict[str, Any]]] = {
        "floor": [{"name": n[0], "aliases": n[1:]} for n in floor_names.values()],
        "area": [
            {"name": area_names[a["id"]][0], "aliases": area_names[a["id"]][1:]}
            | ({"floor": floor_names[a["floor"]][0]} if a.get("floor") else {})
            for a in fixtures.get("areas", [])
        ],
        "device": [],
    }
    for e in fixtures.get("entities", []):
        names = _expand(e["name"])
        attrs = dict(e.get("attributes") or {})
        state = e.get("state", "")
        device: dict[str, Any] = {"name": names[0], "domain": e["id"].split(".", 1)[0]}
        if names[1:]:
            device["aliases"] = names[1:]
        if e.get("area"):
            device["area"] = area_names[e["area"]][0]
        if attrs.get("device_class"):
            device["device_class"] = str(attrs.pop("device_class"))
        if attrs.get("unit_of_measurement"):
            device["unit"] = str(attrs.pop("unit_of_measurement"))
        if state:
            device["state"] = str(state["out"] if isinstance(state, dict) else state)
        attrs = {k: v for k, v in attrs.items() if isinstance(v, (str, int, float, bool))}
        if attrs:
            device["attributes"] = attrs
        table["device"].append(device)
    return parse_home(table, "_fixtures.yaml")


def _decimal_words(m: re.Match[str]) -> str:
    whole, frac = m.group(1), m.group(2)
    return f" {number_to_words(int(whole))} point {' '.join(number_to_words(int(d)) for d in frac)} "


def variant(text: str, kind: str) -> str:
    """The sentence as written, or as a recogniser writes it with numbers as digits or as words."""
    if kind == "written":
        return text
    t = recogniser_text(text)
    if kind == "words":
        t = re.sub(r"(\d+)(?:st|nd|rd|th)\b", r"\1", t)
        t = re.sub(r"(\d+)\.(\d+)", _decimal_words, t)
        t = re.sub(r"\d+", lambda m: f" {number_to_words(int(m.group()))} ", t)
        t = " ".join(t.split())
    return t


def slots_right(got: dict[str, Any], expected: dict[str, Any]) -> bool:
    """Home Assistant's rule: every slot matched is expected with that value (a list: any of it), and
    every expected slot is matched."""
    for name, value in got.items():
        want = expected.get(name)
        if want is None:
            return False
        want_set = {str(w).casefold() for w in want} if isinstance(want, list) else {str(want).casefold()}
        values = value if isinstance(value, list) else [value]
        if not all(_norm_value(v) in want_set for v in values):
            return False
    return all(name in got for name in expected)


def _norm_value(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).casefold()


def _reference(root: Path, fixtures: dict[str, Any], language: str = "en") -> tuple[Any, dict[str, Any]]:
    """hassil over the suite's own templates and slot lists, as the suite's test runs it."""
    from hassil import Intents, TextSlotList
    from hassil.util import merge_dict

    merged: dict[str, Any] = {}
    common: dict[str, Any] = {}
    for path in sorted((root / "sentences" / language).rglob("*.yaml")):
        if path.name == "_common.yaml":
            common = _yaml(path)
        else:
            merge_dict(merged, _yaml(path))
    common.setdefault("intents", {})
    merge_dict(merged, {k: v for k, v in common.items() if k != "intents"})
    intents = Intents.from_dict(merged)
    names = []
    for e in fixtures["entities"]:
        context = {"domain": e["id"].split(".", 1)[0], **(e.get("attributes") or {})}
        names.extend((n, n, context) for n in _expand(e["name"]))
    lists = {
        "area": TextSlotList.from_strings([n for a in fixtures.get("areas", []) for n in _expand(a["name"])]),
        "floor": TextSlotList.from_strings([n for f in fixtures.get("floors", []) for n in _expand(f["name"])]),
        "name": TextSlotList.from_tuples(names),
    }
    return intents, lists


def evaluate_suite(
    root: Path, with_reference: bool = True, language: str = "en", variants: tuple[str, ...] = VARIANTS
) -> dict[str, Any]:
    from hassil import recognize_best

    fixtures = _yaml(suite_dir(root, language) / "_fixtures.yaml")
    cases = read_suite(root, language)
    home = home_from_fixtures(fixtures)
    parser = IntentParser(IntentConfig(), home)
    reference = _reference(root, fixtures, language) if with_reference else None
    table: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    times: dict[str, list[float]] = {"ours": [], "hassil": []}
    misses = []
    parser.parse("warm up the number words")
    for c in cases:
        for kind in variants:
            text = variant(c.text, kind)
            t0 = time.perf_counter()
            got = parser.parse(text, area=c.context.get("area", ""))
            times["ours"].append(time.perf_counter() - t0)
            ok = got is not None and got.name == c.intent and slots_right(dict(got.slots), c.slots)
            row = table[c.intent][f"ours/{kind}"]
            row[0] += ok
            row[1] += 1
            if not ok:
                misses.append(
                    {
                        "variant": kind,
                        "text": text,
                        "file": c.file,
                        "expected": [c.intent, c.slots],
                        "got": [got.name, dict(got.slots)] if got else [None, {}],
                    }
                )
            if reference is not None:
                intents, lists = reference
                t0 = time.perf_counter()
                r = recognize_best(text, intents, slot_lists=lists, intent_context=c.context, best_slot_name="name")
                times["hassil"].append(time.perf_counter() - t0)
                ok = (
                    r is not None
                    and r.intent.name == c.intent
                    and slots_right({s.name: s.value for s in r.entities.values()}, c.slots)
                )
                row = table[c.intent][f"hassil/{kind}"]
                row[0] += ok
                row[1] += 1
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for cols in table.values():
        for col, (right, n) in cols.items():
            totals[col][0] += right
            totals[col][1] += n

    def pct(v: list[float], q: float) -> float:
        return round(1000 * statistics.quantiles(v, n=100)[int(q) - 1], 2) if len(v) > 1 else 0.0

    return {
        "suite": str(root),
        "sentences": len(cases),
        "intents": len(table),
        "accuracy": {col: round(r / max(1, n), 4) for col, (r, n) in sorted(totals.items())},
        "per_intent": {
            intent: {"n": cols[f"ours/{variants[0]}"][1],
                     **{col: round(r / n, 3) for col, (r, n) in sorted(cols.items())}}
            for intent, cols in sorted(table.items())
        },
        "parse_ms": {who: {"p50": pct(v, 50), "p95": pct(v, 95)} for who, v in times.items() if v},
        "misses": misses,
    }


def print_suite(result: dict[str, Any], show_misses: bool) -> None:
    cols = [f"{who}/{kind}" for who in ("ours", "hassil") for kind in VARIANTS if f"{who}/{kind}" in result["accuracy"]]
    print(f"Home Assistant's suite {result['suite']}: {result['sentences']} sentences, {result['intents']} intents")
    print("intent and every expected slot (the suite's rule), per variant:")
    print(f"  {'intent':30s} {'n':>5s} " + " ".join(f"{c:>15s}" for c in cols))
    for intent, row in result["per_intent"].items():
        print(f"  {intent:30s} {row['n']:5d} " + " ".join(f"{row.get(c, 0):15.1%}" for c in cols))
    print(f"  {'all':30s} {result['sentences']:5d} " + " ".join(f"{result['accuracy'][c]:15.2%}" for c in cols))
    for who, t in result["parse_ms"].items():
        print(f"parse time per sentence, {who}: p50 {t['p50']:.2f} ms, p95 {t['p95']:.2f} ms")
    if show_misses:
        for m in result["misses"]:
            print(f"  MISS [{m['variant']}] {m['text']!r} ({m['file']}): expected {m['expected']}, got {m['got']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", nargs="?", type=Path, default=DEFAULT_SET)
    ap.add_argument("--home", type=Path, default=Path(""))
    ap.add_argument("--hass", type=Path, metavar="DIR", help="run Home Assistant's suite from this checkout")
    ap.add_argument("--no-reference", action="store_true", help="do not run hassil on the suite's templates")
    ap.add_argument("--misses", action="store_true", help="print every miss")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.hass is not None:
        try:
            result = evaluate_suite(args.hass, with_reference=not args.no_reference)
        except FileNotFoundError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps(result))
        else:
            print_suite(result, args.misses)
        return 0
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
