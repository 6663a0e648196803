"""The word n-gram LM as the recognisers see it: the small surface of ``assistant.lm.ngram.NgramModel``.

Fusion and rescoring are written against this Protocol so they do not depend on how the LM is stored.
Scores are log10 (ARPA's unit) at this boundary; the recognisers convert to natural log (``LN10``).
State rows are opaque uint32 vectors; ``advance`` moves many (state, word) pairs in one call, so a beam
step crosses into the LM once, not once per hypothesis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

LN10 = math.log(10.0)
"""log10 score * LN10 = natural-log score"""


@runtime_checkable
class WordLm(Protocol):
    @property
    def order(self) -> int: ...

    @property
    def vocab_size(self) -> int: ...

    def word_ids(self, words: list[str]) -> np.ndarray:
        """int32 ids, the <unk> id for words the LM does not know."""
        ...

    def __contains__(self, word: object) -> bool: ...

    def begin_state(self) -> np.ndarray:
        """The state after <s>: one uint32 row."""
        ...

    def null_state(self) -> np.ndarray:
        """The state with no history: one uint32 row."""
        ...

    def advance(self, states: np.ndarray, word_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(n, W) uint32, (n,) int32 -> (next states (n, W) uint32, log10 probs (n,) float32,
        n-gram lengths (n,) uint8)``."""
        ...

    def score(self, sentence: str, bos: bool = True, eos: bool = True) -> float:
        """log10 probability of a whole sentence."""
        ...


def sentence_logprob(lm: WordLm, words: Sequence[str], eos: bool = True) -> float:
    """Natural-log probability of ``words`` after <s> (and </s> when ``eos``), through ``advance``."""
    seq = list(words) + (["</s>"] if eos else [])
    if not seq:
        return 0.0
    state = lm.begin_state().reshape(1, -1)
    ids = lm.word_ids(seq)
    total = 0.0
    for w in ids:
        state, lp, _ = lm.advance(state, np.array([w], dtype=np.int32))
        total += float(lp[0])
    return total * LN10
