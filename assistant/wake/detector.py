"""Wake words in openWakeWord's model format: one shared front end, one small head per word.

    model = WakeWordModel.load(cfg.wake, cfg.runtime, ModelRegistry.load(cfg.models))
    stream = model.stream()
    for event in stream.feed(samples):      # float32 mono [-1, 1] at 16 kHz, any chunk size
        print(event.name, event.score, event.time_s)
    stream.reset()                          # equals model.stream()

The chain (contract in MODELS.md): every *step* of ``hop · 8`` samples (80 ms) the mel step runs on that
step plus the window overlap and yields 8 mel frames; the embedding model maps the last 76 mel frames
(its input shape) to one 96-d vector; each head maps its last K vectors (its input shape) to a score.
A word is detected when its score stays at or above its threshold for ``patience_frames`` steps, and
it is not reported again for ``refractory_s``. Work happens only on whole steps, so the chunk size of
``feed`` never changes a score, and the buffers start from the stream's own first step (not from
random noise, as in openWakeWord), so ``reset()`` equals a fresh stream and there is no start-up
transient to hide.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant import _accel
from assistant.config import SAMPLE_RATE, MelImpl, RuntimeConfig, WakeConfig
from assistant.events import WakeDetected
from assistant.models import ModelError, ModelRegistry
from assistant.onnx import make_session
from assistant.wake.embedding_stream import NotStreamable, StreamingEmbedding
from assistant.wake.melspec import MelGraph, MelNative, MelNumpy, MelOnnx, load_mel_graph

_LOGGER = logging.getLogger(__name__)

MEL_FRAMES_PER_STEP = 8
"""mel frames between two embeddings (80 ms): how openWakeWord's heads were trained"""
MEL_CONTEXT_HOPS = 3
"""each step's mel input starts this many hops before the step (as in openWakeWord: 1280 + 480 samples
give 8 frames on one 160-sample grid across steps; the last 128 samples wait for the next step)"""
_METADATA_MICRO = "microwakeword"
"""the metadata key of converted microWakeWord heads (assistant/wake/micro_convert.py)"""
INT16_SCALE = 32768.0
"""the mel model was trained on int16-valued samples; inside the process samples are in [-1, 1]"""
# The first step's mel context (before any audio arrived) repeats the first sample, so a microphone's
# DC offset does not make a click where the stream starts; for audio starting at 0 this is the zeros
# openWakeWord uses.


def resolve(name: str, registry: ModelRegistry) -> Path:
    """A manifest name (``wake/alexa``) or a path to a file."""
    if name in registry.entries:
        return registry.path(name)
    p = Path(name)
    if p.suffix == ".onnx":
        if not p.exists():
            raise ModelError(f"{name}: file not found")
        return p
    raise ModelError(f"{name}: neither a model in the manifest nor a path to an .onnx file")


def own_threshold(name: str, registry: ModelRegistry, default: float, key: str = "threshold") -> float:
    """The threshold a head brings in its manifest entry (``decoding = { threshold = ..., confirm_threshold =
    ... }``: ours, chosen by ``assistant wake train``; ``key`` picks which), else ``default``."""
    if name not in registry.entries:
        return default
    own = _decoding(name, registry)
    threshold = own.get(key, default)
    if not 0 < threshold < 1:
        raise ModelError(f"{name}: decoding {key} must be in (0, 1), got {threshold}")
    return threshold


DECODING_KEYS = ("threshold", "confirm_threshold", "confirm_min_logprob", "confirm_delay_s")
"""what a wake head's manifest entry may set (``assistant wake train``, ``assistant wake calibrate``)"""


def _decoding(name: str, registry: ModelRegistry) -> dict:
    own = registry.entry(name).decoding
    unknown = set(own) - set(DECODING_KEYS)
    if unknown:
        raise ModelError(f"{name}: unknown decoding settings {sorted(unknown)} (known: {', '.join(DECODING_KEYS)})")
    return own


def min_logprob_of(cfg: WakeConfig, name: str, registry: ModelRegistry) -> float:
    """The Whisper score a head's candidates need: ``[wake.words]``'s, else its entry's
    ``confirm_min_logprob``, else ``[wake.confirm] min_logprob``."""
    over = cfg.words.get(name)
    if over and over.min_logprob is not None:
        return over.min_logprob
    if name not in registry.entries:
        return cfg.confirm.min_logprob
    value = _decoding(name, registry).get("confirm_min_logprob", cfg.confirm.min_logprob)
    if not value < 0:
        raise ModelError(f"{name}: decoding confirm_min_logprob must be < 0, got {value}")
    return value


