"""Transducer search over joiner logits: greedy and modified beam search, with LM fusion and biasing.

Both searches follow sherpa-onnx's online decoders, so the same model gives the same result:

* **greedy**: at most one symbol per encoder frame; the decoder is rerun only after an emission. The
  joiner scores every remaining frame of a chunk against the current decoder output in one call, so a
  chunk costs one joiner call plus one per emitted token.
* **modified beam search**: at most one symbol per frame; per frame, all hypotheses are scored at once
  (their decoder outputs cached by context; joiner rows for a context that is new in the beam computed in
  one call for it and every remaining frame of the chunk, so a frame makes at most one joiner call); the
  ``beam_size`` best (hypothesis, token) pairs over the whole ``(H, V)`` table survive; hypotheses with the
  same tokens are merged (log-add); the best is chosen by score divided by its token count (sherpa's
  length norm).

Shallow fusion (``lm``): BPE pieces are joined into words; when a hypothesis starts a new word, the word
it finished is scored by the LM (natural log, times ``lm_weight``, plus ``lm_word_bonus``). The LM state is
carried per hypothesis, and a frame's pending words are scored in one batched ``advance`` before the top-k,
so fusion ranks the candidates, not just the survivors (cached per hypothesis, so frames that only add
blanks cost no LM call). ``finalize`` scores the last word and ``</s>``.

Biasing (``context``): ``ContextGraph`` deltas are added to the same ``(H, V)`` table before the top-k.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from assistant.asr.biasing import ContextGraph
from assistant.asr.lm_protocol import LN10, WordLm
from assistant.asr.tokens import SymbolTable

DecodeFn = Callable[[np.ndarray], np.ndarray]
"""(n, context_size) int64 contexts -> (n, joiner_dim) float32 decoder outputs"""
JoinFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(n, joiner_dim) encoder frames, (n, joiner_dim) decoder outputs -> (n, vocab) float32 logits"""


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """One recognition result. Scores are natural log."""

    tokens: tuple[int, ...]
    """emitted token ids (no blanks, no initial context)"""
    text: str
    frames: tuple[int, ...]
    """encoder frame index of each token"""
    am_logprob: float
    lm_logprob: float = 0.0
    """LM score of the words (natural log, unweighted)"""
    score: float = 0.0
    """what the search ranked by: am + lm_weight * lm + bonuses + biasing"""


def log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=-1, keepdims=True)
    y = x - m
    return y - np.log(np.exp(y).sum(axis=-1, keepdims=True))


# ------------------------------------------------------------------------------------------------ greedy


@dataclass
class GreedySearch:
    """One stream's greedy state (the decoder output is cached until the next emission)."""

    context_size: int
    blank_id: int
    unk_id: int
    blank_penalty: float
    tokens: list[int] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    am_logprob: float = 0.0
    num_trailing_blanks: int = 0
    num_frames: int = 0
    _decoder_out: np.ndarray | None = None

    _dec_cache: dict[tuple[int, ...], np.ndarray] = field(default_factory=dict)

    def context(self) -> tuple[int, ...]:
        ctx = [-1] * (self.context_size - 1) + [self.blank_id] + self.tokens[-self.context_size :]
        return tuple(ctx[-self.context_size :])

    def _decode(self, decode: DecodeFn) -> np.ndarray:
        key = self.context()
        out = self._dec_cache.get(key)
        if out is None:  # contexts recur (a short context over a small vocabulary): run each once
            if len(self._dec_cache) >= 1024:
                self._dec_cache.clear()
            out = self._dec_cache[key] = decode(np.array([key], dtype=np.int64))
        return out

    def step(self, encoder_out: np.ndarray, decode: DecodeFn, join: JoinFn) -> None:
        """Consume ``(T, joiner_dim)`` encoder frames."""
        if self._decoder_out is None:
            self._decoder_out = self._decode(decode)
        t, n = 0, encoder_out.shape[0]
        while t < n:
            logits = join(encoder_out[t:], np.repeat(self._decoder_out, n - t, axis=0))
            if self.blank_penalty:
                logits[:, self.blank_id] -= self.blank_penalty
            ys = logits.argmax(axis=1)
            emit = (ys != self.blank_id) & (ys != self.unk_id)
            k = int(emit.argmax()) if emit.any() else -1
            last = n - t if k < 0 else k + 1
            rows = logits[:last]
            best = rows[np.arange(last), ys[:last]]
            # log-softmax of the chosen entries only: x - logsumexp(x), with the row max being the choice
            self.am_logprob -= float(np.log(np.exp(rows - best[:, None]).sum(axis=1)).sum())
            if k < 0:
                self.num_trailing_blanks += n - t
                break
            self.tokens.append(int(ys[k]))
            self.frames.append(self.num_frames + t + k)
            self.num_trailing_blanks = 0
            self._decoder_out = self._decode(decode)
            t += k + 1
        self.num_frames += n


