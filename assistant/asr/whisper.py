"""WhisperModel: the accurate recogniser, Whisper (tiny.en) converted to ONNX, decoded by our runtime.

    model = WhisperModel.load(cfg.asr.whisper, cfg.runtime, registry)
    hyps = model.transcribe(samples)      # one endpointed utterance (float32 16 kHz) -> n-best, best first
    best = rescore(hyps, lm, weight, bonus)   # n-best rescoring with the word LM

The encoder runs once per utterance and returns the decoder's cross-attention keys and values; each
decoding step runs the decoder on the new token(s) with a key/value cache. Greedy search, or beam search
(as faster-whisper: ``beam_size`` live hypotheses, finished ones collected until ``beam_size`` are done,
ranked by log probability over length). Text comes from the byte-level BPE vocabulary of the model.
Utterances longer than the 30 s window are decoded window by window. With ``window = "utterance"`` the
encoder sees only the utterance and ``window_pad_s`` of the padding, at least ``window_min_s``, instead
of the fixed 30 s; a decode that loops is done again on the full window (an encoder converted with a fixed
window always uses it).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from assistant.asr._whisper_mel_py import HOP
from assistant.asr.corpora import word_edit_distance
from assistant.asr.lm_protocol import WordLm
from assistant.asr.search import Hypothesis, log_softmax
from assistant.asr.whisper_mel import log_mel
from assistant.config import SAMPLE_RATE, RuntimeConfig, SearchMethod, TransducerConfig, WhisperConfig, WhisperWindow
from assistant.models import ModelError, ModelRegistry
from assistant.onnx import make_session
from assistant.text import spoken_words

_LOGGER = logging.getLogger(__name__)

WINDOW_SAMPLES = 30 * SAMPLE_RATE


@functools.cache
def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level BPE alphabet: printable stand-ins for the 256 byte values."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


@functools.cache
def _byte_encoder() -> dict[int, str]:
    return {b: c for c, b in _byte_decoder().items()}


# GPT-2's pre-tokenizer (letters, digits, other runs, each with its leading space), in Python's re dialect
_WORDS = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+""")


@dataclass(frozen=True)
class WhisperTokenizer:
    pieces: tuple[str, ...]
    eot: int
    sot: int
    no_timestamps: int
    suppress: tuple[int, ...]
    suppress_begin: tuple[int, ...]
    sot_prev: int | None = None
    merges: dict[tuple[str, str], int] | None = None
    """BPE merge ranks (from tokenizer.json): only needed to encode text (the prompt)"""

    @classmethod
    def load(cls, vocabulary: Path, config: Path, tokenizer: Path | None = None) -> WhisperTokenizer:
        try:
            pieces = tuple(vocabulary.read_text(encoding="utf-8").split("\n"))
            conf = json.loads(config.read_text(encoding="utf-8"))
            merges = None
            if tokenizer is not None:
                raw = json.loads(tokenizer.read_text(encoding="utf-8"))["model"]["merges"]
                merges = {tuple(m.split(" ", 1) if isinstance(m, str) else m): i for i, m in enumerate(raw)}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
            raise ModelError(f"Whisper vocabulary, config or tokenizer unreadable: {e}") from None
        pieces = pieces[:-1] if pieces and pieces[-1] == "" else pieces
        index = {p: i for i, p in enumerate(pieces)}
        try:
            eot, sot, nts = index["<|endoftext|>"], index["<|startoftranscript|>"], index["<|notimestamps|>"]
        except KeyError as e:
            raise ModelError(f"{vocabulary}: special token {e} missing (not a Whisper vocabulary?)") from None
        suppress = tuple(i for i in conf.get("suppress_ids", []) if i >= 0)
        return cls(pieces, eot, sot, nts, suppress, tuple(conf.get("suppress_ids_begin", [])),
                   index.get("<|startofprev|>"), merges)

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.pieces)}

    def encode(self, text: str) -> list[int]:
        """Text -> token ids (byte-level BPE with the model's merges, as the reference tokenizer)."""
        if self.merges is None:
            raise ModelError("encoding text needs the Whisper tokenizer's merges (tokenizer.json)")
        enc, out = _byte_encoder(), []
        for word in _WORDS.findall(text):
            parts = [enc[b] for b in word.encode("utf-8")]
            while len(parts) > 1:  # merge the best-ranked adjacent pair until none is known
                pairs = zip(parts, parts[1:], strict=False)
                rank, i = min((self.merges.get(pair, 1 << 30), i) for i, pair in enumerate(pairs))
                if rank == 1 << 30:
                    break
                parts[i : i + 2] = [parts[i] + parts[i + 1]]
            out.extend(self._index[p] for p in parts)
        return out

    def decode(self, tokens: tuple[int, ...] | list[int]) -> str:
        dec = _byte_decoder()
        raw = bytearray()
        for t in tokens:
            if t < self.eot:
                raw.extend(dec.get(ch, 0x3F) for ch in self.pieces[t])
        return raw.decode("utf-8", errors="replace").strip()


