"""The wake phrase: validated, and the texts that must not wake it.

Confusable phrases are generated from the phrase, not listed by hand: every word of the phrase is
looked up by sound among the words of a pronouncing dictionary (espeak-ng's phonemes of the CMU
dictionary's word list, from Debian's ``festlex-cmu``; a lexicon, no voice), and words within a small
phoneme edit distance replace it ("hey mycroft" -> "hey microsoft", "hay my craft"). Each variant is
said alone and inside a carrier sentence ("Alex said hello to Jarvis yesterday" is the shape that fires
openWakeWord's alexa head). The phrase's own leading word alone ("hey", "okay") is a negative too.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

import numpy as np

MAX_WORDS = 6
"""longer phrases are refused: a head reads 1.28 s of audio (16 embeddings of 80 ms)"""
MAX_CHARS = 60
CMU_WORDS = Path("/usr/share/festival/dicts/cmu/cmudict-0.4.out")
WORD_RE = re.compile(r"^[a-z][a-z'\-]*$")

CARRIERS = [
    "{p}",
    "{p}.",
    "{p} said hello to me yesterday",
    "I told {p} about it",
    "did you see {p} this morning",
    "well {p}, that is fine",
    "the {p} is over there",
    "{p} and the others went home",
]
"""sentences a confusable phrase is said in (``{p}``)"""

LEAD_WORDS = {"hey", "hi", "ok", "okay", "hello", "yo", "oh"}


class PhraseError(ValueError):
    """A wake phrase that cannot be trained: the message says why."""


def normalise(phrase: str) -> str:
    """The phrase as trained: lower case, single spaces; refuses what a head cannot learn."""
    if not isinstance(phrase, str) or not phrase.strip():
        raise PhraseError("the wake phrase is empty")
    if not phrase.isascii():
        bad = sorted({c for c in phrase if not c.isascii()})
        raise PhraseError(
            f"the wake phrase {phrase!r} has non-ASCII characters {bad}: write it in English letters "
            "(the synthetic voices read English)"
        )
    text = " ".join(re.sub(r"[,.!?;:]", " ", phrase.lower()).split())
    words = text.split()
    if len(words) > MAX_WORDS or len(text) > MAX_CHARS:
        raise PhraseError(
            f"the wake phrase has {len(words)} words / {len(text)} characters: at most {MAX_WORDS} words "
            f"and {MAX_CHARS} characters (a head hears 1.28 s)"
        )
    for w in words:
        if not WORD_RE.match(w):
            raise PhraseError(f"the wake phrase's word {w!r} is not letters (a-z, ' and - only)")
    return text


def slug(phrase: str) -> str:
    return normalise(phrase).replace(" ", "_").replace("'", "").replace("-", "_")


def espeak_phonemes(lines: Iterable[str]) -> list[str]:
    """espeak-ng's phoneme mnemonics of each line, stress and length marks removed (one call)."""
    lines = list(lines)
    if not lines:
        return []
    out = subprocess.run(
        ["espeak-ng", "-q", "-x", "-v", "en-us", "--stdin"],
        input="\n".join(f"{w}." for w in lines) + "\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    got = [re.sub(r"[',:%=_ ]", "", line) for line in out.splitlines() if line.strip()]
    if len(got) != len(lines):  # espeak merged or split lines: fall back to one call each
        got = []
        for w in lines:
            o = subprocess.run(
                ["espeak-ng", "-q", "-x", "-v", "en-us", w], capture_output=True, text=True, check=True, timeout=60
            ).stdout
            got.append(re.sub(r"[',:%=_ \n]", "", o))
    return got


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def dictionary_words(limit: int = 40000) -> list[str]:
    """Plain words of the CMU pronouncing dictionary (festlex-cmu), empty when it is not installed."""
    if not CMU_WORDS.exists():
        return []
    words = []
    seen = set()
    for line in CMU_WORDS.read_text(errors="replace").splitlines():
        if not line.startswith('("'):
            continue
        w = line[2 : line.index('"', 2)]
        if w not in seen and WORD_RE.match(w) and 2 <= len(w) <= 12 and "'" not in w:
            seen.add(w)
            words.append(w)
    return words[:: max(1, len(words) // limit)]


class Lexicon:
    """Words and their espeak-ng phonemes, built once and cached (a few seconds)."""

    def __init__(self, words: list[str], phonemes: list[str]):
        self.words = words
        self.phonemes = phonemes

    @classmethod
    def load(cls, cache_dir: Path | None) -> Lexicon:
        path = cache_dir / "lexicon-v1.tsv" if cache_dir else None
        if path and path.exists():
            rows = [line.split("\t") for line in path.read_text().splitlines()]
            return cls([r[0] for r in rows if len(r) == 2], [r[1] for r in rows if len(r) == 2])
        words = dictionary_words()
        phon = espeak_phonemes(words)
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text("".join(f"{w}\t{p}\n" for w, p in zip(words, phon, strict=True)))
            tmp.replace(path)
        return cls(words, phon)

    @classmethod
    def quick(cls) -> Lexicon:
        """A small lexicon (a few hundred words, no cache) for ``--quick`` runs."""
        words = dictionary_words(limit=400)[:400] or sorted(set(" ".join(CARRIERS).replace("{p}", "").split()))
        return cls(words, espeak_phonemes(words))

    def neighbours(self, word: str, phon: str, k: int) -> list[str]:
        """Up to ``k`` dictionary words that sound close to ``word`` (not the word, nor one that contains
        its phonemes whole: "stopped" is ambiguous for "stop")."""
        limit = 1 if len(phon) <= 3 else 2 if len(phon) <= 6 else 3
        scored = []
        for w, p in zip(self.words, self.phonemes, strict=True):
            if w == word or abs(len(p) - len(phon)) > limit or p == phon or phon in p:
                continue
            d = _edit_distance(phon, p)
            if d <= limit:
                scored.append((d, w))
        scored.sort()
        return [w for _, w in scored[:k]]


def confusables(phrase: str, lexicon: Lexicon, rng: np.random.Generator, per_word: int = 12) -> list[str]:
    """Texts that sound like the phrase but are not it (each variant in a few carriers)."""
    words = normalise(phrase).split()
    phon = espeak_phonemes(words + ["".join(words)])
    variants: set[str] = set()
    for i, (w, p) in enumerate(zip(words, phon, strict=False)):
        if w in LEAD_WORDS and len(words) > 1:
            continue  # "hey" -> "hay" is still the phrase
        for n in lexicon.neighbours(w, p, per_word):
            variants.add(" ".join(words[:i] + [n] + words[i + 1 :]))
    if len(words) > 1:  # the whole phrase said as one word ("hey jarvis" ~ "harvest")
        for n in lexicon.neighbours("".join(words), phon[-1], per_word // 2):
            variants.add(n)
        if words[0] in LEAD_WORDS:
            variants.update({words[0], f"{words[0]} there", f"{words[0]} you"})
            for n in lexicon.neighbours(words[1], phon[1], 4):  # the name without the lead word, changed
                variants.add(n)
    if len(words) == 1:  # two-word splits of one word ("alexa" -> "alex a", "a lexus")
        variants.update(n for n in lexicon.neighbours(words[0], phon[0], per_word))
    variants.discard(" ".join(words))
    texts = []
    for v in sorted(variants):
        carriers = rng.choice(len(CARRIERS), size=3, replace=False)
        texts += [CARRIERS[c].format(p=v) for c in carriers]
    return texts


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether ``text`` says the phrase (as words), so negatives that do are left out."""
    t = " " + " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split()) + " "
    return f" {phrase} " in t
