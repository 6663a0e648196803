"""Interpolated modified Kneser-Ney estimation (Chen & Goodman 1998; the method of KenLM's lmplz, which has
no estimator on PyPI), vectorized with numpy: a few million words take seconds.

    arpa = estimate(iter_sentences(["corpus.txt"]), order=3)     # ArpaModel
    write_arpa(arpa, "out.arpa")

Conventions (the ones lmplz uses): every line is a sentence, padded as ``<s> w1 .. wk </s>``; ``<s>`` is a
context, never predicted (log10 p = -99); n-grams do not cross sentences. The highest order uses raw counts,
lower orders continuation counts (the number of distinct words seen before), except n-grams that start with
``<s>``, which keep raw counts. Discounts D1, D2, D3+ per order come from the counts of counts; where a
small corpus leaves them undefined the fallback (0.5, 1.0, 1.5) is used, as lmplz's --discount_fallback.
Unigrams interpolate with the uniform distribution over the vocabulary (``<unk>`` included, ``<s>`` not).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.lm.arpa import BOS, EOS, MAX_ORDER, UNK, ArpaModel, open_text
from assistant.lm.build import ngram_hashes
from assistant.models import ModelError

_LOGGER = logging.getLogger(__name__)

FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)
BOS_LOG10PROB = -99.0
"""log10 probability written for <s>, which is never predicted (the ARPA convention)"""


@dataclass(frozen=True, slots=True)
class Discounts:
    d1: float
    d2: float
    d3plus: float
    fallback: bool = False

    def of(self, counts: np.ndarray) -> np.ndarray:
        return np.where(
            counts >= 3, self.d3plus, np.where(counts == 2, self.d2, np.where(counts == 1, self.d1, 0.0))
        )


def iter_sentences(paths: Iterable[Path | str]) -> Iterator[list[str]]:
    """Whitespace-tokenized non-empty lines of text files (gzip read transparently)."""
    for path in paths:
        try:
            with open_text(path) as f:
                for line in f:
                    words = line.split()
                    if words:
                        yield words
        except UnicodeDecodeError as e:
            raise ModelError(f"{path}: not UTF-8 text ({e.reason})") from None


def discounts_from_counts(adjusted: np.ndarray) -> Discounts:
    n = [int(np.count_nonzero(adjusted == k)) for k in (1, 2, 3, 4)]
    try:
        y = n[0] / (n[0] + 2 * n[1])
        d = (1 - 2 * y * n[1] / n[0], 2 - 3 * y * n[2] / n[1], 3 - 4 * y * n[3] / n[2])
    except ZeroDivisionError:
        return Discounts(*FALLBACK_DISCOUNTS, fallback=True)
    if not all(0 < dk <= k + 1 for k, dk in enumerate(d)):
        _LOGGER.debug("discounts %s from counts of counts %s are out of range", d, n)
        return Discounts(*FALLBACK_DISCOUNTS, fallback=True)
    return Discounts(*d)


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lexicographically sorted unique rows of an (m, n) int32 array, and their counts."""
    if len(rows) == 0:
        return rows, np.zeros(0, np.int64)
    order = np.lexsort(rows.T[::-1])
    s = rows[order]
    new = np.ones(len(s), bool)
    new[1:] = np.any(s[1:] != s[:-1], axis=1)
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, len(s)))
    return s[starts], counts


def _index_of(keys_sorted: np.ndarray, perm: np.ndarray, query: np.ndarray) -> np.ndarray:
    pos = np.minimum(np.searchsorted(keys_sorted, query), len(keys_sorted) - 1)
    if not np.all(keys_sorted[pos] == query):
        raise AssertionError("lower-order n-gram missing")  # the counting guarantees presence
    return perm[pos]


