"""Numbers and durations as a recogniser writes them: words or digits, fractions, and the odd mishearing.

``parse_number("twenty five")`` -> 25; ``parse_duration("five and a half minutes")`` ->
``Duration(minutes=5, seconds=30)``; ``parse_duration("1 hour 30")`` -> ``Duration(hours=1, minutes=30)``;
``parse_duration("a quarter of an hour")`` -> ``Duration(minutes=15)``. The other way,
``number_to_words(42)`` -> "forty two" (used by speech and by the replies).

Parsers return ``None`` when the span is not entirely a number or duration, so the intent parser can
try another reading of the sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "Duration",
    "number_to_words",
    "parse_duration",
    "parse_number",
    "parse_percent",
    "duration_to_words",
    "words_to_digits",
]

_UNITS = {
    "zero": 0,
    "oh": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    # what recognisers write for a spoken number where the context says it is one
    "won": 1,
    "to": 2,
    "too": 2,
    "for": 4,
    "fore": 4,
    "ate": 8,
    "tree": 3,
    "free": 3,
    "sex": 6,
    "nein": 9,
}
_HOMOPHONES = {"won", "to", "too", "for", "fore", "ate", "tree", "free", "sex", "nein", "oh"}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000}
_FRACTIONS = {"half": 0.5, "quarter": 0.25, "third": 1 / 3}
_DIGITS = re.compile(r"^\d+(\.\d+)?$")


def _number_at(tokens: list[str], i: int, allow_homophones: bool) -> tuple[float, int] | None:
    """Longest number starting at ``tokens[i]``: (value, index after it) or None."""
    if i >= len(tokens):
        return None
    t = tokens[i]
    if _DIGITS.match(t):
        value, j = float(t), i + 1
        if j + 1 < len(tokens) and tokens[j] == "point":
            dec = _digits_after_point(tokens, j + 1)
            if dec:
                value += dec[0]
                j = dec[1]
        return value, j
    total, current, j, seen = 0.0, 0.0, i, False
    while j < len(tokens):
        w = tokens[j]
        if w in _UNITS:
            if w in _HOMOPHONES and not allow_homophones:
                break
            if seen and current % 10 == 0 and current >= 20 and _UNITS[w] < 10:
                current += _UNITS[w]  # "twenty five"
            elif seen and current == 0 and total > 0:
                current = _UNITS[w]  # "three thousand two"
            elif seen and current % 100 == 0 and current >= 100:
                current += _UNITS[w]  # "a hundred and five" handled below, "one hundred five"
            elif seen:
                break
            else:
                current = _UNITS[w]
        elif w in _TENS:
            if seen and not (current % 100 == 0 and (current >= 100 or total > 0)):
                break
            current += _TENS[w]
        elif w in _SCALES and (seen or w == "hundred"):
            current = (current or 1) * _SCALES[w]
            if _SCALES[w] >= 1000:
                total += current
                current = 0
        elif (
            w == "and"
            and seen
            and (current >= 100 or total > 0)
            and j + 1 < len(tokens)
            and (tokens[j + 1] in _UNITS or tokens[j + 1] in _TENS)
        ):
            pass  # "a hundred and five"
        elif w == "point" and seen and j + 1 < len(tokens):
            dec = _digits_after_point(tokens, j + 1)
            if not dec:
                break
            current += dec[0]
            j = dec[1]
            seen = True
            break
        else:
            break
        seen = True
        j += 1
    if not seen:
        return None
    return total + current, j


def _digits_after_point(tokens: list[str], i: int) -> tuple[float, int] | None:
    if i < len(tokens) and tokens[i].isdigit():
        return float("0." + tokens[i]), i + 1
    digits, j = "", i
    while j < len(tokens) and tokens[j] in _UNITS and _UNITS[tokens[j]] < 10 and tokens[j] not in _HOMOPHONES:
        digits += str(_UNITS[tokens[j]])
        j += 1
    return (float("0." + digits), j) if digits else None


def words_to_digits(text: str) -> str:
    """Every number written in words as digits ("co two level" -> "co 2 level", "twenty five percent" ->
    "25 percent"); homophones ("to", "for") and "oh" stay words. Other words are kept as they are."""
    tokens = text.split()
    out: list[str] = []
    i = 0
    while i < len(tokens):
        got = _number_at(tokens, i, allow_homophones=False) if not _DIGITS.match(tokens[i]) else None
        if got is None or got[1] <= i:
            out.append(tokens[i])
            i += 1
            continue
        value, i = got
        out.append(str(int(value)) if float(value).is_integer() else f"{value:g}")
    return " ".join(out)


def parse_number(text: str, allow_homophones: bool = True) -> float | None:
    """The whole of ``text`` as one number ("42", "forty two", "a hundred", "two point five"), else None."""
    tokens = text.split()
    if tokens[:1] in (["a"], ["an"]) and len(tokens) == 2 and tokens[1] in _SCALES:
        return float(_SCALES[tokens[1]])
    got = _number_at(tokens, 0, allow_homophones)
    if got is None or got[1] != len(tokens):
        return None
    return got[0]


def parse_percent(text: str) -> int | None:
    """ "40", "40 percent", "forty per cent", "40%" -> 40 (any number; the caller checks the range)."""
    text = text.replace("%", " percent").strip()
    text = re.sub(r"\s+(percent|per cent|pct|percentage)$", "", text)
    value = parse_number(text)
    if value is None or value != int(value):
        return None
    return int(value)


@dataclass(frozen=True, slots=True)
class Duration:
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    @property
    def total_s(self) -> int:
        return self.hours * 3600 + self.minutes * 60 + self.seconds

    def slots(self, prefix: str = "") -> dict[str, int]:
        """Home Assistant's slots: only the units that were given (``start_`` prefix for timer lookup)."""
        out = {}
        for unit in ("hours", "minutes", "seconds"):
            if getattr(self, unit):
                out[prefix + unit] = getattr(self, unit)
        return out


