"""NgramModel: a back-off n-gram LM with KenLM's semantics, native (``native/ngram_model.cc``) when built,
else the pure-Python twin (``_ngram_py.py``). Both read the same binary file (``native/ngram_format.h``).

    lm = NgramModel.load("en.lm")                  # binary (mmapped) or .arpa / .arpa.gz (built in memory)
    lm.score("turn on the light")                  # total log10 p, <s> and </s> added (never pass them)
    lm.full_scores("turn on the light")            # [WordScore(log10prob, ngram_length, oov)] + </s>
    lm.perplexity("turn on the light")
    "light" in lm

Beam search uses the compact, batched form: a state is one uint32 row of ``order`` columns (context word
ids, most recent first, unused columns 0, then the context length), so equal rows are equal states.

    states = np.stack([lm.begin_state()] * 4)
    next_states, log10probs, ngram_lengths = lm.advance(states, lm.word_ids(["turn", "the", "a", "on"]))
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant import _accel
from assistant.lm._ngram_py import NgramFormatError as _PyFormatError
from assistant.lm._ngram_py import NgramModelPy
from assistant.lm.build import MAGIC
from assistant.models import ModelError

__all__ = ["NgramModel", "WordScore"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WordScore:
    log10prob: float
    """log10 p(word | context)"""
    ngram_length: int
    """length of the longest n-gram the model matched (1 = unigram)"""
    oov: bool
    """the word is not in the vocabulary (scored as <unk>)"""


def _split(sentence: str) -> list[str]:
    """KenLM's split: ASCII whitespace only (a no-break space stays inside a word)."""
    if sentence.isascii():
        return sentence.split()
    return [w.decode("utf-8") for w in sentence.encode("utf-8").split()]


def _format_errors() -> tuple[type[Exception], ...]:
    errors: list[type[Exception]] = [_PyFormatError]
    if _accel.native is not None:
        errors.append(_accel.kernel("NgramFormatError"))
    return tuple(errors)


class NgramModel:
    """An immutable back-off LM. Construct with ``NgramModel.load``."""

    def __init__(self, impl, implementation: str, path: Path | None = None) -> None:
        self._impl = impl
        self.implementation = implementation
        self.path = path
        self.order: int = impl.order
        self.vocab_size: int = impl.vocab_size
        self.quantization: str = impl.quantization
        self.unk_id: int = impl.unk_id
        self.bos_id: int = impl.bos_id
        self.eos_id: int = impl.eos_id

    @classmethod
    def load(cls, path: Path | str, impl: str | None = None) -> NgramModel:
        """Load a binary ``.lm`` (mmapped in place) or an ARPA file (``.arpa``, ``.arpa.gz``; built in memory,
        lossless). ``impl``: "native", "python" or None (the best available). ModelError on a missing,
        corrupt, truncated or foreign file."""
        path = Path(path)
        impl = _accel.choose(impl, "NgramModel")
        try:
            with open(path, "rb") as f:
                head = f.read(len(MAGIC))
        except OSError as e:
            raise ModelError(f"cannot read LM {path}: {e}") from None
        kind = _accel.kernel("NgramModel") if impl == "native" else NgramModelPy
        try:
            if head == MAGIC:
                model = kind.open(str(path))
            else:
                from assistant.lm.arpa import read_arpa
                from assistant.lm.build import build_image

                image, _stats = build_image(read_arpa(path))
                model = kind.from_bytes(image)
        except _format_errors() as e:
            raise ModelError(f"{path}: {e}") from None
        except OSError as e:
            raise ModelError(f"cannot read LM {path}: {e}") from None
        _LOGGER.info(
            "loaded %s (order %d, %d words, %s) with the %s implementation",
            path,
            model.order,
            model.vocab_size,
            model.quantization,
            impl,
        )
        return cls(model, impl, path)

    @classmethod
    def from_bytes(cls, image: bytes, impl: str | None = None) -> NgramModel:
        """A model from an in-memory binary image (``build.build_image``)."""
        impl = _accel.choose(impl, "NgramModel")
        kind = _accel.kernel("NgramModel") if impl == "native" else NgramModelPy
        try:
            return cls(kind.from_bytes(image), impl)
        except _format_errors() as e:
            raise ModelError(str(e)) from None

    # ------------------------------------------------------------------ sentences (KenLM's API)

    def score(self, sentence: str, bos: bool = True, eos: bool = True) -> float:
        """Total log10 probability of the words (split on ASCII whitespace, as KenLM; never include <s> or
        </s>)."""
        return float(self._impl.score_text(sentence, bos, eos))

    def full_scores(self, sentence: str, bos: bool = True, eos: bool = True) -> list[WordScore]:
        """One WordScore per word, plus one for </s> when ``eos``."""
        _t, probs, lengths, ids = self._impl.score_words(_split(sentence), bos, eos)
        unk = self.unk_id
        return [
            WordScore(float(p), int(n), int(i) == unk) for p, n, i in zip(probs, lengths, ids, strict=True)
        ]

    def perplexity(self, sentence: str) -> float:
        """10 ** (-log10 p / number of words + 1 for </s>), as KenLM."""
        words = len(_split(sentence)) + 1
        return float(10.0 ** (-self.score(sentence) / words))

    def __contains__(self, word: str) -> bool:
        return self._impl.index(word) != self.unk_id

    def word_ids(self, words: list[str]) -> np.ndarray:
        """(n,) int32 word ids; the <unk> id for words not in the vocabulary."""
        return np.asarray(self._impl.word_ids(list(words)), dtype=np.int32)

    def word(self, word_id: int) -> str:
        return self._impl.word(int(word_id))

    def score_corpus(
        self, ids: np.ndarray, offsets: np.ndarray, bos: bool = True, eos: bool = True
    ) -> np.ndarray:
        """Total log10 of each sentence ``ids[offsets[s]:offsets[s+1]]`` (int32 ids): one call for all."""
        return np.asarray(
            self._impl.score_corpus(
                np.ascontiguousarray(ids, np.int32), np.ascontiguousarray(offsets, np.int64), bos, eos
            )
        )

    # ------------------------------------------------------------------ beam search

    def begin_state(self) -> np.ndarray:
        """The state after <s>: (order,) uint32."""
        row = np.zeros(self.order, np.uint32)
        if self.order > 1:
            row[0] = self.bos_id
            row[-1] = 1
        return row

    def null_state(self) -> np.ndarray:
        """The state with no context: (order,) uint32."""
        return np.zeros(self.order, np.uint32)

    def advance(self, states: np.ndarray, word_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Score ``word_ids[i]`` after ``states[i]`` for all i in one call.

        states (n, order) uint32, word_ids (n,) int32 -> (next_states (n, order) uint32, log10probs (n,)
        float32, ngram_lengths (n,) uint8). ValueError on malformed rows or ids out of range."""
        states = np.ascontiguousarray(states, dtype=np.uint32)
        if states.ndim == 1:
            states = states.reshape(1, -1)
        word_ids = np.ascontiguousarray(word_ids, dtype=np.int32).reshape(-1)
        return self._impl.advance(states, word_ids)

    def num_entries(self, n: int) -> int:
        """Stored n-grams of order n (blanks added for closure included)."""
        return int(self._impl.num_entries(n))

    @property
    def file_bytes(self) -> int:
        return int(self._impl.file_bytes)

    def __repr__(self) -> str:
        return (
            f"NgramModel(order={self.order}, vocab_size={self.vocab_size}, quantization={self.quantization!r}, "
            f"implementation={self.implementation!r})"
        )