def delay_of(cfg: WakeConfig, name: str, registry: ModelRegistry) -> float:
    """How long after a head's candidate the second look listens: its entry's ``confirm_delay_s`` (a
    one-word phrase such as "stop" is over when its head fires, and must act at once), else ``[wake.confirm]
    delay_s``."""
    if name not in registry.entries:
        return cfg.confirm.delay_s
    value = _decoding(name, registry).get("confirm_delay_s", cfg.confirm.delay_s)
    if not 0 <= value <= 1:
        raise ModelError(f"{name}: decoding confirm_delay_s must be in [0, 1], got {value}")
    return value


def head_threshold(cfg: WakeConfig, name: str, registry: ModelRegistry, confirmed: bool) -> float:
    """A head's threshold: ``[wake.words]``'s, else, where a second look confirms candidates
    (``[wake.confirm]``), its entry's ``confirm_threshold`` or ``[wake.confirm] threshold``, else its entry's
    ``threshold`` or ``[wake] threshold``."""
    over = cfg.words.get(name)
    if over and over.threshold is not None:
        return over.threshold
    if confirmed:
        return own_threshold(name, registry, cfg.confirm.threshold, "confirm_threshold")
    return own_threshold(name, registry, cfg.threshold)


def phrase_of(cfg: WakeConfig, name: str) -> str:
    """What a head's word says: ``[wake.words] phrase``, else its name read as words."""
    over = cfg.words.get(name)
    return over.phrase if over and over.phrase else word_name(name).replace("_", " ")


def word_name(model: str) -> str:
    """``wake/hey_jarvis`` -> ``hey_jarvis``; ``/x/my_word.onnx`` -> ``my_word``."""
    return Path(model).stem if model.endswith(".onnx") else model.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class WakeHead:
    """One wake word: its session and decision rule."""

    name: str
    session: object
    input_name: str
    num_embeddings: int
    """K: how many of the latest embeddings the head reads"""
    threshold: float
    patience_frames: int
    refractory_steps: int
    verifier: object = None
    """a per-user verifier session of the same format (``assistant wake enroll``), or None"""
    verifier_threshold: float = 0.5
    stop: bool = False
    """the wake-free "stop" (``[wake] stop_model``), not a wake word"""
    phrase: str = ""
    """what it says, as people write it (``[wake.words] phrase``, else its name read as words)"""

    def score(self, window: np.ndarray) -> float:
        out = self.session.run(None, {self.input_name: window[None]})[0]
        return float(np.asarray(out).reshape(-1)[0])

    def verified(self, window: np.ndarray) -> bool:
        """Whether the verifier (if any) accepts the window the head fired on."""
        if self.verifier is None:
            return True
        name = self.verifier.get_inputs()[0].name
        out = self.verifier.run(None, {name: window[None].astype(np.float32)})[0]
        return float(np.asarray(out).reshape(-1)[0]) >= self.verifier_threshold


