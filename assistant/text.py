"""The one text normaliser of recognition and its evaluation: text as it is said.

``spoken_words`` is what the word LM is estimated on, what Whisper's n-best is scored as, what the
two-pass agreement compares, and what every WER in the repository counts (``assistant.asr.corpora.wer``):
lower case, numbers as words ("50%" -> "fifty percent", "3rd" -> "three"), titles spelled ("Mr." ->
"mister"), hyphens as spaces, other punctuation dropped. Understanding reads the same spoken text but
keeps digits for its number parser (``assistant.intent.parser.normalize_text``).
"""

from __future__ import annotations

import re

from assistant.intent.numbers import spoken_form

__all__ = ["spoken_words"]

_TITLES = ((re.compile(r"\bmr\.", re.IGNORECASE), "mister"), (re.compile(r"\bmrs\.", re.IGNORECASE), "missus"))


def spoken_words(text: str) -> list[str]:
    """``text`` as the words a speaker says, in order."""
    for pattern, spelled in _TITLES:
        text = pattern.sub(spelled, text)
    return spoken_form(text).split()