def estimate(
    sentences: Iterable[list[str]],
    order: int,
    progress: Callable[[str, int], None] | None = None,
    warn_fallback: bool = True,
) -> ArpaModel:
    """Estimate an interpolated modified Kneser-Ney model of ``order`` (1..6) from tokenized sentences.
    ``progress(stage, n)`` is called as words are read (stage "words") and as orders finish ("order").
    ``warn_fallback``: log the fixed discounts used where an order has too few n-grams as a warning
    (``assistant lm train``) or only at debug level (the small domain LM built at every start)."""
    if not 1 <= order <= MAX_ORDER:
        raise ValueError(f"order must be in [1, {MAX_ORDER}], got {order}")
    index: dict[str, int] = {UNK: 0, BOS: 1, EOS: 2}
    tokens: list[int] = []
    sent_id: list[int] = []
    num_sentences = 0
    for words in sentences:
        ids = [1]
        for w in words:
            if w in (BOS, EOS):
                continue  # markers in the text would double the padding
            i = index.get(w)
            if i is None:
                i = index[w] = len(index)
            ids.append(i)
        ids.append(2)
        tokens.extend(ids)
        sent_id.extend([num_sentences] * len(ids))
        num_sentences += 1
        if progress is not None and num_sentences % 10000 == 0:
            progress("words", len(tokens))
    if num_sentences == 0:
        raise ModelError("no text to estimate from")
    vocab = list(index)
    V = len(vocab)
    corpus = np.asarray(tokens, np.int32)
    sid = np.asarray(sent_id, np.int64)
    T = len(corpus)

    # ---- counts: raw for every order, adjusted (continuation) below the top
    grams: dict[int, np.ndarray] = {}
    adjusted: dict[int, np.ndarray] = {}
    raw: dict[int, np.ndarray] = {}
    for n in range(1, order + 1):
        if n > T:
            grams[n] = np.zeros((0, n), np.int32)
            raw[n] = np.zeros(0, np.int64)
            continue
        starts = np.arange(T - n + 1)
        ok = sid[starts] == sid[starts + n - 1]
        starts = starts[ok]
        rows = np.stack([corpus[starts + j] for j in range(n)], axis=1)
        if n == 1:
            rows = rows[rows[:, 0] != 1]  # <s> is never predicted
        grams[n], raw[n] = _unique_rows(rows)
    while order > 1 and len(grams[order]) == 0:
        _LOGGER.warning(
            "no %d-grams in the text (sentences too short); the model's order is %d", order, order - 1
        )
        del grams[order], raw[order]
        order -= 1
    for n in range(1, order + 1):
        if n == order:
            adjusted[n] = raw[n].astype(np.int64)
            continue
        suffix_rows, cont = _unique_rows(grams[n + 1][:, 1:])
        keys = ngram_hashes(grams[n])
        perm = np.argsort(keys)
        idx = _index_of(keys[perm], perm, ngram_hashes(suffix_rows))
        a = np.zeros(len(grams[n]), np.int64)
        a[idx] = cont
        bos_initial = grams[n][:, 0] == 1
        a[bos_initial] = raw[n][bos_initial]
        adjusted[n] = a

    # ---- probabilities, lowest order first
    model = ArpaModel(vocab=vocab)
    prob: dict[int, np.ndarray] = {}  # interpolated p (not log) per order, aligned with grams[n]
    gamma_of: dict[int, np.ndarray] = {}  # back-off weight (not log) per n-gram of order n (as context)
    for n in range(1, order + 1):
        g = grams[n]
        a = adjusted[n]
        disc = discounts_from_counts(a)
        if disc.fallback:
            (_LOGGER.warning if warn_fallback else _LOGGER.debug)(
                "order %d: too few n-grams for modified Kneser-Ney discounts; using %s", n, FALLBACK_DISCOUNTS
            )
        d = disc.of(a)
        if n == 1:
            total = a.sum()
            n1, n2, n3 = (np.count_nonzero(a == 1), np.count_nonzero(a == 2), np.count_nonzero(a >= 3))
            gamma0 = (disc.d1 * n1 + disc.d2 * n2 + disc.d3plus * n3) / total
            num_predictable = V - 1  # everything but <s>
            p_full = np.full(V, gamma0 / num_predictable)
            p_full[g[:, 0]] += (a - d) / total
            p_full[1] = 0.0
            prob[1] = p_full  # by word id
        else:
            # rows are sorted, so each context is a contiguous group
            ctx_new = np.ones(len(g), bool)
            ctx_new[1:] = np.any(g[1:, :-1] != g[:-1, :-1], axis=1)
            group = np.cumsum(ctx_new) - 1
            totals = np.bincount(group, weights=a)
            nk = [np.bincount(group, weights=(a == k)) for k in (1, 2)] + [
                np.bincount(group, weights=(a >= 3))
            ]
            gamma = (disc.d1 * nk[0] + disc.d2 * nk[1] + disc.d3plus * nk[2]) / totals
            if n == 2:
                lower = prob[1][g[:, 1]]
            else:
                keys = ngram_hashes(grams[n - 1])
                perm = np.argsort(keys)
                lower = prob[n - 1][_index_of(keys[perm], perm, ngram_hashes(g[:, 1:]))]
            prob[n] = (a - d) / totals[group] + gamma[group] * lower
            # the context's back-off weight belongs to the (n-1)-gram
            ctx_rows = g[ctx_new, :-1]
            bo = np.ones(len(grams[n - 1]) if n > 2 else V)
            if n == 2:
                bo[ctx_rows[:, 0]] = gamma
            else:
                keys = ngram_hashes(grams[n - 1])
                perm = np.argsort(keys)
                bo[_index_of(keys[perm], perm, ngram_hashes(ctx_rows))] = gamma
            gamma_of[n - 1] = bo
        if progress is not None:
            progress("order", n)

    # ---- ARPA arrays
    with np.errstate(divide="ignore"):
        uni_p = np.log10(prob[1])
    uni_p[1] = BOS_LOG10PROB
    model.ids[1] = np.arange(V, dtype=np.int32).reshape(V, 1)
    model.log10probs[1] = uni_p.astype(np.float32)
    model.log10backoffs[1] = (np.log10(gamma_of[1]) if order > 1 else np.zeros(V)).astype(np.float32)
    for n in range(2, order + 1):
        model.ids[n] = grams[n].astype(np.int32)
        model.log10probs[n] = np.log10(prob[n]).astype(np.float32)
        bo = np.log10(gamma_of[n]) if n < order else np.zeros(len(grams[n]))
        model.log10backoffs[n] = bo.astype(np.float32)
    return model
