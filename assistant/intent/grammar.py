"""Home Assistant's sentence grammar, matched by Home Assistant's own matcher, over this home's names.

The templates are Home Assistant's English sentences as the ``home-assistant-intents`` package ships them
(generated from the home-assistant/intents repository; credit below), matched by ``hassil``, the matcher
Home Assistant itself runs. The home supplies the slot lists: ``{name}`` (every device and alias, with
its domain and device class as the context the templates ask for), ``{area}`` and ``{floor}``. The
device's own area is the context for "in here" and for requests that name no place.

This is the parser's first reading; :mod:`assistant.intent.parser` falls back to its own templates for
what a recogniser writes and Home Assistant's grammar does not accept (misheard names, numbers run
together, fillers).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from dataclasses import dataclass
from typing import Any

from assistant.intent.home import Home
from assistant.intent.numbers import number_to_words, words_to_digits

__all__ = ["CREDIT", "GrammarMatch", "HassGrammar", "load_intents", "slot_lists", "recogniser_text"]

_LOGGER = logging.getLogger(__name__)

CREDIT = (
    "Sentence templates: Home Assistant intents, home-assistant/intents, CC BY 4.0 "
    "(the home-assistant-intents package); matcher: hassil (Apache-2.0)"
)

# Home Assistant's intents the pinned package lacks, in hassil's syntax: the shopping list's "complete"
# intent, as home-assistant/intents' English templates write it (CC BY 4.0).
_SUPPLEMENT: dict[str, Any] = {
    "HassShoppingListCompleteItem": {
        "data": [
            {
                "sentences": [
                    "(check|complete|delete|remove) (off;<item>) (from|on|in) <my_list>",
                    "(check|complete|delete|remove) <item> (off|from|on|in) <my_list>",
                ],
                "response": "item_completed",
                "expansion_rules": {"my_list": "[my|the] [shopping] list", "item": "{shopping_list_item:item}"},
            }
        ]
    },
}


@functools.lru_cache(maxsize=4)
def load_intents(language: str = "en") -> Any:
    """Home Assistant's templates for ``language`` as one hassil ``Intents`` (read once per process)."""
    from hassil import Intents
    from home_assistant_intents import get_intents

    data = get_intents(language)
    if data is None:
        raise ValueError(f"home-assistant-intents has no sentences for language {language!r}")
    data = dict(data)
    intents = dict(data["intents"])
    if language == "en":
        for name, body in _SUPPLEMENT.items():
            intents.setdefault(name, body)
    data["intents"] = intents
    return Intents.from_dict(data)


def slot_lists(home: Home) -> dict[str, Any]:
    """The home as hassil slot lists: ``name`` (with domain and device class), ``area``, ``floor``."""
    from hassil.expression import TextChunk
    from hassil.intents import TextSlotList, TextSlotValue

    def text_list(rows: list[tuple[str, str, dict[str, Any] | None]]) -> TextSlotList:
        values = [
            TextSlotValue(TextChunk(_slot_text(text_in)), value_out, context)
            for text_in, value_out, context in rows
            if _slot_text(text_in)
        ]
        return TextSlotList(name="", values=values)

    names: list[tuple[str, str, dict[str, Any] | None]] = []
    for d in home.devices:
        context: dict[str, Any] = {"domain": d.domain}
        if d.device_class:
            context["device_class"] = d.device_class
        spoken = (n for n in (d.name, *d.aliases) if re.search(r"\d", n))
        names.extend((n, d.name, context) for n in (d.name, *d.aliases, *map(spell_digits, spoken)))
    areas = [(n, a.name, None) for a in home.areas for n in (a.name, *a.aliases)]
    floors = [(n, f.name, None) for f in home.floors for n in (f.name, *f.aliases)]
    return {"name": text_list(names), "area": text_list(areas), "floor": text_list(floors)}


def _slot_text(name: str) -> str:
    """A name as the matcher compares it: hassil ignores case; punctuation is what a recogniser drops."""
    t = re.sub(r"(?<=\d)\.(?=\d)", "\x00", name)
    return " ".join(re.sub(r"[^\w\s'\x00]", " ", t).replace("\x00", ".").split())


