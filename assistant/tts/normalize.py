"""Text normalisation for speech: what the replies write, said the way a person would say it.

"5:30" -> "five thirty", "5:05 PM" -> "five oh five p m", "7:00" -> "seven o'clock", "21.5 °C" ->
"twenty one point five degrees Celsius", "40%" -> "forty percent", "November 25th, 2026" -> "November
twenty fifth, twenty twenty six", "3 km" -> "three kilometres", "$4.50" -> "four dollars fifty".
Then ``split_sentences`` cuts the text where the voice may pause and stream (., !, ?), not inside
numbers or after common abbreviations.
"""

from __future__ import annotations

import re

from assistant.intent.numbers import number_to_words

__all__ = ["normalize_for_speech", "ordinal_words", "split_sentences"]

_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_UNITS = {
    "km": ("kilometre", "kilometres"),
    "m": ("metre", "metres"),
    "cm": ("centimetre", "centimetres"),
    "mm": ("millimetre", "millimetres"),
    "kg": ("kilogram", "kilograms"),
    "g": ("gram", "grams"),
    "mg": ("milligram", "milligrams"),
    "l": ("litre", "litres"),
    "ml": ("millilitre", "millilitres"),
    "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "s": ("second", "seconds"),
    "sec": ("second", "seconds"),
    "secs": ("second", "seconds"),
    "h": ("hour", "hours"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "mph": ("mile per hour", "miles per hour"),
    "kmh": ("kilometre per hour", "kilometres per hour"),
    "km/h": ("kilometre per hour", "kilometres per hour"),
    "kb": ("kilobyte", "kilobytes"),
    "mb": ("megabyte", "megabytes"),
    "gb": ("gigabyte", "gigabytes"),
    "w": ("watt", "watts"),
    "kw": ("kilowatt", "kilowatts"),
    "kwh": ("kilowatt hour", "kilowatt hours"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "ft": ("foot", "feet"),
    "in": ("inch", "inches"),
}
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "prof",
    "vs",
    "etc",
    "e.g",
    "i.e",
    "approx",
    "no",
    "jr",
    "sr",
}


def ordinal_words(n: int) -> str:
    words = number_to_words(n).split()
    last = words[-1]
    if last in _ORDINAL_IRREGULAR:
        words[-1] = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def _number(text: str) -> str:
    """ "21.5" -> "twenty one point five"; "1,200" -> "one thousand two hundred"; "-3" -> "minus three"."""
    text = text.replace(",", "")
    neg = text.startswith("-")
    text = text.lstrip("-+")
    whole, _, frac = text.partition(".")
    words = number_to_words(int(whole or "0"))
    if frac:
        words += " point " + " ".join(number_to_words(int(d)) for d in frac)
    return ("minus " if neg else "") + words


def _year(n: int) -> str:
    if n % 100 == 0 and n % 1000 != 0:
        return number_to_words(n // 100) + " hundred"
    if 2000 <= n <= 2009:
        return number_to_words(n)
    head, tail = divmod(n, 100)
    return (
        number_to_words(head) + " " + ("oh " + number_to_words(tail) if tail < 10 else number_to_words(tail))
    )


def _time(m: re.Match[str]) -> str:
    hour, minute = int(m.group(1)), int(m.group(2))
    ampm = (m.group(3) or "").replace(".", "").lower()
    if minute == 0:
        words = number_to_words(hour) + (" o'clock" if not ampm else "")
    elif minute < 10:
        words = f"{number_to_words(hour)} oh {number_to_words(minute)}"
    else:
        words = f"{number_to_words(hour)} {number_to_words(minute)}"
    if ampm:
        words += " " + " ".join(ampm)
    return words


def _money(m: re.Match[str]) -> str:
    whole, cents = m.group(2), m.group(3)
    unit = {"$": ("dollar", "dollars"), "£": ("pound", "pounds"), "€": ("euro", "euros")}[m.group(1)]
    n = int(whole.replace(",", ""))
    words = f"{number_to_words(n)} {unit[0] if n == 1 else unit[1]}"
    if cents and int(cents):
        words += " " + number_to_words(int(cents))
    return words


def _unit(m: re.Match[str]) -> str:
    value, unit = m.group(1), m.group(2).lower()
    singular, plural = _UNITS[unit]
    return f"{_number(value)} {singular if value in ('1', '1.0') else plural}"


def normalize_for_speech(text: str) -> str:
    t = " ".join(text.split())
    t = re.sub(r"\b(\d{1,2}):(\d{2})(?:\s*([ap]\.?m(?:\.(?=\S))?)\b)?", _time, t, flags=re.IGNORECASE)
    t = re.sub(r"([$£€])(\d[\d,]*)(?:\.(\d{2}))?\b", _money, t)
    t = re.sub(r"(-?\d+(?:\.\d+)?)\s*°\s*C\b", lambda m: f"{_number(m.group(1))} degrees Celsius", t)
    t = re.sub(r"(-?\d+(?:\.\d+)?)\s*°\s*F\b", lambda m: f"{_number(m.group(1))} degrees Fahrenheit", t)
    t = re.sub(r"(-?\d+(?:\.\d+)?)\s*°", lambda m: f"{_number(m.group(1))} degrees", t)
    t = re.sub(r"(\d+(?:\.\d+)?)\s*%", lambda m: f"{_number(m.group(1))} percent", t)
    t = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: ordinal_words(int(m.group(1))), t)
    units = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
    t = re.sub(rf"\b(\d+(?:\.\d+)?)\s?({units})\b(?!')", _unit, t, flags=re.IGNORECASE)
    t = re.sub(r"(?<![\d.])(1[1-9]\d\d|20\d\d)(?![\d.,]\d)", lambda m: _year(int(m.group(1))), t)
    t = re.sub(
        r"-?\d[\d,]*(?:\.\d+)?",
        lambda m: _number(m.group(0)) if re.search(r"\d", m.group(0)) else m.group(0),
        t,
    )
    t = t.replace("&", " and ").replace("+", " plus ").replace("=", " equals ")
    return " ".join(t.split())


def split_sentences(text: str) -> list[str]:
    """Sentences to synthesise one at a time (first audio after the first sentence only)."""
    out: list[str] = []
    start = 0
    for m in re.finditer(r"[.!?]+[\"')\]]*(?=\s+|$)", text):
        end = m.end()
        before = text[start : m.start()].split()
        last_word = before[-1].lower().rstrip(".") if before else ""
        if m.group(0).startswith(".") and len(m.group(0)) == 1 and last_word in _ABBREVIATIONS:
            continue
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
        start = end
    rest = text[start:].strip()
    if rest:
        out.append(rest)
    return out
