"""An independent interpolated modified Kneser-Ney model, written straight from Chen & Goodman (1998)
with dicts and recursion: the oracle the vectorized estimator (assistant/lm/estimate.py) is checked against.
Same conventions: sentences padded <s> .. </s>, <s> never predicted, n-grams within a sentence, raw counts
at the top order and for n-grams starting with <s>, continuation counts below, unigrams interpolated with
the uniform distribution over the vocabulary without <s> (<unk> included)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

BOS, EOS, UNK = "<s>", "</s>", "<unk>"


class ReferenceKN:
    def __init__(self, sentences: list[list[str]], order: int) -> None:
        self.order = order
        padded = [[BOS, *s, EOS] for s in sentences]
        self.vocab = {UNK, BOS, EOS} | {w for s in sentences for w in s}
        raw = [Counter() for _ in range(order + 1)]
        for s in padded:
            for n in range(1, order + 1):
                for i in range(len(s) - n + 1):
                    g = tuple(s[i : i + n])
                    if n == 1 and g[0] == BOS:
                        continue
                    raw[n][g] += 1
        self.count = [Counter() for _ in range(order + 1)]
        self.count[order] = raw[order]
        for n in range(1, order):
            left = defaultdict(set)
            for g in raw[n + 1]:
                left[g[1:]].add(g[0])
            for g, c in raw[n].items():
                self.count[n][g] = c if g[0] == BOS else len(left[g])
        self.disc = []
        for n in range(order + 1):
            cc = Counter(self.count[n].values()) if n else Counter()
            n1, n2, n3, n4 = cc[1], cc[2], cc[3], cc[4]
            try:
                y = n1 / (n1 + 2 * n2)
                d = (1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3)
                if not all(0 < dk <= k + 1 for k, dk in enumerate(d)):
                    raise ZeroDivisionError
            except ZeroDivisionError:
                d = (0.5, 1.0, 1.5)
            self.disc.append(d)
        self.ctx_total = [defaultdict(float) for _ in range(order + 1)]
        self.ctx_nk = [defaultdict(lambda: [0, 0, 0]) for _ in range(order + 1)]
        for n in range(1, order + 1):
            for g, c in self.count[n].items():
                h = g[:-1]
                self.ctx_total[n][h] += c
                self.ctx_nk[n][h][min(c, 3) - 1] += 1

    def _d(self, n: int, c: int) -> float:
        return 0.0 if c == 0 else self.disc[n][min(c, 3) - 1]

    def prob(self, w: str, h: tuple[str, ...]) -> float:
        """Interpolated p(w | h), h truncated to order-1 words."""
        if w not in self.vocab:
            w = UNK
        h = tuple(x if x in self.vocab else UNK for x in h)[-(self.order - 1) :] if self.order > 1 else ()
        return self._p(w, h)

    def _p(self, w: str, h: tuple[str, ...]) -> float:
        n = len(h) + 1
        total = self.ctx_total[n].get(h, 0.0)
        lower = 1.0 / (len(self.vocab) - 1) if n == 1 else self._p(w, h[1:])
        if total == 0:
            return lower
        c = self.count[n].get(h + (w,), 0)
        d = self.disc[n]
        nk = self.ctx_nk[n][h]
        gamma = (d[0] * nk[0] + d[1] * nk[1] + d[2] * nk[2]) / total
        return (c - self._d(n, c)) / total + gamma * lower

    def log10_sentence(self, words: list[str]) -> float:
        h: tuple[str, ...] = (BOS,)
        total = 0.0
        for w in [*words, EOS]:
            total += math.log10(self.prob(w, h))
            h = (*h, w)
        return total

    def log10_sentence_total(self, sentences: list[list[str]]) -> float:
        return sum(self.log10_sentence(s) for s in sentences)