# ------------------------------------------------------------------------------------------ beam search


DECODER_CACHE_SIZE = 4096
"""decoder outputs kept per cache (4 MB at a joiner dimension of 256); past it, the cache starts again"""


def top_k(table: np.ndarray, k: int) -> np.ndarray:
    """Flat indices of the ``k`` largest entries of the ``(H, V)`` table, best first, equal ones by index.

    Each row's best entry is a candidate, so where there are at least ``k`` rows the ``k``-th best of the
    row maxima bounds the ``k``-th best entry from below, and only the entries at or above it (a few dozen
    of thousands) are sorted. A full ``argpartition`` of the table took about a tenth of a frame's time."""
    flat = table.reshape(-1)
    h = table.shape[0]
    if k <= h:
        bound = np.partition(table.max(axis=1), h - k)[h - k]
    else:
        bound = np.partition(flat, flat.size - k)[flat.size - k]
    cand = np.flatnonzero(flat >= bound)
    if cand.size > 16 * k:  # a flat beam: the k-th best of these instead
        vals = flat[cand]
        cand = cand[vals >= np.partition(vals, vals.size - k)[vals.size - k]]
    return cand[np.argsort(-flat[cand], kind="stable")[:k]]


@dataclass(slots=True)
class _Hyp:
    ys: tuple[int, ...]
    """initial context + emitted tokens"""
    frames: tuple[int, ...]
    score: float
    am: float
    lm: float
    lm_state: np.ndarray | None
    word: tuple[int, ...]
    """pieces of the word being spelled (not yet scored by the LM)"""
    node: int
    """context-graph node"""
    num_trailing_blanks: int


def _log_add(a: float, b: float) -> float:
    hi, lo = (a, b) if a > b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


