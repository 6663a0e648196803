"""TEST DOUBLE: a tiny pure-Python word n-gram LM with the surface of ``assistant.lm.ngram.NgramModel``.

It exists so LM fusion and n-best rescoring are tested for real before the native LM (issue 3) is merged;
it is not product code and is slow (dicts of tuples). It reads ARPA files (``load``) or estimates a
backoff model with absolute discounting from sentences (``from_sentences``); scores are log10, as the
real API's are. States are uint32 rows of the last ``order - 1`` word ids (``EMPTY`` pads the left).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

EMPTY = np.uint32(0xFFFFFFFF)


class ArpaLm:
    def __init__(
        self,
        order: int,
        probs: dict[tuple[int, ...], float],
        backoffs: dict[tuple[int, ...], float],
        vocab: list[str],
    ) -> None:
        self._order = order
        self._probs = probs  # n-gram of ids -> log10 p
        self._backoffs = backoffs  # context of ids -> log10 backoff
        self._words = vocab
        self._ids = {w: i for i, w in enumerate(vocab)}
        self.unk = self._ids["<unk>"]

    # ----------------------------------------------------------------------------- the NgramModel surface
    @property
    def order(self) -> int:
        return self._order

    @property
    def vocab_size(self) -> int:
        return len(self._words)

    def word_ids(self, words: list[str]) -> np.ndarray:
        return np.array([self._ids.get(w, self.unk) for w in words], dtype=np.int32)

    def __contains__(self, word: object) -> bool:
        return word in self._ids

    def begin_state(self) -> np.ndarray:
        row = np.full(self._order - 1, EMPTY, dtype=np.uint32)
        row[-1] = self._ids["<s>"]
        return row

    def null_state(self) -> np.ndarray:
        return np.full(self._order - 1, EMPTY, dtype=np.uint32)

    def advance(self, states: np.ndarray, word_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        states = np.asarray(states, dtype=np.uint32).reshape(len(word_ids), self._order - 1)
        nxt = np.empty_like(states)
        lp = np.empty(len(word_ids), dtype=np.float32)
        lens = np.empty(len(word_ids), dtype=np.uint8)
        for i, (row, w) in enumerate(zip(states, np.asarray(word_ids), strict=True)):
            hist = tuple(int(x) for x in row if x != EMPTY)
            lp[i], lens[i] = self._prob(hist, int(w))
            new = (hist + (int(w),))[-(self._order - 1) :]
            nxt[i] = EMPTY
            if new:
                nxt[i, -len(new) :] = new
        return nxt, lp, lens

    def score(self, sentence: str, bos: bool = True, eos: bool = True) -> float:
        hist: tuple[int, ...] = (self._ids["<s>"],) if bos else ()
        total = 0.0
        for w in sentence.split() + (["</s>"] if eos else []):
            wid = self._ids.get(w, self.unk)
            total += self._prob(hist, wid)[0]
            hist = (hist + (wid,))[-(self._order - 1) :]
        return total

    # ------------------------------------------------------------------------------------------ internals
    def _prob(self, hist: tuple[int, ...], w: int) -> tuple[float, int]:
        backoff = 0.0
        for n in range(len(hist), -1, -1):
            ctx = hist[len(hist) - n :]
            p = self._probs.get(ctx + (w,))
            if p is not None:
                return p + backoff, n + 1
            backoff += self._backoffs.get(ctx, 0.0)
        return self._probs[(self.unk,)] + backoff, 1

    @classmethod
    def load(cls, path: Path | str) -> ArpaLm:
        order = 0
        entries: list[tuple[list[str], float, float]] = []
        section = 0
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("\\data") or line.startswith("ngram "):
                continue
            if line.startswith("\\") and line.endswith("-grams:"):
                section = int(line[1:].split("-")[0])
                order = max(order, section)
                continue
            if line == "\\end\\":
                break
            if section:
                f = line.split()
                words = f[1 : 1 + section]
                entries.append((words, float(f[0]), float(f[1 + section]) if len(f) > 1 + section else 0.0))
        vocab = sorted({w for ws, _, _ in entries for w in ws} | {"<unk>", "<s>", "</s>"})
        ids = {w: i for i, w in enumerate(vocab)}
        probs, backoffs = {}, {}
        for ws, p, b in entries:
            key = tuple(ids[w] for w in ws)
            probs[key] = p
            if b:
                backoffs[key] = b
        if (ids["<unk>"],) not in probs:
            probs[(ids["<unk>"],)] = -100.0
        return cls(order, probs, backoffs, vocab)

    @classmethod
    def from_sentences(cls, sentences: list[str], order: int = 3, discount: float = 0.5) -> ArpaLm:
        """Absolute-discounting backoff estimate; unigrams add-one smoothed (so <unk> has mass)."""
        vocab = sorted({w for s in sentences for w in s.split()} | {"<unk>", "<s>", "</s>"})
        ids = {w: i for i, w in enumerate(vocab)}
        counts: list[Counter] = [Counter() for _ in range(order + 1)]
        for s in sentences:
            toks = [ids["<s>"]] + [ids[w] for w in s.split()] + [ids["</s>"]]
            for n in range(1, order + 1):
                for i in range(len(toks) - n + 1):
                    counts[n][tuple(toks[i : i + n])] += 1
        probs: dict[tuple[int, ...], float] = {}
        backoffs: dict[tuple[int, ...], float] = {}
        total = sum(c for g, c in counts[1].items() if g != (ids["<s>"],))
        v = len(vocab) - 1  # <s> is never predicted
        uni = {}
        for w in range(len(vocab)):
            if w == ids["<s>"]:
                continue
            uni[w] = (counts[1].get((w,), 0) + 1) / (total + v)
            probs[(w,)] = math.log10(uni[w])
        probs[(ids["<s>"],)] = -99.0
        lower = {(w,): p for w, p in uni.items()}
        for n in range(2, order + 1):
            by_ctx: dict[tuple[int, ...], dict[int, int]] = defaultdict(dict)
            for g, c in counts[n].items():
                by_ctx[g[:-1]][g[-1]] = c
            cur = {}
            for ctx, nexts in by_ctx.items():
                c_ctx = sum(nexts.values())
                seen_lower = 0.0
                for w, c in nexts.items():
                    p = (c - discount) / c_ctx
                    cur[ctx + (w,)] = p
                    seen_lower += _lower_prob(lower, ctx[1:], w)
                alpha = (discount * len(nexts) / c_ctx) / max(1e-9, 1.0 - seen_lower)
                backoffs[ctx] = math.log10(alpha)
            for g, p in cur.items():
                probs[g] = math.log10(p)
            lower = {**lower, **{g: p for g, p in cur.items()}}
            lower["__backoff__"] = backoffs  # type: ignore[assignment]
        return cls(order, probs, backoffs, vocab)


def _lower_prob(table: dict, ctx: tuple[int, ...], w: int) -> float:
    """p(w | ctx) under the model built so far (for normalising backoff weights)."""
    backoffs = table.get("__backoff__", {})
    b = 1.0
    for n in range(len(ctx), -1, -1):
        c = ctx[len(ctx) - n :]
        p = table.get(c + (w,))
        if p is not None:
            return p * b
        b *= 10 ** backoffs.get(c, 0.0)
    return 0.0
