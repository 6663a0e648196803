"""Speech corpora the evaluations read, and word error rate (library code: the benchmarks, the training
tools and the tests share it).

The corpora are Debian packages (``tools/system_deps.sh``): ``pocketsphinx-testdata`` (LibriVox read
speech, the CMU "cards" prompts) and ``asterisk-core-sounds-en-wav`` (the Asterisk PBX's English prompts,
one studio voice). They measure us: nothing is ever trained on them.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from assistant.text import spoken_words

__all__ = ["ASTERISK_DIR", "PS", "asterisk", "cards", "librivox", "wer", "word_edit_distance"]

PS = Path("/usr/share/pocketsphinx/test/data")
ASTERISK_DIR = Path("/usr/share/asterisk/sounds/en")
ASTERISK_TXT = Path("/usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz")


def word_edit_distance(a: list[str], b: list[str], free_prefix: bool = False) -> int:
    """Levenshtein distance over words; ``free_prefix``: words of ``a`` before the alignment cost nothing."""
    row = list(range(len(b) + 1))
    for i, wa in enumerate(a, 1):
        prev, row[0] = row[0], 0 if free_prefix else i
        for j, wb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (wa != wb))
    return row[-1]


def wer(refs: list[str], hyps: list[str]) -> float:
    """Word errors over reference words, both in spoken form (``assistant.text.spoken_words``)."""
    errors = sum(word_edit_distance(spoken_words(r), spoken_words(h)) for r, h in zip(refs, hyps, strict=True))
    return errors / max(1, sum(len(spoken_words(r)) for r in refs))


def _sphinx(folder: Path, transcription: str) -> list[tuple[Path, str]]:
    out = []
    for line in (folder / transcription).read_text().splitlines():
        m = re.match(r"<s>(.*)</s>\s*\((.*)\)", line.strip())
        if m:
            out.append((folder / f"{m.group(2)}.wav", m.group(1).strip()))
    return out


def librivox() -> list[tuple[Path, str]]:
    """LibriVox read speech (pocketsphinx-testdata); empty when the package is not installed."""
    return _sphinx(PS / "librivox", "transcription") if (PS / "librivox").is_dir() else []


def cards() -> list[tuple[Path, str]]:
    """The CMU "cards" prompts (pocketsphinx-testdata); empty when the package is not installed."""
    return _sphinx(PS / "cards", "cards.transcription") if (PS / "cards").is_dir() else []


def asterisk(limit: int) -> list[tuple[Path, str]]:
    """``limit`` of the Asterisk English prompts, evenly spaced (0: all); empty when not installed."""
    if not ASTERISK_TXT.exists():
        return []
    with gzip.open(ASTERISK_TXT, "rt", encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    out = []
    for line in lines:
        if ":" not in line or line.startswith(";"):
            continue
        name, text = line.split(":", 1)
        wav = ASTERISK_DIR / f"{name.strip()}.wav"
        if wav.exists() and text.strip():
            out.append((wav, text.strip()))
    step = max(1, len(out) // limit) if limit else 1
    return out[::step][:limit] if limit else out