def whisper_style(text: str) -> str:
    """A transducer's transcript (lower case, numbers as words, no punctuation) as Whisper writes a
    sentence: a capital first letter and "I" (the ending is the model's choice: ``WhisperModel.score``)."""
    text = re.sub(r"\bi\b", "I", " ".join(text.split()))
    return text[:1].upper() + text[1:]


def lm_words(text: str) -> list[str]:
    """A transcript as LM words: its spoken form (``assistant.text.spoken_words``), as the domain LM's text
    is written: Whisper writes "10 minutes" and "50%"."""
    return spoken_words(text)


@dataclass(frozen=True)
class WhisperModel:
    cfg: WhisperConfig
    encoder: ort.InferenceSession
    decoder: ort.InferenceSession
    tokenizer: WhisperTokenizer
    num_layers: int
    num_heads: int
    head_dim: int
    max_positions: int
    dynamic_window: bool
    """the encoder takes any even number of mel frames up to 3000 (else exactly 3000)"""

    @classmethod
    def load(cls, cfg: WhisperConfig, rt: RuntimeConfig, registry: ModelRegistry) -> WhisperModel:
        suffix = ".int8" if cfg.quantized else ""
        return cls.from_files(
            cfg,
            rt,
            registry.path(f"{cfg.model}/encoder{suffix}"),
            registry.path(f"{cfg.model}/decoder{suffix}"),
            registry.path(f"{cfg.model}/vocabulary"),
            registry.path(f"{cfg.model}/config"),
            registry.path(f"{cfg.model}/tokenizer"),  # merges: the prompt, the wake word's look, candidates
        )

    @classmethod
    def from_files(
        cls,
        cfg: WhisperConfig,
        rt: RuntimeConfig,
        encoder: Path,
        decoder: Path,
        vocabulary: Path,
        config: Path,
        tokenizer: Path | None = None,
    ) -> WhisperModel:
        enc = make_session(encoder, rt, "Whisper encoder")
        dec = make_session(decoder, rt, "Whisper decoder")
        emeta = enc.get_modelmeta().custom_metadata_map
        dmeta = dec.get_modelmeta().custom_metadata_map
        if emeta.get("model_type") != "whisper-encoder" or dmeta.get("model_type") != "whisper-decoder":
            raise ModelError(
                f"{encoder} / {decoder}: not the Whisper encoder/decoder made by `assistant models "
                "prepare` (model_type metadata)"
            )
        frames = enc.get_inputs()[0].shape[-1]
        dynamic = not isinstance(frames, int)
        if not dynamic and cfg.window is WhisperWindow.UTTERANCE:
            _LOGGER.warning("%s has a fixed 30 s window (converted by an older version): run `assistant "
                            "models prepare --force` for the faster utterance window", encoder)
        tok = WhisperTokenizer.load(vocabulary, config, tokenizer)
        vocab = int(dmeta["vocab_size"])
        if vocab != len(tok.pieces):
            raise ModelError(f"{vocabulary} has {len(tok.pieces)} tokens, the decoder {vocab}")
        model = cls(
            cfg,
            enc,
            dec,
            tok,
            int(dmeta["num_layers"]),
            int(dmeta["num_heads"]),
            int(dmeta["head_dim"]),
            int(dmeta["max_positions"]),
            dynamic,
        )
        model._prompt()  # a prompt that cannot be encoded fails at load, not at the first utterance
        return model

    # ------------------------------------------------------------------------------------------ decoding

    def transcribe(self, samples: np.ndarray) -> list[Hypothesis]:
        """One utterance -> n-best hypotheses (best first). Longer than 30 s: windows, best paths joined."""
        return self.nbest(samples)[0]

    def nbest(self, samples: np.ndarray, candidates: tuple[str, ...] = ()) -> tuple[list[Hypothesis], list[Hypothesis]]:
        """``transcribe``, and ``candidates``: transcripts from elsewhere (the streaming first pass's), each
        scored by this model on the same audio (``score``) unless the n-best has it already; best first.
        Audio longer than one window scores no candidates."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"expected mono samples, got shape {samples.shape}")
        if len(samples) <= WINDOW_SAMPLES:
            return self._window(samples, candidates)
        parts = [
            self._window(samples[i : i + WINDOW_SAMPLES], ())[0][0] for i in range(0, len(samples), WINDOW_SAMPLES)
        ]
        toks = tuple(t for p in parts for t in p.tokens)
        am = sum(p.am_logprob for p in parts)
        return [Hypothesis(toks, " ".join(p.text for p in parts if p.text), (), am, 0.0, am)], []

    def _window(self, samples: np.ndarray, candidates: tuple[str, ...]) -> tuple[list[Hypothesis], list[Hypothesis]]:
        if len(samples) == 0 or float(np.abs(samples).max()) == 0.0:
            return [Hypothesis((), "", (), 0.0, 0.0, 0.0)], []  # digital silence: nothing was said
        mel = log_mel(samples)
        if self.dynamic_window and self.cfg.window is WhisperWindow.UTTERANCE:
            frames = self._utterance_frames(len(samples), mel.shape[1])
            if frames < mel.shape[1]:
                hyps, cross = self._decode(mel[:, :frames])
                if not looped(hyps[0].tokens, len(samples) / SAMPLE_RATE):
                    return self._with_candidates(hyps, cross, candidates)
                _LOGGER.debug("the utterance window looped (%d tokens): decoding the full window",
                              len(hyps[0].tokens))
        hyps, cross = self._decode(mel)
        return self._with_candidates(hyps, cross, candidates)

    def opening_logprob(self, samples: np.ndarray, openings: Sequence[str], *, min_s: float | None = None,
                        prompt: bool = True) -> float:
        """How well the audio's transcript can open with one of ``openings`` (Whisper-style text, "Hey
        Jarvis"): the best mean log probability per token of the opening, teacher-forced after the start
        (and the previous-text prompt where ``prompt``), with nothing asked of what follows (a request
        spoken straight on costs nothing). The wake word's second look (assistant/wake/confirm.py): one
        encoder run on a short window (at least ``min_s`` seconds; default ``window_min_s``) and a few
        decoder steps. -inf for digital silence."""
        return self.opening_logprobs(samples, {"": openings}, min_s=min_s, prompt=prompt)[""]

    def opening_logprobs(self, samples: np.ndarray, phrases: Mapping[str, Sequence[str]], *,
                         min_s: float | None = None, prompt: bool = True) -> dict[str, float]:
        """``opening_logprob`` of several phrases (name -> its spellings) on one encoder run."""
        samples = np.asarray(samples, dtype=np.float32)[-WINDOW_SAMPLES:]
        if len(samples) == 0 or float(np.abs(samples).max()) == 0.0:
            return {name: float("-inf") for name in phrases}
        mel = log_mel(samples)
        if self.dynamic_window:
            mel = mel[:, : self._utterance_frames(len(samples), mel.shape[1], min_s)]
        cross = self._encode(mel)
        start = self._prompt() if prompt else [self.tokenizer.sot, self.tokenizer.no_timestamps]
        logits, kv = self._step(np.array([start], dtype=np.int64), 0, self._empty_kv(1), cross)
        bodies = {name: [tuple(self.tokenizer.encode(" " + t.strip())) for t in openings if t.strip()]
                  for name, openings in phrases.items()}
        wanted = {b for bs in bodies.values() for b in bs if b}
        best: dict[tuple[int, ...], float] = {}  # every spelling's tokens -> its mean log probability
        # Teacher forcing over the spellings as a tree, a level at a time: a shared prefix ("Hey") is
        # decoded once, and the prefixes of one length go through the decoder as one batch.
        level: list[tuple[tuple[int, ...], float]] = [((), 0.0)]
        while level:
            logp = log_softmax(self._mask(logits.copy(), not level[0][0]).astype(np.float64))
            grown, rows = [], []
            for row, (prefix, total) in enumerate(level):
                n = len(prefix)
                for t in sorted({b[n] for b in wanted if len(b) > n and b[:n] == prefix}):
                    here, lp = (*prefix, t), total + float(logp[row, t])
                    if here in wanted:
                        best[here] = lp / len(here)
                    if any(len(b) > n + 1 and b[: n + 1] == here for b in wanted):
                        grown.append((here, lp))
                        rows.append(row)
            if grown:
                last = np.array([[p[-1]] for p, _ in grown], dtype=np.int64)
                offset = len(start) + len(grown[0][0]) - 1
                logits, kv = self._step(last, offset, (kv[0][:, rows], kv[1][:, rows]), cross)
            level = grown
        return {name: max((best[b] for b in bs if b in best), default=float("-inf")) for name, bs in bodies.items()}

    def _utterance_frames(self, num_samples: int, num_frames: int, min_s: float | None = None) -> int:
        """Mel frames the encoder hears of a short recording: it, ``window_pad_s`` more and at least
        ``min_s`` (default ``window_min_s``), never past the 30 s window; even, as the encoder strides by 2."""
        least = self.cfg.window_min_s if min_s is None else min_s
        frames = max(num_samples + int(self.cfg.window_pad_s * SAMPLE_RATE), int(least * SAMPLE_RATE)) // HOP
        return min(num_frames, 2 * (frames // 2 + 1))

    def _encode(self, mel: np.ndarray) -> dict:
        names = [o.name for o in self.encoder.get_outputs()]
        return dict(zip(names, self.encoder.run(None, {"mel": np.ascontiguousarray(mel[None])}), strict=True))

    def _decode(self, mel: np.ndarray) -> tuple[list[Hypothesis], dict]:
        cross = self._encode(mel)
        if self.cfg.search is SearchMethod.GREEDY:
            return [self._greedy(cross)], cross
        return self._beam(cross), cross

    def _with_candidates(self, hyps: list[Hypothesis], cross: dict,
                         candidates: tuple[str, ...]) -> tuple[list[Hypothesis], list[Hypothesis]]:
        known, scored = {h.tokens for h in hyps}, []
        for text in candidates:
            if not text.strip():
                continue
            h = self.score(cross, text)
            if h is not None and h.tokens not in known:
                known.add(h.tokens)
                scored.append(h)
        return hyps, sorted(scored, key=lambda h: -h.score)

    def score(self, cross: dict, text: str) -> Hypothesis | None:
        """``text`` (spoken form, as a transducer writes it) as a hypothesis of this model: written in
        Whisper's style, ending in "." or "?", whichever the model prefers, and its log probability given
        the audio (teacher forcing: one decoder step per token, the first steps shared by both endings).
        None if the model rules it out (a suppressed token)."""
        tok = self.tokenizer
        body = tok.encode(" " + whisper_style(text))
        prompt = self._prompt()
        logits, kv = self._step(np.array([prompt], dtype=np.int64), 0, self._empty_kv(1), cross)
        offset, total = len(prompt), 0.0
        for i, t in enumerate(body):
            total += float(log_softmax(self._mask(logits, i == 0).astype(np.float64))[0, t])
            logits, kv = self._step(np.array([[t]], dtype=np.int64), offset, kv, cross)
            offset += 1
        best: tuple[float, list[int]] | None = None
        logp = log_softmax(self._mask(logits, not body).astype(np.float64))[0]
        for end in (".", "?"):
            (t,) = tok.encode(end)
            end_logits, _ = self._step(np.array([[t]], dtype=np.int64), offset, kv, cross)
            eot = log_softmax(self._mask(end_logits, False).astype(np.float64))[0, tok.eot]
            lp = total + float(logp[t]) + float(eot)
            if np.isfinite(lp) and (best is None or lp > best[0]):
                best = (lp, [*body, t])
        if best is None:
            return None
        lp, tokens = best
        return Hypothesis(tuple(tokens), tok.decode(tokens), (), lp, 0.0, lp / (len(tokens) + 1))

    def _step(self, tokens: np.ndarray, offset: int, kv: tuple[np.ndarray, np.ndarray], cross: dict):
        logits, k, v = self.decoder.run(
            None,
            {
                "tokens": tokens,
                "offset": np.array(offset, dtype=np.int64),
                "self_k": kv[0],
                "self_v": kv[1],
                **cross,
            },
        )
        return logits, (k, v)

    def _mask(self, logits: np.ndarray, first: bool) -> np.ndarray:
        tok = self.tokenizer
        logits[:, tok.eot + 1 :] = -np.inf  # no special tokens, no timestamps
        if tok.suppress:
            logits[:, list(tok.suppress)] = -np.inf
        if first and tok.suppress_begin:
            logits[:, list(tok.suppress_begin)] = -np.inf
        return logits

    def _empty_kv(self, batch: int) -> tuple[np.ndarray, np.ndarray]:
        z = np.zeros((self.num_layers, batch, self.num_heads, 0, self.head_dim), dtype=np.float32)
        return z, z

    @functools.cached_property
    def _prompt_tokens(self) -> tuple[int, ...]:
        tok = self.tokenizer
        start = (tok.sot, tok.no_timestamps)
        if not self.cfg.prompt.strip():
            return start
        if tok.sot_prev is None:
            raise ModelError("this Whisper vocabulary has no <|startofprev|>: it cannot take a prompt")
        text = tok.encode(" " + self.cfg.prompt.strip())[-(self.max_positions // 2 - 1) :]
        return (tok.sot_prev, *text, *start)

    def _prompt(self) -> list[int]:
        """The decoder's first tokens: the previous-text prompt (``prompt``), then start and no timestamps."""
        return list(self._prompt_tokens)

    def _max_tokens(self) -> int:
        return min(self.cfg.max_tokens, self.max_positions - len(self._prompt()))

    def _greedy(self, cross: dict) -> Hypothesis:
        tok = self.tokenizer
        prompt = self._prompt()
        logits, kv = self._step(np.array([prompt], dtype=np.int64), 0, self._empty_kv(1), cross)
        out: list[int] = []
        total = 0.0
        offset = len(prompt)
        for _ in range(self._max_tokens()):
            logp = log_softmax(self._mask(logits, not out).astype(np.float64))[0]
            t = int(logp.argmax())
            total += float(logp[t])
            if t == tok.eot:
                break
            out.append(t)
            logits, kv = self._step(np.array([[t]], dtype=np.int64), offset, kv, cross)
            offset += 1
        return Hypothesis(tuple(out), tok.decode(out), (), total, 0.0, total / max(1, len(out) + 1))

    def _beam(self, cross: dict) -> list[Hypothesis]:
        tok = self.tokenizer
        beam = self.cfg.beam_size
        prompt = self._prompt()
        logits, kv = self._step(np.array([prompt], dtype=np.int64), 0, self._empty_kv(1), cross)
        seqs: list[list[int]] = [[]]
        scores = np.zeros(1)
        finished: list[tuple[list[int], float]] = []
        offset = len(prompt)
        for _ in range(self._max_tokens()):
            logp = log_softmax(self._mask(logits, offset == len(prompt)).astype(np.float64))
            cand = scores[:, None] + logp  # (live, V)
            flat = cand.reshape(-1)
            k = min(2 * beam, flat.size)
            top = np.argpartition(-flat, k - 1)[:k]
            top = top[np.argsort(-flat[top], kind="stable")]
            keep_rows, keep_seqs, keep_scores = [], [], []
            for idx in top.tolist():
                row, t = divmod(idx, logp.shape[1])
                if t == tok.eot:  # finished only if it ranks above the last live hypothesis kept
                    if len(finished) < beam:
                        finished.append((seqs[row], float(flat[idx])))
                    continue
                keep_rows.append(row)
                keep_seqs.append(seqs[row] + [t])
                keep_scores.append(float(flat[idx]))
                if len(keep_seqs) == beam:
                    break
            if len(finished) >= beam or not keep_seqs:
                break
            rows = np.array(keep_rows)
            kv = (kv[0][:, rows], kv[1][:, rows])
            seqs, scores = keep_seqs, np.array(keep_scores)
            last = np.array([[s[-1]] for s in seqs], dtype=np.int64)
            logits, kv = self._step(last, offset, kv, cross)
            offset += 1
        if len(finished) < beam:  # ran out of length: the live ones count as finished
            finished += list(zip(seqs, scores.tolist(), strict=True))[: beam - len(finished)]
        ranked = sorted(finished, key=lambda f: -f[1] / (len(f[0]) + 1))
        out = []
        for s, sc in ranked[: self.cfg.nbest]:
            out.append(Hypothesis(tuple(s), tok.decode(s), (), sc, 0.0, sc / (len(s) + 1)))
        return out