class WakeWordModel:
    """Loaded once: the mel step, the embedding session and the heads. Immutable; open streams from it."""

    def __init__(
        self,
        mel,
        embedding_session,
        heads: list[WakeHead],
        mel_window: int,
        embedding_dim: int,
        step_samples: int,
        streaming: StreamingEmbedding | None = None,
        open_embedding: Callable[[], object] | None = None,
    ) -> None:
        """``embedding_session``: the windowed embedding's session, or None with ``open_embedding``, which
        opens it when first needed (``embed``: training and tools; a streamed listener never does)."""
        if embedding_session is None and open_embedding is None:
            raise ValueError("the windowed embedding: give its session or how to open it")
        self.mel = mel
        self._emb = embedding_session
        self._open_emb = open_embedding
        self.streaming = streaming
        """the embedding streamed (each step computes only its new columns), or None: windowed"""
        self.heads = heads
        self.mel_window = mel_window
        self.embedding_dim = embedding_dim
        self.step_samples = step_samples
        self.context_samples = MEL_CONTEXT_HOPS * mel.hop
        """samples before a step that its mel input reaches back into"""
        if (step_samples + self.context_samples - mel.frame_length) // mel.hop + 1 != MEL_FRAMES_PER_STEP:
            raise ModelError(
                f"mel window {mel.frame_length} / hop {mel.hop} do not give "
                f"{MEL_FRAMES_PER_STEP} frames per step"
            )
        self.sample_rate = SAMPLE_RATE

    @classmethod
    def load(cls, cfg: WakeConfig, rt: RuntimeConfig, registry: ModelRegistry,
             names: list[str] | None = None, confirmed: bool = False) -> WakeWordModel:
        """``names``: the heads to load (default: ``[wake] models`` and ``stop_model``); ``confirmed``: a
        second look confirms their detections (``WakeSet``), so they run at their candidate thresholds."""
        mel_path = resolve(cfg.melspectrogram, registry)
        impl = cfg.mel
        if impl == MelImpl.AUTO:
            impl = MelImpl(_accel.choose(None, "WakeMel"))
        graph: MelGraph = load_mel_graph(mel_path, registry.cache_dir)
        if impl == MelImpl.ONNX:
            mel = MelOnnx(make_session(mel_path, rt, "wake-word mel", always_on=True), graph)
        elif impl == MelImpl.NATIVE:
            mel = MelNative(graph)
        else:
            mel = MelNumpy(graph)
        emb_path = resolve(cfg.embedding, registry)

        def open_embedding():  # noqa: ANN202 - an onnxruntime session
            return make_session(emb_path, rt, "wake-word embedding", always_on=True)

        streaming, emb = None, None
        if cfg.embedding_stream:
            try:
                streaming = StreamingEmbedding.load(emb_path, rt, MEL_FRAMES_PER_STEP)
            except NotStreamable as e:
                _LOGGER.info("the embedding %s runs windowed: %s", emb_path.name, e)
        if streaming is not None:  # the windowed session only if something asks for windows
            shape, out_shape = [None, streaming.window, streaming.mels, 1], [streaming.dim]
        else:
            emb = open_embedding()
            shape = emb.get_inputs()[0].shape  # [N, 76, 32, 1]
            out_shape = emb.get_outputs()[0].shape  # [N, 1, 1, 96]
        if len(shape) != 4 or shape[2] != graph.num_mels or not isinstance(shape[1], int):
            raise ModelError(
                f"{emb_path}: embedding input {shape} does not take {graph.num_mels}-bin mel windows"
            )
        mel_window, embedding_dim = int(shape[1]), int(out_shape[-1])
        heads = []
        for model_name in names if names is not None else [*cfg.models, *([cfg.stop_model] if cfg.stop_model else [])]:
            path = resolve(model_name, registry)
            sess = make_session(path, rt, "wake-word head", always_on=True)
            if _METADATA_MICRO in sess.get_modelmeta().custom_metadata_map:
                raise ModelError(
                    f"{model_name}: a microWakeWord head; load [wake] models through assistant.wake.wakeset.WakeSet"
                )
            inp = sess.get_inputs()[0]
            out = sess.get_outputs()[0]
            if len(inp.shape) != 3 or inp.shape[2] != embedding_dim or not isinstance(inp.shape[1], int):
                raise ModelError(f"{path}: head input {inp.shape} is not [1, K, {embedding_dim}]")
            if out.shape[-1] != 1:
                raise ModelError(
                    f"{path}: head output {out.shape} has several classes; only one-score heads "
                    "(one wake word each) are supported"
                )
            over = cfg.words.get(model_name)
            threshold = head_threshold(cfg, model_name, registry, confirmed)
            patience = (
                over.patience_frames if over and over.patience_frames is not None else cfg.patience_frames
            )
            refractory = over.refractory_s if over and over.refractory_s is not None else cfg.refractory_s
            step_s = graph.hop * MEL_FRAMES_PER_STEP / SAMPLE_RATE
            verifier = None
            if over and over.verifier:
                verifier = make_session(resolve(over.verifier, registry), rt, "wake-word verifier")
                v_shape = verifier.get_inputs()[0].shape
                if list(v_shape[1:]) != list(inp.shape[1:]):
                    raise ModelError(f"{over.verifier}: verifier input {v_shape} does not match the head's "
                                     f"{inp.shape}")
            heads.append(
                WakeHead(
                    word_name(model_name),
                    sess,
                    inp.name,
                    int(inp.shape[1]),
                    threshold,
                    patience,
                    int(round(refractory / step_s)),
                    verifier,
                    over.verifier_threshold if over else 0.5,
                    stop=model_name == cfg.stop_model,
                    phrase=phrase_of(cfg, model_name),
                )
            )
        _LOGGER.info("wake words %s; mel %s; embedding %s (%s)", [h.name for h in heads], mel.implementation,
                     emb_path.name, "streamed" if streaming else "windowed")
        return cls(mel, emb, heads, mel_window, embedding_dim, graph.hop * MEL_FRAMES_PER_STEP, streaming,
                   open_embedding)

    @property
    def step_s(self) -> float:
        return self.step_samples / self.sample_rate

    @property
    def embedding_session(self):  # noqa: ANN201 - an onnxruntime session
        """The windowed embedding's session (opened on first use where the listener streams it)."""
        if self._emb is None:
            self._emb = self._open_emb()
        return self._emb

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """(N, mel_window, num_mels) -> (N, embedding_dim), one batched call."""
        sess = self.embedding_session
        out = sess.run(None, {sess.get_inputs()[0].name: windows[..., None].astype(np.float32, copy=False)})[0]
        return out.reshape(len(windows), self.embedding_dim)

    def stream(self) -> WakeStream:
        return WakeStream(self)