def recogniser_text(text: str) -> str:
    """Text as a recogniser writes it: lower case, "%" as "percent", punctuation gone (decimal points
    and apostrophes inside words kept)."""
    t = text.lower().replace("%", " percent ").replace("°", " degrees ")
    t = re.sub(r"\b1/2\b", " half ", t)
    t = re.sub(r"\b1/4\b", " quarter ", t)
    t = re.sub(r"(\d),(\d{3})\b", r"\1\2", t)
    t = re.sub(r"(?<=\d)\.(?=\d)", "\x00", t)
    t = re.sub(r"(?<=\w)'(?=\w)", "\x01", t)
    t = re.sub(r"[^\w\s\x00\x01]", " ", t).replace("_", " ")
    return " ".join(t.replace("\x00", ".").replace("\x01", "'").split())


def spell_digits(name: str) -> str:
    """A name's digits as a recogniser writes them spoken ("PM2.5 sensor" -> "PM two point five sensor")."""
    t = re.sub(r"(\d+)\.(\d+)", lambda m: f" {m.group(1)} point {' '.join(m.group(2))} ", name)
    return " ".join(re.sub(r"\d+", lambda m: f" {number_to_words(int(m.group()))} ", t).split())


_NOT_CODES = frozenset(
    ["a", "i", "am", "an", "as", "at", "be", "by", "do", "go", "he", "if", "in", "is", "it", "me", "my", "no", "of",
     "oh", "on", "or", "to", "up", "us", "we"]
) - {"no"}


def join_codes(text: str) -> str:
    """Numbers in words as digits, run into the letters of short codes ("co two" -> "co2", "pm two point
    five" -> "pm2.5", "n two o" -> "n2o"): how chemical and particle names are written in templates."""
    t = words_to_digits(text)
    t = re.sub(
        r"\b([a-z]{1,2}) (\d+(?:\.\d+)?)\b",
        lambda m: m.group(0) if m.group(1) in _NOT_CODES else m.group(1) + m.group(2),
        t,
    )
    return re.sub(r"\b([a-z]{1,2}\d+) ([a-z])\b", r"\1\2", t)


@dataclass(frozen=True, slots=True)
class GrammarMatch:
    intent: str
    slots: dict[str, Any]
    context: dict[str, Any]
    response: str = ""


# intents that act on devices of some domains only: a reading that names a device of none of them is
# another reading's ("what is the furnace temperature": a sensor's state, not a thermostat's)
_INTENT_DOMAINS = {
    "HassClimateGetTemperature": {"climate"},
    "HassClimateSetTemperature": {"climate"},
    "HassVacuumStart": {"vacuum"},
    "HassVacuumReturnToBase": {"vacuum"},
    "HassLightSet": {"light"},
}


class HassGrammar:
    """Text -> Home Assistant intent and slots, by hassil over the package's templates and the home."""

    def __init__(self, home: Home, language: str = "en", intents: Any = None) -> None:
        self.intents = intents if intents is not None else load_intents(language)
        self.slot_lists = slot_lists(home)
        self._domains: dict[str, set[str]] = {}
        for d in home.devices:
            self._domains.setdefault(d.name, set()).add(d.domain)
        self._without: dict[str, Any] = {}

    def match(self, text: str, area: str = "") -> GrammarMatch | None:
        hit = self._match(text, area, self.intents)
        if hit is not None and not self._fits(hit):
            if hit.intent not in self._without:
                kept = {k: v for k, v in self.intents.intents.items() if k != hit.intent}
                self._without[hit.intent] = dataclasses.replace(self.intents, intents=kept)
            return self._match(text, area, self._without[hit.intent])
        return hit

    def _fits(self, hit: GrammarMatch) -> bool:
        wanted = _INTENT_DOMAINS.get(hit.intent)
        name = hit.slots.get("name")
        return not (wanted and isinstance(name, str) and name in self._domains and not wanted & self._domains[name])

    def _match(self, text: str, area: str, intents: Any) -> GrammarMatch | None:
        from hassil import recognize_best

        context = {"area": area} if area else {}
        try:
            # as Home Assistant's own agent does: most literal text, a device named beats a wildcard
            result = recognize_best(
                text, intents, slot_lists=self.slot_lists, intent_context=context, best_slot_name="name"
            )
        except (ValueError, KeyError, IndexError, RecursionError) as e:  # hassil on odd input
            _LOGGER.debug("hassil failed on %r: %s", text, e)
            return None
        if result is None:
            return None
        slots = {name: _plain(e.value) for name, e in result.entities.items()}
        return GrammarMatch(result.intent.name, slots, dict(result.context or {}), result.response or "")


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.strip()
    return value