def looped(tokens: tuple[int, ...], seconds: float, max_period: int = 8) -> bool:
    """Whisper's failure on a window much shorter than 30 s: the same few tokens over and over. True when
    the tokens end in a block repeated three times, or outrun any speaker (more than 8 per second + 6)."""
    n = len(tokens)
    if n > 6 + 8 * seconds:
        return True
    for p in range(1, min(max_period, n // 3) + 1):
        if tokens[n - p :] == tokens[n - 2 * p : n - p] == tokens[n - 3 * p : n - 2 * p]:
            return True
    return False


def rescore(
    hyps: list[Hypothesis],
    lm: WordLm | None,
    weight: float,
    word_bonus: float = 0.0,
    min_word_logprob: float | None = None,
) -> list[Hypothesis]:
    """N-best rescoring: ``am_logprob + weight * lm_logprob + word_bonus * words`` (both natural-log sums
    over the utterance, the classic combination); returns the list re-ranked, ``lm_logprob`` filled in.

    ``min_word_logprob`` gates it for a domain LM: unless some hypothesis scores at least this much per
    word (natural log, ``</s>`` counted as a word), the utterance is out of the LM's domain and keeps the
    recogniser's order (the LM is still filled in). On the domain LM, what people say to the assistant
    scores about -2 per word and read speech or phone prompts about -7 (tools/bench_asr.py)."""
    from assistant.asr.lm_protocol import sentence_logprob

    if lm is None or weight == 0 or not hyps:
        return hyps
    words = [lm_words(h.text) for h in hyps]
    lps = [sentence_logprob(lm, w) for w in words]
    if not _in_domain(lps, words, min_word_logprob):  # out of the domain: Whisper's order
        return [Hypothesis(h.tokens, h.text, h.frames, h.am_logprob, lp, h.score)
                for h, lp in zip(hyps, lps, strict=True)]
    out = [Hypothesis(h.tokens, h.text, h.frames, h.am_logprob, lp, h.am_logprob + weight * lp + word_bonus * len(w))
           for h, lp, w in zip(hyps, lps, words, strict=True)]
    return sorted(out, key=lambda h: -h.score)


def _in_domain(lps: list[float], words: list[list[str]], min_word_logprob: float | None) -> bool:
    """Some hypothesis scores at least ``min_word_logprob`` per word (``</s>`` counted) on the LM."""
    if min_word_logprob is None:
        return True
    return max(lp / (len(w) + 1) for lp, w in zip(lps, words, strict=True)) >= min_word_logprob


def in_domain(hyps: list[Hypothesis], lm: WordLm | None, min_word_logprob: float | None) -> bool:
    """``rescore``'s gate on its own: is this utterance one of the assistant's requests, as far as the
    domain LM can tell? (True without an LM or a threshold.)"""
    from assistant.asr.lm_protocol import sentence_logprob

    if lm is None or not hyps:
        return True
    words = [lm_words(h.text) for h in hyps]
    return _in_domain([sentence_logprob(lm, w) for w in words], words, min_word_logprob)


def agree(hyps: list[Hypothesis], first_pass: str, weight: float) -> list[Hypothesis]:
    """Two-pass: re-rank Whisper's n-best by how far each is from the streaming first pass's transcript,
    ``score - weight * word edit distance`` (both in spoken form). The final text stays one of Whisper's
    (cased, punctuated); the first pass, trained on the assistant's own requests, only chooses among them.
    Words at the start of a hypothesis that the first pass lacks cost nothing: a first pass that missed
    the onset ("timer for five minutes" for "set a timer for five minutes", as the pipeline's did before
    it was fed the pre-roll) does not push Whisper off a complete transcript.
    Nothing changes with no first-pass text, a weight of 0 or a single hypothesis."""
    if weight == 0 or len(hyps) < 2 or not first_pass.strip():
        return hyps
    ref = lm_words(first_pass)
    out = [dataclasses.replace(h, score=h.score - weight * word_edit_distance(lm_words(h.text), ref, free_prefix=True))
           for h in hyps]
    return sorted(out, key=lambda h: -h.score)


def choose(hyps: list[Hypothesis], lm: WordLm | None, cfg: WhisperConfig, first_pass: str = "",
           candidates: list[Hypothesis] | tuple[Hypothesis, ...] = ()) -> list[Hypothesis]:
    """The final ranking of Whisper's n-best, as the pipeline and ``assistant transcribe`` make it: domain
    LM rescoring (``rescore``), then agreement with the streaming first pass where there is one (``agree``),
    inside the domain only: the first pass knows nothing else (on read speech it is a guess, and following
    it made LibriVox 1.4% -> 5.6% in tools/train/evaluate.py).

    ``candidates`` (the first pass's transcript as Whisper scores it: ``WhisperModel.nbest``) join the
    n-best only where Whisper scores them within ``first_pass_margin`` per token of its best: a first
    pass that misheard real speech reads as noise to Whisper, and it stays out, of the ranking and of the
    domain gate alike (decoded with the domain LM, it always sounds like a request). With
    ``first_pass_candidate`` on, agreement weighs ``first_pass_candidate_weight``, else ``first_pass_weight``."""
    cfg = with_first_pass(cfg)
    if candidates and hyps:
        top = max(h.score for h in hyps)
        hyps = [*hyps, *(c for c in candidates if c.score >= top - cfg.first_pass_margin)]
    inside = in_domain(hyps, lm, cfg.lm_min_word_logprob)
    hyps = rescore(hyps, lm, cfg.lm_weight, cfg.lm_word_bonus, cfg.lm_min_word_logprob)
    weight = cfg.first_pass_candidate_weight if cfg.first_pass_candidate else cfg.first_pass_weight
    if weight and first_pass.strip() and inside:
        hyps = agree(hyps, first_pass, weight)
    return hyps


def with_first_pass(cfg: WhisperConfig, first_pass: TransducerConfig | None = None,
                    registry: ModelRegistry | None = None) -> WhisperConfig:
    """``cfg`` with the two-pass settings it leaves out (None) filled in: the streaming first pass's own,
    from its manifest entry's ``decoding`` table (tuned for that model), else ``SECOND_PASS_DECODING``."""
    from assistant.asr.transducer import SECOND_PASS_DECODING, own_decoding

    unset = [k for k in SECOND_PASS_DECODING if getattr(cfg, k) is None]
    if not unset:
        return cfg
    own = own_decoding(first_pass, registry) if first_pass is not None and first_pass.configured else {}
    return dataclasses.replace(cfg, **{k: own.get(k, SECOND_PASS_DECODING[k]) for k in unset})


def echoes_prompt(text: str, prompt: str) -> bool:
    """Whether ``text`` is Whisper repeating its previous-text prompt rather than hearing speech (on
    silence or noise it may write the prompt out): two of the prompt's sentences, one after the other. One
    sentence alone is a request like any other ("turn on the kitchen lights")."""
    sentences = [" ".join(spoken_words(x)) for x in re.split(r"[.?!]+", prompt)]
    sentences = [x for x in sentences if x]
    heard = f" {' '.join(spoken_words(text))} "
    for first, second in zip(sentences, sentences[1:], strict=False):
        at = heard.find(f" {first} ")
        if at >= 0 and f" {second} " in heard[at + len(first) + 1 :]:
            return True
    return False


def second_pass(model: WhisperModel, samples: np.ndarray, lm: WordLm | None, first_pass: str = "") -> list[Hypothesis]:
    """The final pass as the pipeline and ``assistant transcribe`` run it: Whisper's n-best (less any that
    only repeats the prompt: ``echoes_prompt``), and the streaming first pass's transcript as a candidate
    (``first_pass_candidate``), ranked by ``choose``."""
    cfg = model.cfg
    own, scored = model.nbest(samples, (first_pass,) if cfg.first_pass_candidate and first_pass.strip() else ())
    if cfg.prompt.strip():
        own = [h for h in own if not echoes_prompt(h.text, cfg.prompt)]
    return choose(own, lm, cfg, first_pass, scored)