class WakeStream:
    """Per-stream state: pending samples, the last mel frames and embeddings, per-head counters.

    Buffers are bounded: ``context + step`` samples, ``mel_window`` frames, the largest head's K
    embeddings. ``scores`` keeps each head's latest score for tools that want the trace.
    """

    def __init__(self, model: WakeWordModel, skip_repeats: bool = True) -> None:
        self.model = model
        self.skip_repeats = skip_repeats
        """reuse the embedding / score of a window equal to the previous one (exact; off for tests)"""
        self._max_k = max(h.num_embeddings for h in model.heads)
        self.reset()

    def reset(self) -> None:
        m = self.model
        self._samples: np.ndarray | None = None  # context carried into the next step (None: not started)
        self._pending: list[np.ndarray] = []
        self._num_pending = 0
        self._mel = np.zeros((0, m.mel.num_mels), np.float32)  # filled by _prime on the first step
        self._emb = np.zeros((0, m.embedding_dim), np.float32)
        self._steps = 0
        self._mel_run = 0  # trailing mel frames equal to the last one
        self._emb_run = 0  # trailing embeddings equal to the last one
        self._last_mel: np.ndarray | None = None
        self._const_mel: tuple[float, np.ndarray] | None = None
        self._emb_state: list[np.ndarray] | None = None  # the streamed embedding's columns kept
        self.num_embedded = 0
        """embedding calls made (the rest were skipped as repeats)"""
        self._above = [0] * len(m.heads)
        self._last_hit = [-(10**9)] * len(m.heads)
        self.scores = np.zeros(len(m.heads), np.float32)

    @property
    def time_s(self) -> float:
        """Stream time of the audio processed so far (whole steps)."""
        return self._steps * self.model.step_s

    def finish(self) -> list[WakeDetected]:
        """End of input: a head alone decides as it hears, so nothing is left waiting (the wake stage's
        second look may have candidates: ``WakeSetStream.finish``)."""
        return []

    def feed(self, samples: np.ndarray) -> list[WakeDetected]:
        """Take any number of samples; returns the detections of the steps they completed."""
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if not np.isfinite(samples).all():
            samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
        if samples.size == 0:
            return []
        self._pending.append(samples)
        self._num_pending += samples.size
        step = self.model.step_samples
        if self._num_pending < step:
            return []
        data = np.concatenate(self._pending)
        num_steps = len(data) // step
        used = num_steps * step
        rest = data[used:]
        self._pending = [rest] if rest.size else []
        self._num_pending = rest.size
        return self._run_steps(data[:used], num_steps)

    def scores_for(self, samples: np.ndarray) -> np.ndarray:
        """The per-step scores of ``samples`` (steps x heads), for evaluation; detections are dropped."""
        trace = []
        step = self.model.step_samples
        for i in range(0, len(samples) - step + 1, step):
            self.feed(samples[i : i + step])
            trace.append(self.scores.copy())
        return np.array(trace, np.float32).reshape(-1, len(self.model.heads))

    def _prime(self, first: np.ndarray) -> None:
        """Start as if the first step's sound had always been there: its mel frames fill the mel buffer
        and their embedding the embedding buffer. A stream then has no start-up transient (openWakeWord
        starts from constant frames and random-noise embeddings, and hides 5 steps of scores instead)."""
        m = self.model
        reps = -(-m.mel_window // len(first))
        self._mel = np.tile(first, (reps, 1))[-m.mel_window :]
        if m.streaming is not None:
            emb, self._emb_state = m.streaming.prime(self._mel)
        else:
            emb = m.embed(self._mel[None])
        self._emb = np.tile(emb[0], (self._max_k, 1))

    def _run_steps(self, data: np.ndarray, num_steps: int) -> list[WakeDetected]:
        m = self.model
        step, ctx = m.step_samples, m.context_samples
        if self._samples is None:
            self._samples = np.full(ctx, data[0], np.float32)
        x = np.concatenate([self._samples, data]) * np.float32(INT16_SCALE)
        mels = [self._mel_of(x[i * step : i * step + step + ctx]) for i in range(num_steps)]
        if self._steps == 0:
            self._prime(mels[0])
            self._mel_run = _trailing_run(self._mel)
            self._emb_run = _trailing_run(self._emb)
        self._samples = data[len(data) - ctx :].copy() if ctx else np.zeros(0, np.float32)
        # Work skipped exactly: a window equal to the one before (constant input, e.g. a muted
        # microphone or digital silence) has the same embedding, and K equal embeddings the same score.
        n = m.mel_window
        same_window = []
        for frames in mels:
            for f in frames:
                self._mel_run = self._mel_run + 1 if np.array_equal(f, self._last_frame()) else 1
                self._last_mel = f
            same_window.append(self.skip_repeats and self._mel_run >= n + MEL_FRAMES_PER_STEP)
        mel = np.concatenate([self._mel, *mels])
        ends = len(self._mel) + MEL_FRAMES_PER_STEP * np.arange(1, num_steps + 1)
        need = [i for i in range(num_steps) if not same_window[i]]
        new = np.empty((num_steps, m.embedding_dim), np.float32)
        if need and m.streaming is not None:  # every step's new columns, in one call
            # (the steps skipped as repeats give what they gave before, and keep the state as it was)
            new[:], self._emb_state = m.streaming.step(np.concatenate(mels), self._emb_state)
        elif need:  # one batched call for the windows that changed
            new[need] = m.embed(np.stack([mel[ends[i] - n : ends[i]] for i in need]))
        self._mel = mel[-n:]
        events = []
        for s in range(num_steps):
            prev = new[s - 1] if s else self._emb[-1]
            if same_window[s]:
                new[s] = prev
            self._emb_run = self._emb_run + 1 if same_window[s] or np.array_equal(new[s], prev) else 1
            self.num_embedded += not same_window[s]
        emb = np.concatenate([self._emb, new])
        base = len(self._emb)
        for s in range(num_steps):
            self._steps += 1
            end = base + s + 1
            run_at = self._emb_run - (num_steps - 1 - s)  # the equal-embedding run at this step
            for h_i, head in enumerate(m.heads):
                if run_at <= head.num_embeddings or not self.skip_repeats:  # its input changed
                    self.scores[h_i] = head.score(emb[end - head.num_embeddings : end])
                score = float(self.scores[h_i])
                self._above[h_i] = self._above[h_i] + 1 if score >= head.threshold else 0
                if (
                    self._above[h_i] >= head.patience_frames
                    and self._steps - self._last_hit[h_i] > head.refractory_steps
                    and head.verified(emb[end - head.num_embeddings : end])
                ):
                    self._last_hit[h_i] = self._steps
                    events.append(WakeDetected(head.name, round(score, 4), round(self.time_s, 3)))
        self._emb = emb[-self._max_k :]
        return events

    def _mel_of(self, segment: np.ndarray) -> np.ndarray:
        """The mel step, skipped for a constant segment seen just before (a muted microphone)."""
        lo, hi = segment.min(), segment.max()
        if self.skip_repeats and lo == hi:
            if self._const_mel is None or self._const_mel[0] != lo:
                self._const_mel = (float(lo), self.model.mel.compute(segment))
            return self._const_mel[1]
        return self.model.mel.compute(segment)

    def _last_frame(self) -> np.ndarray:
        return self._last_mel if self._last_mel is not None else self._mel[-1]


def _trailing_run(rows: np.ndarray) -> int:
    """How many rows at the end equal the last one."""
    same = np.all(rows == rows[-1], axis=1)
    return len(rows) if same.all() else int(len(rows) - 1 - np.flatnonzero(~same)[-1])