class BeamSearch:
    """One stream's modified beam search state."""

    def __init__(
        self,
        symbols: SymbolTable,
        context_size: int,
        beam_size: int,
        blank_penalty: float,
        lm: WordLm | None = None,
        lm_weight: float = 0.0,
        lm_word_bonus: float = 0.0,
        context: ContextGraph | None = None,
        temperature: float | None = 1.0,
        ilm_weight: float = 0.0,
        decoder_cache: dict[tuple[int, ...], np.ndarray] | None = None,
    ) -> None:
        self.symbols = symbols
        self.temperature = 1.0 if temperature is None else float(temperature)
        self.context_size = context_size
        self.beam_size = beam_size
        self.blank_penalty = blank_penalty
        self.lm = lm if lm is not None and lm_weight > 0 else None
        self.lm_weight = lm_weight
        self.lm_word_bonus = lm_word_bonus
        self.ilm_weight = float(ilm_weight)
        self.context = context
        v = len(symbols)
        self._word_start = np.array([symbols.starts_word(i) for i in range(v)])
        self._emits = np.ones(v, dtype=bool)
        self._emits[symbols.blank_id] = False
        if symbols.unk_id >= 0:
            self._emits[symbols.unk_id] = False
        self._dec_cache = {} if decoder_cache is None else decoder_cache
        """decoder context -> its output: the decoder is stateless, so a model's streams can share one"""
        self._ilm_cache: dict[tuple[int, ...], np.ndarray] = {}
        """decoder context -> ilm_weight x the internal LM's log-probabilities of the next token (blank 0)"""
        self._lm_cache: dict[tuple[int, ...], tuple[float, np.ndarray]] = {}
        """ys -> (natural-log LM score of its pending word, the LM state after it)"""
        self._word_ids: dict[tuple[int, ...], int] = {}
        """a word's pieces -> the LM's id of that word"""
        start = (-1,) * (context_size - 1) + (symbols.blank_id,)
        lm_state = self.lm.begin_state().reshape(-1) if self.lm is not None else None
        self.hyps: list[_Hyp] = [_Hyp(start, (), 0.0, 0.0, 0.0, lm_state, (), 0, 0)]
        self.num_frames = 0

    def _word_words(self, pieces: tuple[int, ...]) -> str:
        return "".join(self.symbols.pieces[t] for t in pieces).lstrip("\u2581")

    def _pending_lm(self) -> tuple[np.ndarray, list[np.ndarray] | None]:
        """Per hypothesis, the fused score its pending word would add if it ended now, and the next states."""
        hyps = self.hyps
        h = len(hyps)
        bonus = np.zeros(h, dtype=np.float64)
        if self.lm is None:
            return bonus, None
        next_states = [hyp.lm_state for hyp in hyps]
        self._pending_lp = pending = np.zeros(h)
        rows = [i for i, hyp in enumerate(hyps) if hyp.word]
        cache = self._lm_cache
        if len(cache) > 4096:  # bounded; cleared before it is read, so every row below is in it
            cache.clear()
        # a hypothesis that only added blanks has the same pending word as last frame: scored once
        todo = [i for i in rows if hyps[i].ys not in cache]
        if todo:
            ids = [self._word_id(hyps[i].word) for i in todo]
            states, lp, _ = self.lm.advance(np.stack([hyps[i].lm_state for i in todo]),
                                            np.asarray(ids, dtype=np.int32))
            for j, i in enumerate(todo):
                cache[hyps[i].ys] = (float(lp[j]) * LN10, states[j])
        for i in rows:
            pending[i], next_states[i] = cache[hyps[i].ys]
        if rows:
            bonus[rows] = self.lm_weight * pending[rows] + self.lm_word_bonus
        return bonus, next_states

    def _word_id(self, pieces: tuple[int, ...]) -> int:
        """the LM's id of the word these pieces spell (cached: a beam spells the same words over and over)"""
        wid = self._word_ids.get(pieces)
        if wid is None:
            if len(self._word_ids) > 4096:
                self._word_ids.clear()
            wid = self._word_ids[pieces] = int(self.lm.word_ids([self._word_words(pieces)])[0])
        return wid

    def step(self, encoder_out: np.ndarray, decode: DecodeFn, join: JoinFn) -> None:
        # Joiner rows for every (decoder context, remaining frame of the chunk), computed when a context
        # first appears in the beam: one joiner call covers it for the rest of the chunk, so a chunk costs
        # one call per new context rather than one per frame. Each row is the same joiner arithmetic. The
        # rows live in one (contexts, frames, V) buffer, so a frame gathers its hypotheses' rows at once.
        self._chunk_row: dict[tuple[int, ...], int] = {}
        self._chunk_logits = np.empty((0, encoder_out.shape[0], 0), dtype=np.float32)
        self._chunk_enc = encoder_out
        for t in range(encoder_out.shape[0]):
            self._frame(t, decode, join)
            self.num_frames += 1

    def _joined(self, t: int, decode: DecodeFn, join: JoinFn) -> np.ndarray:
        keys = [h.ys[-self.context_size :] for h in self.hyps]
        where = self._chunk_row
        missing = list(dict.fromkeys(k for k in keys if k not in where))
        if missing:
            dec = self._decoder_out_for(missing, decode)
            enc = self._chunk_enc[t:]
            n = enc.shape[0]
            rows = join(np.tile(enc, (len(missing), 1)), np.repeat(dec, n, axis=0))
            used, buf = len(where), self._chunk_logits
            if used + len(missing) > buf.shape[0] or buf.shape[2] != rows.shape[1]:  # grown by doubling
                grown = np.empty((max(2 * buf.shape[0], used + len(missing), 2 * self.beam_size),
                                  self._chunk_enc.shape[0], rows.shape[1]), dtype=rows.dtype)
                if used:
                    grown[:used] = buf[:used]
                self._chunk_logits = buf = grown
            buf[used : used + len(missing), t:] = rows.reshape(len(missing), n, -1)
            for j, k in enumerate(missing):
                where[k] = used + j
        return self._chunk_logits[[where[k] for k in keys], t]

    def _decoder_out_for(self, keys: list[tuple[int, ...]], decode: DecodeFn) -> np.ndarray:
        cache = self._dec_cache  # maybe shared: read once per key, so another stream's clear() is harmless
        got = {k: cache.get(k) for k in keys}
        missing = [k for k, row in got.items() if row is None]
        if missing:
            out = decode(np.array(missing, dtype=np.int64))
            if len(cache) > DECODER_CACHE_SIZE:  # bounded
                cache.clear()
            for k, row in zip(missing, out, strict=True):
                got[k] = cache[k] = row
            if len(missing) == len(keys):
                return out
        return np.array([got[k] for k in keys])

    def _ilm_penalty(self, decode: DecodeFn, join: JoinFn) -> np.ndarray:
        """(H, V): ``ilm_weight`` x each hypothesis's internal LM log-probability of each next token.

        The internal LM (icefall's ILME) is what the prediction network alone predicts: the joiner on a
        zero encoder frame, softmax over the non-blank tokens. Subtracting it from the transducer's scores
        leaves (about) the acoustic evidence, so the external LM's fusion does not add to the training
        text's own statistics twice. Cached per decoder context.
        """
        keys = [h.ys[-self.context_size :] for h in self.hyps]
        missing = list(dict.fromkeys(k for k in keys if k not in self._ilm_cache))
        if missing:
            dec = self._decoder_out_for(missing, decode)
            logits = join(np.zeros_like(dec), dec).astype(np.float32)
            logits[:, ~self._emits] = -np.inf
            ilm = np.where(self._emits[None, :], log_softmax(logits), 0.0) * self.ilm_weight
            if len(self._ilm_cache) > 4096:
                self._ilm_cache.clear()
            for k, row in zip(missing, ilm, strict=True):
                self._ilm_cache[k] = row
        return np.stack([self._ilm_cache[k] for k in keys])

    def _frame(self, t: int, decode: DecodeFn, join: JoinFn) -> None:
        hyps = self.hyps
        logits = self._joined(t, decode, join)
        if self.blank_penalty:
            logits[:, self.symbols.blank_id] -= self.blank_penalty
        if self.temperature != 1.0:
            logits = logits / np.float32(self.temperature)
        am = log_softmax(logits)  # float32, as sherpa-onnx
        base = np.array([hy.score for hy in hyps])
        total = am + base[:, None]
        lm_bonus, lm_next = self._pending_lm()
        if self.lm is not None:
            total += lm_bonus[:, None] * self._word_start[None, :]
        if self.ilm_weight:
            total -= self._ilm_penalty(decode, join)
        if self.context is not None:
            nodes = np.array([hy.node for hy in hyps])
            bias, bias_next = self.context.deltas(nodes)
            bias = np.where(self._emits[None, :], bias, 0.0)
            total += bias
        flat = total.reshape(-1)
        top = top_k(total, min(self.beam_size, flat.size))
        merged: dict[tuple[int, ...], _Hyp] = {}
        rows, toks = np.divmod(top, logits.shape[1])
        picked = zip(rows.tolist(), toks.tolist(), flat[top].tolist(), am[rows, toks].tolist(),
                     self._emits[toks].tolist(), strict=True)
        for i, tok, score, am_tok, emits in picked:
            prev = hyps[i]
            am_score = prev.am + am_tok
            if not emits:
                new = _Hyp(
                    prev.ys,
                    prev.frames,
                    score,
                    am_score,
                    prev.lm,
                    prev.lm_state,
                    prev.word,
                    prev.node,
                    prev.num_trailing_blanks + 1,
                )
            else:
                lm_score, lm_state, word = prev.lm, prev.lm_state, prev.word + (tok,)
                if self.lm is not None and self._word_start[tok] and prev.word:
                    lm_score += float(self._pending_lp[i])
                    lm_state = lm_next[i]
                    word = (tok,)
                node = int(bias_next[i, tok]) if self.context is not None else 0
                new = _Hyp(
                    prev.ys + (tok,),
                    prev.frames + (self.num_frames,),
                    score,
                    am_score,
                    lm_score,
                    lm_state,
                    word,
                    node,
                    0,
                )
            old = merged.get(new.ys)
            if old is None:
                merged[new.ys] = new
            else:  # same tokens by another path: probabilities add
                old.score = _log_add(old.score, new.score)
                old.am = _log_add(old.am, new.am)
        self.hyps = list(merged.values())

    def _best_index(self, scores: list[float]) -> int:
        normed = [s / len(h.ys) for s, h in zip(scores, self.hyps, strict=True)]
        return int(np.argmax(normed))

    def best(self) -> _Hyp:
        hyps = self.hyps  # one snapshot: another thread may advance the search meanwhile
        return hyps[self._best_index([h.score for h in hyps])]

    def finalize(self) -> list[Hypothesis]:
        """The n-best list at the end of the utterance: the last word and </s> scored by the LM,
        unfinished hotword matches taken back; best first. Reads one snapshot of the beam: the device's
        final pass may call it while the listening thread advances the search."""
        hyps = list(self.hyps)
        finals: list[tuple[float, Hypothesis]] = []
        end_lp = np.zeros(len(hyps))
        if self.lm is not None:
            states = np.stack([h.lm_state for h in hyps])
            rows = [i for i, h in enumerate(hyps) if h.word]
            if rows:
                ids = self.lm.word_ids([self._word_words(hyps[i].word) for i in rows])
                states[rows], lp, _ = self.lm.advance(states[rows], np.asarray(ids, dtype=np.int32))
                end_lp[rows] += lp * LN10
            eos = self.lm.word_ids(["</s>"])
            _, lp, _ = self.lm.advance(states, np.repeat(np.asarray(eos, dtype=np.int32), len(hyps)))
            end_lp += lp * LN10
        unbias = self.context.finish(np.array([h.node for h in hyps])) if self.context is not None else 0
        scores = []
        for i, h in enumerate(hyps):
            words_added = (1 if h.word else 0) + 1
            score = (
                h.score + self.lm_weight * end_lp[i] + (self.lm_word_bonus * words_added if self.lm else 0)
            )
            score += float(unbias[i]) if self.context is not None else 0.0
            scores.append(score)
        order = sorted(range(len(hyps)), key=lambda i: -scores[i] / len(hyps[i].ys))
        for i in order:
            h = hyps[i]
            toks = h.ys[self.context_size :]
            finals.append(
                (
                    scores[i],
                    Hypothesis(
                        toks, self.symbols.text(toks), h.frames, h.am, h.lm + float(end_lp[i]), scores[i]
                    ),
                )
            )
        return [hyp for _, hyp in finals]
