"""Text normalisation for speech: what the replies write, said the way a person would say it.

"5:30" -> "five thirty", "5:05 PM" -> "five oh five p m", "7:00" -> "seven o'clock", "21.5 °C" ->
"twenty one point five degrees Celsius", "40%" -> "forty percent", "November 25th, 2026" -> "November
twenty fifth, twenty twenty six", "3 km" -> "three kilometres", "$4.50" -> "four dollars fifty".
Then ``split_sentences`` cuts the text where the voice may pause and stream (., !, ?), not inside
numbers or after common abbreviations, and ``split_speech`` cuts each sentence longer than a cap into
pieces the voice makes one at a time: at clause punctuation (, ; :), else between words, else inside a
word. A VITS voice's working memory and its time to the first audio grow with the input it is given
(measured: a 1,447-character shopping list said as one sentence peaked at 579 MB and took 8.7 s to its
first audio), so no text reaches the model in a piece longer than the cap.

Integers of more than ``MAX_WORDED_DIGITS`` digits are read digit by digit (a serial number, not a
quantity), so no number costs more than a few characters a digit to say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.intent.numbers import number_to_words

__all__ = ["MAX_WORDED_DIGITS", "SpeechPiece", "normalize_for_speech", "ordinal_words", "split_sentences",
           "split_speech"]

MAX_WORDED_DIGITS = 15
"""integers up to this many digits are said as numbers ("four hundred trillion"), longer ones digit by digit"""

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


def _integer_words(digits: str) -> str:
    """ "1200" -> "one thousand two hundred"; more than MAX_WORDED_DIGITS digits: "one two ..."."""
    digits = digits.lstrip("0") or "0"
    if len(digits) > MAX_WORDED_DIGITS:
        return " ".join(number_to_words(int(d)) for d in digits)
    return number_to_words(int(digits))


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
    words = _integer_words(whole or "0")
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
    digits = whole.replace(",", "")
    words = f"{_integer_words(digits)} {unit[0] if digits.lstrip('0') == '1' else unit[1]}"
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
    t = re.sub(r"\b(\d{1,%d})(st|nd|rd|th)\b" % MAX_WORDED_DIGITS, lambda m: ordinal_words(int(m.group(1))), t)
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


@dataclass(frozen=True, slots=True)
class SpeechPiece:
    """At most ``max_chars`` characters of one sentence, for one run of the voice."""

    text: str
    sentence: str
    """the whole sentence the piece belongs to"""
    sentence_end: bool
    """the sentence's last piece"""


_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")


def _cut_words(text: str, max_chars: int) -> list[str]:
    """Words packed into runs of at most ``max_chars``; a longer word is cut every ``max_chars``."""
    runs: list[str] = []
    run = ""
    for word in text.split():
        while len(word) > max_chars:
            if run:
                runs.append(run)
                run = ""
            runs.append(word[:max_chars])
            word = word[max_chars:]
        if not word:
            continue
        if run and len(run) + 1 + len(word) > max_chars:
            runs.append(run)
            run = ""
        run = f"{run} {word}" if run else word
    if run:
        runs.append(run)
    return runs


def split_speech(text: str, max_chars: int) -> list[SpeechPiece]:
    """``split_sentences``, then each sentence longer than ``max_chars`` in pieces of at most
    ``max_chars`` characters: whole clauses packed together where they fit (cut after , ; :), else the
    clause's words, else a word cut inside. Memory and first-audio time then no longer grow with the
    length of a sentence."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be >= 1, got {max_chars}")
    pieces: list[SpeechPiece] = []
    for sentence in split_sentences(text):
        if len(sentence) <= max_chars:
            pieces.append(SpeechPiece(sentence, sentence, True))
            continue
        runs: list[str] = []
        run = ""
        for clause in _CLAUSE_END.split(sentence):
            if len(clause) > max_chars:
                if run:
                    runs.append(run)
                    run = ""
                runs.extend(_cut_words(clause, max_chars))
            elif run and len(run) + 1 + len(clause) > max_chars:
                runs.append(run)
                run = clause
            else:
                run = f"{run} {clause}" if run else clause
        if run:
            runs.append(run)
        pieces.extend(SpeechPiece(r, sentence, i == len(runs) - 1) for i, r in enumerate(runs))
    return pieces
