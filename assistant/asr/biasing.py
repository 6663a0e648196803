"""Contextual biasing: boost phrases (device and room names) token by token while they are matched.

A phrase list is compiled into a token trie with Aho-Corasick failure links (as icefall's ContextGraph).
A hypothesis carries one node id. Each token it emits moves it along the trie: a matched token adds
``boost`` to the score; leaving a phrase before its end takes back everything that partial match added
(so an unfinished phrase costs and gains nothing); completing it keeps the boost and returns to the root
(a phrase that extends a complete shorter phrase is matched from its start again). Failure links let
a match that breaks off continue inside another phrase.

``deltas(nodes)`` gives, for every hypothesis and every token at once, the score change and the next
node, so beam search applies biasing to all candidates of a step with array arithmetic.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

FULL_TABLE_ENTRIES = 1 << 19
"""the most node x token entries kept as whole tables (6 MB); a larger graph computes each step's rows"""


class ContextGraph:
    def __init__(
        self, phrases: Sequence[Sequence[int]], boost: float, vocab_size: int, exclude: Sequence[int] = ()
    ) -> None:
        """``phrases`` as token-id sequences; ``exclude`` (blank) never moves the state."""
        self.boost = float(boost)
        self.vocab_size = vocab_size
        children: list[dict[int, int]] = [{}]
        depth = [0]
        is_end = [False]
        for phrase in phrases:
            if not phrase:
                continue
            node = 0
            for t in phrase:
                if not 0 <= t < vocab_size:
                    raise ValueError(f"token id {t} outside the vocabulary")
                nxt = children[node].get(t)
                if nxt is None:
                    nxt = len(children)
                    children[node][t] = nxt
                    children.append({})
                    depth.append(depth[node] + 1)
                    is_end.append(False)
                node = nxt
            is_end[node] = True
        n = len(children)
        fail = [0] * n
        queue = deque(children[0].values())
        while queue:
            u = queue.popleft()
            for t, v in children[u].items():
                f = fail[u]
                while f and t not in children[f]:
                    f = fail[f]
                fail[v] = children[f][t] if t in children[f] and children[f][t] != v else 0
                queue.append(v)
        self.num_nodes = n
        self._children = children
        self._fail = fail
        self._is_end = is_end
        # node score = boost * depth: what a partial match has added so far
        self.node_score = np.array(depth, dtype=np.float32) * self.boost
        self._exclude = np.array(sorted(set(exclude)), dtype=np.int64)
        # dense transition table over the (few) tokens that appear in any phrase; others go to the root
        self._tokens = np.array(sorted({t for c in children for t in c}), dtype=np.int64)
        self._next = np.zeros((n, len(self._tokens)), dtype=np.int64)
        self._gain = np.zeros((n, len(self._tokens)), dtype=np.float32)
        for s in range(n):
            for j, t in enumerate(self._tokens.tolist()):
                nxt = self._goto(s, int(t))
                gain = self.node_score[nxt] - self.node_score[s]
                if self._is_end[nxt]:  # completed: the boost is kept and matching starts over at the root
                    nxt = 0
                self._next[s, j] = nxt
                self._gain[s, j] = gain
        # every node's whole row, where that is small (n x V <= FULL_TABLE_ENTRIES): a step gathers its rows
        self._full: tuple[np.ndarray, np.ndarray] | None = None
        if n * vocab_size <= FULL_TABLE_ENTRIES:
            self._full = self._deltas(np.arange(n, dtype=np.int64))

    def _goto(self, s: int, t: int) -> int:
        while s and t not in self._children[s]:
            s = self._fail[s]
        return self._children[s].get(t, 0)

    def deltas(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``nodes (H,)`` -> ``(score change (H, V) float32, next node (H, V) int64)``."""
        nodes = np.asarray(nodes, dtype=np.int64)
        if self._full is not None:
            return self._full[0][nodes], self._full[1][nodes]
        return self._deltas(nodes)

    def _deltas(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = len(nodes)
        delta = np.repeat(-self.node_score[nodes][:, None], self.vocab_size, axis=1)
        nxt = np.zeros((h, self.vocab_size), dtype=np.int64)
        if len(self._tokens):
            delta[:, self._tokens] = self._gain[nodes]
            nxt[:, self._tokens] = self._next[nodes]
        if len(self._exclude):
            delta[:, self._exclude] = 0.0
            nxt[:, self._exclude] = nodes[:, None]
        return delta, nxt

    def finish(self, nodes: np.ndarray) -> np.ndarray:
        """Score change at the end of the utterance: unfinished matches are taken back."""
        return -self.node_score[np.asarray(nodes, dtype=np.int64)]