_UNIT_WORDS = {
    "hour": "h",
    "hours": "h",
    "hr": "h",
    "hrs": "h",
    "our": "h",
    "ours": "h",
    "minute": "m",
    "minutes": "m",
    "min": "m",
    "mins": "m",
    "minit": "m",
    "minuets": "m",
    "minutes's": "m",
    "second": "s",
    "seconds": "s",
    "sec": "s",
    "secs": "s",
}
_UNIT_S = {"h": 3600, "m": 60, "s": 1}


def _split_units(value: float, unit: str) -> Duration:
    total = round(value * _UNIT_S[unit])
    if unit == "s" or value == int(value):
        return Duration(**{{"h": "hours", "m": "minutes", "s": "seconds"}[unit]: int(value)})
    if unit == "h":
        return Duration(hours=total // 3600, minutes=(total % 3600) // 60, seconds=total % 60)
    return Duration(minutes=total // 60, seconds=total % 60)


def _add(a: Duration, b: Duration) -> Duration:
    return Duration(a.hours + b.hours, a.minutes + b.minutes, a.seconds + b.seconds)


def parse_duration(text: str) -> Duration | None:
    """The whole of ``text`` as a duration, else None.

    Accepts "5 minutes", "five and a half minutes", "an hour and a half", "1 hour 30" (minutes implied),
    "2 minutes 10 seconds", "half an hour", "a quarter of an hour", "three quarters of an hour",
    "90 seconds", "1.5 hours", "for minutes" (a misheard "four").
    """
    tokens = [t for t in text.replace(",", " ").split() if t]
    if not tokens:
        return None
    result = Duration()
    i, last_unit, parts = 0, "", 0
    while i < len(tokens):
        if tokens[i] == "and" and parts:
            i += 1
            continue
        got = _component(tokens, i)
        if got is None:
            # a bare number after hours or minutes: "1 hour 30", "2 minutes 10"
            num = _number_at(tokens, i, allow_homophones=True)
            if num is not None and num[1] == len(tokens) and last_unit in ("h", "m"):
                unit = "m" if last_unit == "h" else "s"
                result = _add(result, _split_units(num[0], unit))
                i = num[1]
                parts += 1
                continue
            return None
        dur, unit, i = got
        result = _add(result, dur)
        last_unit, parts = unit, parts + 1
    if parts == 0 or result.total_s <= 0:
        return None
    return result


def _component(tokens: list[str], i: int) -> tuple[Duration, str, int] | None:
    """One "<number> <unit> [and a half]" piece starting at ``tokens[i]``."""
    n = len(tokens)
    t = tokens[i]
    # "half an hour", "a quarter of an hour", "three quarters of an hour"
    frac_value, j = None, i
    if t in ("a", "an") and i + 1 < n and tokens[i + 1] in ("half", "quarter"):
        frac_value, j = _FRACTIONS[tokens[i + 1]], i + 2
    elif t in ("half", "quarter"):
        frac_value, j = _FRACTIONS[t], i + 1
    elif t in ("three", "3") and i + 1 < n and tokens[i + 1] == "quarters":
        frac_value, j = 0.75, i + 2
    if frac_value is not None:
        if j < n and tokens[j] == "of":
            j += 1
        if j < n and tokens[j] in ("a", "an", "the"):
            j += 1
        if j < n and tokens[j] in _UNIT_WORDS:
            unit = _UNIT_WORDS[tokens[j]]
            return _split_units(frac_value, unit), unit, j + 1
        return None
    # "<number> <unit> [and a half]" or "<number> and a half <unit>" or "a/an <unit> [and a half]"
    if t in ("a", "an", "one", "another") and i + 1 < n and tokens[i + 1] in _UNIT_WORDS:
        value, j = 1.0, i + 1
    else:
        num = _number_at(tokens, i, allow_homophones=True)
        if num is None:
            return None
        value, j = num
    if j + 2 < n and tokens[j : j + 3] == ["and", "a", "half"]:
        value += 0.5
        j += 3
    if j >= n or tokens[j] not in _UNIT_WORDS:
        return None
    unit = _UNIT_WORDS[tokens[j]]
    j += 1
    if j + 2 < n and tokens[j : j + 3] == ["and", "a", "half"]:
        value += 0.5
        j += 3
    return _split_units(value, unit), unit, j


# ----------------------------------------------------------------------------------------- to words

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS_WORDS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_to_words(n: int) -> str:
    """English words for an integer ("minus" for negatives), up to the trillions."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS_WORDS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + number_to_words(rest))
    for scale, word in ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if n >= scale:
            head, rest = divmod(n, scale)
            tail = "" if rest == 0 else (" and " if rest < 100 else " ") + number_to_words(rest)
            return number_to_words(head) + " " + word + tail
    raise AssertionError("unreachable")


def duration_to_words(d: Duration | int) -> str:
    """ "1 hour and 30 minutes" spelled for speech: "one hour and thirty minutes"."""
    total = d.total_s if isinstance(d, Duration) else int(d)
    h, rem = divmod(total, 3600)
    m, s = divmod(rem, 60)
    parts = []
    for value, unit in ((h, "hour"), (m, "minute"), (s, "second")):
        if value:
            parts.append(f"{number_to_words(value)} {unit}{'s' if value != 1 else ''}")
    if not parts:
        return "zero seconds"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def spoken_form(text: str) -> str:
    """Text as it is said: lower case, numbers as words ("50%" -> "fifty percent", "5:30" -> "five
    thirty", "3rd" -> "three"), hyphens as spaces, other punctuation dropped (apostrophes inside words
    kept). What the word LM is estimated on and what Whisper's transcripts are scored as."""
    t = text.lower().replace("-", " ").replace("%", " percent")
    t = re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", t)
    t = re.sub(r"\d+", lambda m: " " + number_to_words(int(m.group())) + " ", t)
    t = re.sub(r"[^a-z' ]", " ", t)
    return " ".join(w.strip("'") for w in t.split() if w.strip("'"))