# free-text slots (wildcards) filled with what people put there, for sampling sentences
WILDCARD_VALUES: dict[str, tuple[str, ...]] = {
    "search_query": ("the beatles", "queen", "bohemian rhapsody", "jazz", "the news", "my favorites",
                     "classical music", "taylor swift", "a podcast", "the radio"),
    "message": ("dinner is ready", "time to go", "wake up", "the movie is starting", "come downstairs"),
    "shopping_list_item": ("milk", "eggs", "bread", "apples", "coffee", "toilet paper", "bananas"),
    "todo_list_item": ("clean the garage", "call the plumber", "water the plants", "pay the bills"),
    "timer_name": ("pasta", "pizza", "tea", "laundry", "oven", "eggs"),
    "timer_command": ("turn off the oven", "turn on the lights"),
    "zone": ("home", "work", "school"),
}


def sample_sentences(intents: Any, lists: dict[str, Any], rng: Any, n: int) -> list[str]:
    """``n`` random sentences of the grammar, the home's names in its slots: every data block of every
    intent in turn, one random path through a random template of it (the domain LM's text, so the
    recogniser expects what the parser understands). ``rng``: a numpy Generator (deterministic)."""
    blocks = [(intent, data) for intent in intents.intents.values() for data in intent.data]
    out: list[str] = []
    for i in range(n):
        _, data = blocks[i % len(blocks)]
        sentences = data.sentences
        if not sentences:
            continue
        sentence = sentences[int(rng.integers(len(sentences)))]
        try:
            text = _sample(sentence.expression, intents, data, lists, rng, 0)
        except LookupError:  # a list this home has nothing in (no floors, say): skipped
            continue
        out.append(" ".join(text.split()))
    return [s for s in out if s]


def _sample(expr: Any, intents: Any, data: Any, lists: dict[str, Any], rng: Any, depth: int) -> str:
    from hassil.expression import Alternative, Group, ListReference, Permutation, RuleReference, TextChunk
    from hassil.intents import RangeSlotList, TextSlotList

    if depth > 30:
        raise LookupError("rules nest too deep")
    if isinstance(expr, TextChunk):
        return expr.text
    if isinstance(expr, Alternative):
        if expr.is_optional and rng.random() < 0.5:
            return ""
        return _sample(expr.items[int(rng.integers(len(expr.items)))], intents, data, lists, rng, depth + 1)
    if isinstance(expr, Permutation):
        order = rng.permutation(len(expr.items))
        return " ".join(_sample(expr.items[k], intents, data, lists, rng, depth + 1) for k in order)
    if isinstance(expr, Group):
        return "".join(_sample(e, intents, data, lists, rng, depth + 1) for e in expr.items)
    if isinstance(expr, RuleReference):
        rule = data.expansion_rules.get(expr.rule_name) or intents.expansion_rules.get(expr.rule_name)
        if rule is None:
            raise LookupError(expr.rule_name)
        return _sample(rule.expression, intents, data, lists, rng, depth + 1)
    if isinstance(expr, ListReference):
        name = expr.list_name
        slot_list = data.slot_lists.get(name) or lists.get(name) or intents.slot_lists.get(name)
        if isinstance(slot_list, TextSlotList):
            values = _allowed(slot_list.values, data.requires_context) if name == "name" else slot_list.values
            if not values:
                raise LookupError(name)
            value = values[int(rng.integers(len(values)))]
            return _sample(value.text_in, intents, data, lists, rng, depth + 1)
        if isinstance(slot_list, RangeSlotList):
            steps = max(1, (slot_list.stop - slot_list.start) // max(1, slot_list.step) + 1)
            number = slot_list.start + slot_list.step * int(rng.integers(steps))
            return f" {number_to_words(number)} "
        words = WILDCARD_VALUES.get(name)
        if not words:
            raise LookupError(name)
        return f" {words[int(rng.integers(len(words)))]} "
    raise LookupError(type(expr).__name__)


def _allowed(values: list[Any], required: dict[str, Any]) -> list[Any]:
    """The names a template may name: those whose domain (and device class) it requires."""
    out = []
    for v in values:
        context = v.context or {}
        ok = True
        for key in ("domain", "device_class"):
            want = required.get(key)
            if want is None or isinstance(want, dict):
                continue
            wanted = want if isinstance(want, list) else [want]
            if context.get(key) not in wanted:
                ok = False
        if ok:
            out.append(v)
    return out
