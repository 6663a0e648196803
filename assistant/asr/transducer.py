"""TransducerModel: a streaming transducer in the sherpa-onnx / icefall export, and its AsrStream.

    model = TransducerModel.load(cfg.asr.transducer, cfg.runtime)   # checks files, contracts, tokens
    stream = model.stream()
    partials = stream.feed(frames)      # (n, 80) Kaldi fbank frames -> TranscriptPartial on a change
    stream.endpoint                     # "rule1" | "rule2" | "rule3" | None (Kaldi-style endpointing)
    hyps = stream.finish()              # n-best Hypothesis list, best first

The model is three ONNX sessions (encoder, decoder, joiner) plus ``tokens.txt``; it is immutable and
cheap to open streams from. The encoder's contract (``model_type`` in its metadata) decides its cached
state: ``lstm`` (``h``, ``c``) or ``zipformer2`` (six caches per layer, an embed cache, processed_lens).
Each chunk is ``T`` feature frames (metadata), and the stream advances by ``decode_chunk_len`` frames.
Features are Kaldi-compatible fbank with lhotse's ``high_freq = -400`` (what icefall models are trained
on and what sherpa-onnx computes): ``model.feature_config``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from assistant.asr.biasing import ContextGraph
from assistant.asr.lm_protocol import WordLm
from assistant.asr.search import BeamSearch, GreedySearch, Hypothesis
from assistant.asr.tokens import SymbolTable
from assistant.config import FrontendConfig, RuntimeConfig, SearchMethod, TransducerConfig
from assistant.events import TranscriptPartial, Word
from assistant.models import ModelError, ModelRegistry
from assistant.onnx import make_session

_LOGGER = logging.getLogger(__name__)

FEATURE_DIM = 80
FRAME_SHIFT_S = 0.01
LOG_FLOOR = math.log(float(np.finfo(np.float32).eps))
"""the fbank value of digital silence: tail padding frames are made of it"""



def zipformer2_state_shapes(meta: dict[str, list[int]]) -> list[tuple[int, ...]]:
    """The zipformer2 encoder's cache shapes for one stream, in input order (as sherpa-onnx builds them):
    six per layer of each stack, then the embed cache. ``meta`` holds the encoder's metadata lists."""
    shapes: list[tuple[int, ...]] = []
    for i, num_layers in enumerate(meta["num_encoder_layers"]):
        dim, left = meta["encoder_dims"][i], meta["left_context_len"][i]
        key_dim = meta["query_head_dims"][i] * meta["num_heads"][i]
        value_dim = meta["value_head_dims"][i] * meta["num_heads"][i]
        pad = meta["cnn_module_kernels"][i] // 2
        for _ in range(num_layers):
            shapes += [
                (left, 1, key_dim),
                (1, 1, left, 3 * dim // 4),
                (left, 1, value_dim),
                (left, 1, value_dim),
                (1, dim, pad),
                (1, dim, pad),
            ]
    shapes.append((1, 128, 3, ((FEATURE_DIM - 1) // 2 - 1) // 2))
    return shapes

def fast_run(session: ort.InferenceSession):
    """``run(output_names, feeds)`` without the public wrapper's per-call checks (about 18 µs of a 50 µs
    call here, and a stream makes one call per emitted token). Falls back to the public ``run``."""
    inner = getattr(session, "_sess", None)
    if inner is not None and hasattr(inner, "run"):
        return lambda names, feeds: inner.run(names, feeds, None)
    return session.run


def _meta(session: ort.InferenceSession, path: Path, keys: tuple[str, ...]) -> dict[str, str]:
    meta = session.get_modelmeta().custom_metadata_map
    missing = [k for k in keys if k not in meta]
    if missing:
        raise ModelError(
            f"{path}: metadata lacks {', '.join(missing)} (not a sherpa-onnx transducer export?)"
        )
    return meta


def _ints(meta: dict[str, str], key: str, path: Path) -> list[int]:
    try:
        return [int(v) for v in meta[key].split(",")]
    except ValueError:
        raise ModelError(
            f"{path}: metadata {key}={meta[key]!r} is not a comma-separated integer list"
        ) from None


def _check_shape(path: Path, name: str, declared: list, expected: tuple[int, ...]) -> None:
    if len(declared) != len(expected) or any(
        isinstance(d, int) and d != e for d, e in zip(declared, expected, strict=False)
    ):
        raise ModelError(f"{path}: input {name} has shape {declared}, the metadata implies {list(expected)}")


# ------------------------------------------------------------------------------------ encoder contracts


@dataclass(frozen=True)
class _Encoder:
    session: ort.InferenceSession
    path: Path
    model_type: str
    chunk_frames: int
    """T: feature frames given to the encoder per chunk (including right context)"""
    shift_frames: int
    """decode_chunk_len: frames the stream advances per chunk"""
    state_shapes: tuple[tuple[int, ...], ...]
    state_dtypes: tuple[type, ...]

    def init_states(self) -> list[np.ndarray]:
        return [np.zeros(s, dtype=d) for s, d in zip(self.state_shapes, self.state_dtypes, strict=True)]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_names", [i.name for i in self.session.get_inputs()])
        object.__setattr__(self, "_outs", [o.name for o in self.session.get_outputs()])
        object.__setattr__(self, "_run", fast_run(self.session))

    def run(self, x: np.ndarray, states: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        names = self._names
        feeds = {names[0]: x[None].astype(np.float32, copy=False)}
        feeds.update(zip(names[1:], states, strict=True))
        out = self._run(self._outs, feeds)
        return out[0][0], out[1:]


def _load_encoder(path: Path, rt: RuntimeConfig) -> _Encoder:
    sess = make_session(path, rt, "encoder")
    meta = _meta(sess, path, ("model_type", "T", "decode_chunk_len"))
    model_type = meta["model_type"]
    inputs = sess.get_inputs()
    chunk, shift = _ints(meta, "T", path)[0], _ints(meta, "decode_chunk_len", path)[0]
    if not 0 < shift <= chunk:
        raise ModelError(f"{path}: metadata needs 0 < decode_chunk_len <= T, got {shift}, {chunk}")
    _check_shape(path, inputs[0].name, inputs[0].shape, (1, chunk, FEATURE_DIM))
    if model_type == "lstm":
        meta = _meta(sess, path, ("num_encoder_layers", "d_model", "rnn_hidden_size"))
        layers = _ints(meta, "num_encoder_layers", path)[0]
        d_model = _ints(meta, "d_model", path)[0]
        hidden = _ints(meta, "rnn_hidden_size", path)[0]
        shapes: list[tuple[int, ...]] = [(layers, 1, d_model), (layers, 1, hidden)]
        dtypes: list[type] = [np.float32, np.float32]
    elif model_type == "zipformer2":
        keys = (
            "encoder_dims",
            "query_head_dims",
            "value_head_dims",
            "num_heads",
            "num_encoder_layers",
            "cnn_module_kernels",
            "left_context_len",
        )
        meta = _meta(sess, path, keys)
        v = {k: _ints(meta, k, path) for k in keys}
        if len({len(x) for x in v.values()}) != 1:
            raise ModelError(f"{path}: zipformer2 metadata lists differ in length: {v}")
        shapes = zipformer2_state_shapes(v) + [(1,)]  # + processed_lens
        dtypes = [np.float32] * (len(shapes) - 1) + [np.int64]
    else:
        raise ModelError(f"{path}: encoder model_type {model_type!r} is not supported (lstm, zipformer2)")
    if len(inputs) != 1 + len(shapes) or len(sess.get_outputs()) != 1 + len(shapes):
        raise ModelError(
            f"{path}: a {model_type} encoder with this metadata takes {1 + len(shapes)} inputs and "
            f"returns as many outputs; this one has {len(inputs)} and {len(sess.get_outputs())}"
        )
    for inp, shape, dtype in zip(inputs[1:], shapes, dtypes, strict=True):
        _check_shape(path, inp.name, inp.shape, shape)
        want = "tensor(int64)" if dtype is np.int64 else "tensor(float)"
        if inp.type != want:
            raise ModelError(f"{path}: input {inp.name} is {inp.type}, expected {want}")
    return _Encoder(sess, path, model_type, chunk, shift, tuple(shapes), tuple(dtypes))


def _context_graph(cfg: TransducerConfig, symbols: SymbolTable, extra_hotwords: tuple[str, ...]) -> ContextGraph | None:
    """The hotword bias: ``cfg.hotwords`` (an error if the tokens cannot spell one) and ``extra_hotwords``
    (the home's names: left out if they cannot be spelt); None when nothing is biased."""
    phrases = []
    for phrase in cfg.hotwords:
        try:
            phrases.append(symbols.encode(phrase))
        except ValueError as e:
            raise ModelError(f"asr.transducer.hotwords: {phrase!r}: {e}") from None
    for phrase in extra_hotwords:
        try:
            phrases.append(symbols.encode(phrase))
        except ValueError:
            _LOGGER.debug("hotword %r left out: the model's tokens cannot spell it", phrase)
    if not phrases or not cfg.hotword_boost_per_token:  # a boost of 0 (a model's own choice) biases nothing
        return None
    return ContextGraph(phrases, cfg.hotword_boost_per_token, len(symbols), exclude=[symbols.blank_id])


# -------------------------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class TransducerModel:
    cfg: TransducerConfig
    encoder: _Encoder
    decoder: ort.InferenceSession
    joiner: ort.InferenceSession
    symbols: SymbolTable
    context_size: int
    joiner_dim: int
    frame_s: float
    """seconds between encoder output frames"""
    lm: WordLm | None = None
    context: ContextGraph | None = None
    decoder_outputs: dict[tuple[int, ...], np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    """the decoder's output per context, shared by the model's beam-search streams (the decoder is stateless,
    so a context always gives the same output; bounded by ``search.DECODER_CACHE_SIZE``): a later request
    reruns the decoder only for contexts no earlier one reached"""

    feature_config = FrontendConfig(high_freq_hz=-400.0)
    """the fbank the icefall recipes train on (lhotse defaults): what ``feed`` expects"""

    @classmethod
    def load(
        cls,
        cfg: TransducerConfig,
        rt: RuntimeConfig,
        lm: WordLm | None = None,
        registry: ModelRegistry | None = None,
        extra_hotwords: tuple[str, ...] = (),
    ) -> TransducerModel:
        """``cfg.model`` names a shipped model in ``registry`` (default: the source tree's manifest).
        ``extra_hotwords`` (the home's names) are biased like ``cfg.hotwords``, but a phrase the tokens
        cannot spell is left out rather than an error."""
        cfg = with_decoding(cfg, registry)
        if cfg.model and not cfg.files_given:
            reg = registry if registry is not None else ModelRegistry.load()
            files = {role: reg.path(f"{cfg.model}/{part}") for role, part in REGISTRY_PARTS.items()}
            cfg = dataclasses.replace(cfg, model="", **files)
        if str(cfg.encoder) in ("", "."):
            raise ModelError("asr.transducer: no model configured (model, or encoder, decoder, joiner, tokens)")
        symbols = SymbolTable.load(cfg.tokens)
        encoder = _load_encoder(Path(cfg.encoder), rt)
        decoder = make_session(Path(cfg.decoder), rt, "decoder")
        dmeta = _meta(decoder, Path(cfg.decoder), ("context_size", "vocab_size"))
        context_size = _ints(dmeta, "context_size", Path(cfg.decoder))[0]
        vocab_size = _ints(dmeta, "vocab_size", Path(cfg.decoder))[0]
        joiner = make_session(Path(cfg.joiner), rt, "joiner")
        if len(decoder.get_inputs()) != 1 or decoder.get_inputs()[0].type != "tensor(int64)":
            raise ModelError(f"{cfg.decoder}: the decoder takes one int64 input [N, context_size]")
        if len(joiner.get_inputs()) != 2:
            raise ModelError(f"{cfg.joiner}: the joiner takes encoder_out and decoder_out")
        if vocab_size != len(symbols):
            raise ModelError(
                f"{cfg.tokens} has {len(symbols)} tokens but the decoder's vocab_size is {vocab_size}"
            )
        # one chunk of silence through the whole chain: checks the contract end to end, gives the frame rate
        enc_out, _ = encoder.run(
            np.full((encoder.chunk_frames, FEATURE_DIM), LOG_FLOOR, np.float32),
            [np.zeros(s, d) for s, d in zip(encoder.state_shapes, encoder.state_dtypes, strict=True)],
        )
        dec_out = decoder.run(
            None, {decoder.get_inputs()[0].name: np.array([[-1] * (context_size - 1) + [0]])}
        )[0]
        if enc_out.ndim != 2 or dec_out.ndim != 2 or enc_out.shape[1] != dec_out.shape[1]:
            raise ModelError(
                f"encoder output {list(enc_out.shape)} and decoder output {list(dec_out.shape)} "
                "do not meet in the joiner (joiner_dim differs)"
            )
        names = [i.name for i in joiner.get_inputs()]
        logits = joiner.run(None, {names[0]: enc_out[:1], names[1]: dec_out})[0]
        if logits.shape != (1, len(symbols)):
            raise ModelError(
                f"{cfg.joiner} gives {logits.shape[-1]} logits but {cfg.tokens} has {len(symbols)} "
                "tokens: the tokens file does not belong to this model"
            )
        frame_s = encoder.shift_frames * FRAME_SHIFT_S / enc_out.shape[0]
        context = _context_graph(cfg, symbols, extra_hotwords)
        return cls(
            cfg, encoder, decoder, joiner, symbols, context_size, int(enc_out.shape[1]), frame_s, lm, context
        )

    def with_lm(self, lm: WordLm | None) -> TransducerModel:
        return dataclasses.replace(self, lm=lm)

    def with_vocabulary(self, lm: WordLm | None, extra_hotwords: tuple[str, ...]) -> TransducerModel:
        """The same sessions (and decoder cache) with another LM and other extra hotwords: a home that
        changed while the device runs."""
        return dataclasses.replace(self, lm=lm, context=_context_graph(self.cfg, self.symbols, extra_hotwords))

    def stream(self) -> AsrStream:
        return AsrStream(self)

    def __post_init__(self) -> None:
        # input names looked up once: these calls run per token
        object.__setattr__(self, "_dec_in", self.decoder.get_inputs()[0].name)
        object.__setattr__(self, "_dec_out", [self.decoder.get_outputs()[0].name])
        object.__setattr__(self, "_join_in", tuple(i.name for i in self.joiner.get_inputs()))
        object.__setattr__(self, "_join_out", [self.joiner.get_outputs()[0].name])
        object.__setattr__(self, "_dec_run", fast_run(self.decoder))
        object.__setattr__(self, "_join_run", fast_run(self.joiner))

    # sessions are shared by all streams; these are the only calls into them
    def decode(self, contexts: np.ndarray) -> np.ndarray:
        return self._dec_run(self._dec_out, {self._dec_in: contexts})[0]

    def join(self, encoder_out: np.ndarray, decoder_out: np.ndarray) -> np.ndarray:
        a, b = self._join_in
        return self._join_run(self._join_out, {a: encoder_out, b: decoder_out})[0]

    def transcribe(
        self, samples: np.ndarray, partials: bool = False
    ) -> tuple[list[Hypothesis], list[TranscriptPartial]]:
        """A whole recording (float32 16 kHz): features, stream, finish."""
        from assistant.frontend.fbank import Fbank

        frames = Fbank(self.feature_config).compute(samples)
        s = self.stream()
        events = s.feed(frames)
        return s.finish(), events if partials else []


REGISTRY_PARTS = {"encoder": "encoder.int8", "decoder": "decoder", "joiner": "joiner", "tokens": "tokens"}
"""a shipped transducer's manifest entries under its name (``[asr.transducer] model``), by role"""

GENERIC_DECODING = {"lm_weight": 0.0, "lm_word_bonus": 0.0, "hotword_boost_per_token": 1.5, "temperature": 1.0,
                    "ilm_weight": 0.0}
"""the decoding settings of a transducer that brings none (any model given by its files): no fusion,
since a fusion weight only means something for the model it was tuned on, sherpa-onnx's default
hotword score, and the model's own probabilities (temperature 1, as sherpa-onnx searches; no internal LM
subtraction)"""


SECOND_PASS_DECODING = {"first_pass_weight": 4.0, "first_pass_margin": 4.0, "first_pass_candidate_weight": 4.0}
"""Whisper's two-pass settings that depend on the first pass (``[asr.whisper]``: its agreement weight,
and the candidate's margin and agreement weight): a shipped transducer's ``decoding`` table may carry them
too, tuned for it by tools/train/evaluate.py; ``whisper.with_first_pass`` takes them, else these"""


def own_decoding(cfg: TransducerConfig, registry: ModelRegistry | None = None) -> dict[str, float]:
    """The ``decoding`` table of the shipped model's encoder entry in the manifest; {} for a model given by
    its files (a fusion weight or a boost only means something for the model it was tuned on)."""
    if not cfg.model or cfg.files_given:
        return {}
    reg = registry if registry is not None else ModelRegistry.load()
    name = f"{cfg.model}/{REGISTRY_PARTS['encoder']}"
    own = reg.entry(name).decoding
    unknown = set(own) - set(GENERIC_DECODING) - set(SECOND_PASS_DECODING)
    if unknown:
        raise ModelError(f"{name}: unknown decoding settings {sorted(unknown)} "
                         f"(known: {', '.join([*GENERIC_DECODING, *SECOND_PASS_DECODING])})")
    return own


def with_decoding(cfg: TransducerConfig, registry: ModelRegistry | None = None) -> TransducerConfig:
    """``cfg`` with each decoding setting it leaves out (None) filled in: from the ``decoding`` table of
    the shipped model's encoder entry in the manifest, else ``GENERIC_DECODING``."""
    unset = [k for k in GENERIC_DECODING if getattr(cfg, k) is None]
    if not unset:
        return cfg
    own = own_decoding(cfg, registry)
    return dataclasses.replace(cfg, **{k: own.get(k, GENERIC_DECODING[k]) for k in unset})


class AsrStream:
    """Per-utterance state: features, encoder caches, search state. ``reset()`` equals a fresh stream."""

    def __init__(self, model: TransducerModel) -> None:
        self.model = model
        self.reset()

    def reset(self) -> None:
        m = self.model
        self._frames = np.zeros((0, FEATURE_DIM), dtype=np.float32)
        self._offset = 0  # feature frame index of _frames[0]
        self._processed = 0  # frames the stream has advanced over
        self._received = 0
        self._states = m.encoder.init_states()
        self._finished = False
        self._last_text = ""
        self._last_tokens: tuple[int, ...] = ()
        self.decode_s = 0.0
        cfg = m.cfg
        if cfg.search is SearchMethod.GREEDY:
            self._search: GreedySearch | BeamSearch = GreedySearch(
                m.context_size, m.symbols.blank_id, m.symbols.unk_id, cfg.blank_penalty
            )
        else:
            self._search = BeamSearch(
                m.symbols,
                m.context_size,
                cfg.beam_size,
                cfg.blank_penalty,
                m.lm,
                cfg.lm_weight,
                cfg.lm_word_bonus,
                m.context,
                cfg.temperature,
                cfg.ilm_weight or 0.0,
                m.decoder_outputs,
            )

    @property
    def num_frames_decoded(self) -> int:
        return self._processed

    def feed(self, frames: np.ndarray) -> list[TranscriptPartial]:
        """(n, 80) float32 fbank frames -> the partial transcript, if the chunks decoded changed the best text
        (at most one per call: a caller feeding 10-100 ms at a time gets one per chunk)."""
        if self._finished:
            raise RuntimeError("feed() after finish(): open a new stream or reset()")
        frames = np.asarray(frames, dtype=np.float32)
        if frames.ndim != 2 or frames.shape[1] != FEATURE_DIM:
            raise ValueError(f"expected (n, {FEATURE_DIM}) fbank frames, got shape {frames.shape}")
        if len(frames):
            self._frames = np.concatenate([self._frames, frames]) if len(self._frames) else frames.copy()
            self._received += len(frames)
        return self._decode_ready()

    def _decode_ready(self) -> list[TranscriptPartial]:
        enc = self.model.encoder
        ran = False
        while self._received - self._processed >= enc.chunk_frames:
            self._run_chunk()
            ran = True
        if not ran:
            return []
        tokens = self._best_tokens()
        if tokens == self._last_tokens:  # the text is rebuilt only when the best path changed
            return []
        self._last_tokens = tokens
        text = self.model.symbols.text(tokens)
        if text == self._last_text:
            return []
        self._last_text = text
        return [TranscriptPartial(text, self._processed * FRAME_SHIFT_S)]

    def _run_chunk(self) -> None:
        enc = self.model.encoder
        t0 = time.perf_counter()
        start = self._processed - self._offset
        x = self._frames[start : start + enc.chunk_frames]
        enc_out, self._states = enc.run(x, self._states)
        self._search.step(enc_out, self.model.decode, self.model.join)
        self._processed += enc.shift_frames
        drop = self._processed - self._offset  # frames before the next chunk are not needed again
        self._frames = self._frames[drop:]
        self._offset += drop
        self.decode_s += time.perf_counter() - t0

    def _best_tokens(self) -> tuple[int, ...]:
        s = self._search
        if isinstance(s, GreedySearch):
            return tuple(s.tokens)
        return s.best().ys[self.model.context_size :]

    def _best_text(self) -> str:
        return self.model.symbols.text(self._best_tokens())

    @property
    def text(self) -> str:
        return self._best_text()

    @property
    def endpoint(self) -> str | None:
        """Which Kaldi-style rule fires on the best path now: "rule1" (long silence, nothing decoded),
        "rule2" (silence after something was decoded), "rule3" (utterance too long), or None."""
        cfg = self.model.cfg
        s = self._search
        if isinstance(s, GreedySearch):
            trailing, decoded = s.num_trailing_blanks, bool(s.tokens)
        else:
            b = s.best()
            trailing, decoded = b.num_trailing_blanks, len(b.ys) > self.model.context_size
        silence_s = trailing * self.model.frame_s
        if not decoded and silence_s >= cfg.rule1_trailing_silence_s:
            return "rule1"
        if decoded and silence_s >= cfg.rule2_trailing_silence_s:
            return "rule2"
        if self._processed * FRAME_SHIFT_S >= cfg.rule3_max_utterance_s:
            return "rule3"
        return None

    def finish(self) -> list[Hypothesis]:
        """End of input: the frames left are decoded with silence padding; the n-best list, best first."""
        if not self._finished:
            enc = self.model.encoder
            real_end = self._received
            while self._processed < real_end:
                need = self._processed + enc.chunk_frames - self._received
                if need > 0:
                    pad = np.full((need, FEATURE_DIM), LOG_FLOOR, dtype=np.float32)
                    self._frames = np.concatenate([self._frames, pad])
                    self._received += need
                self._run_chunk()
            self._finished = True
        return self.nbest()

    def nbest(self) -> list[Hypothesis]:
        """The n-best list over the frames decoded so far, best first, as at the end of an utterance (the
        last word and </s> scored by the LM, unfinished hotword matches taken back), without ending the
        stream: the device's final pass reads it at a pause and again at the end."""
        s = self._search
        if isinstance(s, GreedySearch):
            toks = tuple(s.tokens)
            return [
                Hypothesis(
                    toks, self.model.symbols.text(toks), tuple(s.frames), s.am_logprob, 0.0, s.am_logprob
                )
            ]
        return s.finalize()

    def words(self, hyp: Hypothesis) -> tuple[Word, ...]:
        """Per-word times of a hypothesis (start of the first piece, end one frame after the last)."""
        fs = self.model.frame_s
        return tuple(
            Word(w, round(hyp.frames[a] * fs, 3), round((hyp.frames[b] + 1) * fs, 3))
            for w, a, b in self.model.symbols.word_spans(hyp.tokens)
        )
