"""Features for training: what the listener's own front ends compute, and the shared negatives.

A featurizer gives a clip's feature vector for every *step* of the head it trains, as the listener
computes it for a stream that starts with the clip; a head reads the last K steps. Two front ends:

* ``Featurizer`` (the ``openwakeword`` architecture) wraps a loaded ``WakeWordModel`` (mel step + speech
  embedding, as ``[wake]`` configures them): a 96-d embedding every 80 ms step (its priming included),
  computed only for the steps asked for;
* ``MicroFeaturizer`` (the ``micro`` architecture): microWakeWord's front end (40 PCAN channels every
  10 ms), the mean of each call's ``stride`` frames: a 40-d vector every 30 ms step.

The shared negatives (``NegativeCache``) are computed once per front end and kept under
``~/.cache/assistant/wake-train`` (never in the repository): real speech in languages other than English
(Debian's ``asterisk-core-sounds-{fr,es,it,ru}-wav``: four speakers of telephone prompts, 8 kHz), music
(``asterisk-moh-opsound-wav``), English sentences spoken by the training voices (the intent grammar's
home requests and general sentences) and noise. Each is a *stream*: its embeddings in order, so every
16-step window of it is one negative example. Streams are split into training and validation by a
hash of their name. The English Asterisk prompts and pocketsphinx's recordings are never read: they are
the evaluation's negatives.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.audio.io import AudioError, read_audio
from assistant.wake.detector import INT16_SCALE, MEL_FRAMES_PER_STEP, WakeWordModel
from assistant.wake.micro_frontend import MicroFrontend
from assistant.wake.train.augment import RATE, NoiseBank, augment, coloured_noise, speed

ASTERISK = Path("/usr/share/asterisk/sounds")
TRAIN_LANGUAGES = ("fr", "es", "it", "ru")
"""Asterisk prompt languages used as negatives (never ``en``: the evaluation's)"""
MOH = Path("/usr/share/asterisk/moh")
CACHE_VERSION = 1
VALIDATION_SHARE = 7
"""one stream in this many is validation"""


def is_validation(name: str) -> bool:
    return int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) % VALIDATION_SHARE == 0


class Featurizer:
    """Embeddings of the frozen front end for given steps of a clip."""

    def __init__(self, model: WakeWordModel, embedding_file: Path | None = None):
        """``embedding_file``: the speech embedding model's file, which the cached negatives depend on."""
        self.model = model
        self.embedding_file = embedding_file
        self.step = model.step_samples
        self.window = model.mel_window

    def mel(self, samples: np.ndarray) -> np.ndarray:
        """Mel frames, primed as the stream primes: the first step's frames repeated before them."""
        m = self.model
        x = samples.astype(np.float32)
        ctx = m.context_samples
        x = np.concatenate([np.full(ctx, x[0] if x.size else 0.0, np.float32), x]) * np.float32(INT16_SCALE)
        steps = (len(x) - ctx) // self.step
        frames = [m.mel.compute(x[i * self.step : i * self.step + self.step + ctx]) for i in range(steps)]
        if not frames:
            return np.zeros((0, m.mel.num_mels), np.float32)
        mel = np.concatenate(frames)
        n = self.window
        prime = np.tile(frames[0], (-(-n // len(frames[0])), 1))[-n:]
        return np.concatenate([prime, mel])

    def num_steps(self, num_samples: int) -> int:
        return num_samples // self.step

    def embed(self, samples: np.ndarray, steps: np.ndarray | None = None, batch: int = 128) -> np.ndarray:
        """(len(steps), 96): the embedding the stream has after step k (0-based) for each k: streamed
        where the model has it (every step up to the last asked for, ``batch`` steps a call: bounded
        memory), else those windows, ``batch`` a call."""
        mel = self.mel(samples)
        total = (len(mel) - self.window) // MEL_FRAMES_PER_STEP
        steps = np.arange(total) if steps is None else np.asarray(steps)
        if steps.size and (steps.min() < 0 or steps.max() >= total):
            raise ValueError(f"steps {steps.min()}..{steps.max()} outside 0..{total - 1}")
        n, s, k = self.window, self.model.streaming, MEL_FRAMES_PER_STEP
        if s is not None and steps.size:
            top = int(steps.max()) + 1
            every = np.empty((top, self.model.embedding_dim), np.float32)
            _, state = s.prime(mel[:n])  # the stream before its first step
            for i in range(0, top, batch):
                m = min(batch, top - i)
                every[i : i + m], state = s.step(mel[n + k * i : n + k * (i + m)], state)
            return every[steps]
        ends = n + k * (steps + 1)
        out = np.empty((len(steps), self.model.embedding_dim), np.float32)
        for i in range(0, len(steps), batch):
            out[i : i + batch] = self.model.embed(np.stack([mel[e - n : e] for e in ends[i : i + batch]]))
        return out

    def stream(self, samples: np.ndarray, batch: int = 256) -> np.ndarray:
        """Every step's embedding of a long recording, in pieces of ``batch`` steps (bounded memory)."""
        return self.embed(samples, batch=batch)

    @property
    def dim(self) -> int:
        return self.model.embedding_dim

    @property
    def step_s(self) -> float:
        return self.step / RATE

    def fingerprint(self) -> bytes:
        """What the cached negatives depend on: the mel step's implementation and the embedding's bytes."""
        if self.embedding_file is None:
            raise ValueError("a Featurizer made without its embedding file has no fingerprint")
        return f"{self.model.mel.implementation} ".encode() + self.embedding_file.read_bytes()[:1_000_000]

    def matches(self, streams: Streams) -> bool:
        """Whether ``streams`` were computed by a front end of this kind (their width and step)."""
        return streams.emb.shape[1] == self.dim and abs(streams.step_s - self.step_s) < 1e-6


class MicroFeaturizer:
    """The micro front end's features, one 40-d vector per head call: the mean of the call's ``stride``
    frames, exactly as the graph ``head.export_micro_onnx`` writes pools them."""

    def __init__(self, stride: int = 3, frontend: MicroFrontend | None = None):
        self.frontend = frontend or MicroFrontend()
        self.stride = stride
        self.step = stride * self.frontend.step_samples
        self.dim = self.frontend.num_channels

    @property
    def step_s(self) -> float:
        return self.step / RATE

    def num_steps(self, num_samples: int) -> int:
        fe = self.frontend
        frames = (num_samples - fe.window_samples) // fe.step_samples + 1 if num_samples >= fe.window_samples else 0
        return frames // self.stride

    def stream(self, samples: np.ndarray) -> np.ndarray:
        """(steps, 40): every step's vector of a fresh stream over ``samples``."""
        f = self.frontend.compute(np.asarray(samples, np.float32))
        n = len(f) // self.stride
        return f[: n * self.stride].reshape(n, self.stride, self.dim).mean(axis=1, dtype=np.float32)

    def embed(self, samples: np.ndarray, steps: np.ndarray | None = None) -> np.ndarray:
        """(len(steps), 40): the vectors of steps ``steps`` (0-based), as ``Featurizer.embed``."""
        f = self.stream(samples)
        if steps is None:
            return f
        steps = np.asarray(steps)
        if steps.size and (steps.min() < 0 or steps.max() >= len(f)):
            raise ValueError(f"steps {steps.min()}..{steps.max()} outside 0..{len(f) - 1}")
        return f[steps]

    def fingerprint(self) -> bytes:
        """What the cached negatives depend on."""
        return f"micro-frontend v1 stride {self.stride} {self.frontend.implementation}".encode()


@dataclass
class Streams:
    """Embedding streams: ``emb`` concatenated, ``start``/``length`` per stream, a name and text each."""

    emb: np.ndarray
    start: np.ndarray
    length: np.ndarray
    names: list[str]
    texts: list[str]
    sources: list[str]
    step_s: float = 0.08
    """seconds a step"""

    @classmethod
    def empty(cls, dim: int = 96, step_s: float = 0.08) -> Streams:
        return cls(np.zeros((0, dim), np.float16), np.zeros(0, np.int64), np.zeros(0, np.int64), [], [], [], step_s)

    @classmethod
    def build(cls, items: list[tuple[str, str, str, np.ndarray]], dim: int = 96, step_s: float = 0.08) -> Streams:
        """From (name, source, text, embeddings) rows."""
        if not items:
            return cls.empty(dim, step_s)
        lengths = np.array([len(e) for *_, e in items], np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        return cls(
            np.concatenate([e for *_, e in items]).astype(np.float16),
            starts,
            lengths,
            [i[0] for i in items],
            [i[2] for i in items],
            [i[1] for i in items],
            step_s,
        )

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            emb=self.emb,
            start=self.start,
            length=self.length,
            meta=np.array(json.dumps({"names": self.names, "texts": self.texts, "sources": self.sources,
                                      "step_s": self.step_s})),
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Streams:
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
            return cls(z["emb"], z["start"], z["length"], meta["names"], meta["texts"], meta["sources"],
                       float(meta.get("step_s", 0.08)))

    def select(self, keep: list[int]) -> Streams:
        return Streams.build(
            [
                (
                    self.names[i],
                    self.sources[i],
                    self.texts[i],
                    self.emb[self.start[i] : self.start[i] + self.length[i]],
                )
                for i in keep
            ],
            self.emb.shape[1],
            self.step_s,
        )

    def window_ends(self, k: int) -> np.ndarray:
        """Indices into ``emb`` of every step that ends a whole k-step window inside its stream."""
        parts = [np.arange(s + k - 1, s + n) for s, n in zip(self.start, self.length, strict=True) if n >= k]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    @property
    def hours(self) -> float:
        return float(self.length.sum()) * self.step_s / 3600


def real_negative_files(every: int = 1) -> list[tuple[str, Path]]:
    """The real recordings (every ``every``-th prompt of each language, all the music)."""
    files = []
    for lang in TRAIN_LANGUAGES:
        for d in sorted(ASTERISK.glob(f"{lang}_*")):
            files += [(f"asterisk-{lang}", p) for p in sorted(d.rglob("*.wav"))[::every]]
    files += [("music", p) for p in sorted(MOH.glob("*.wav"))]
    return files


def noise_bank(max_files: int = 400) -> NoiseBank:
    """Babble (other languages' prompts) and music for the backgrounds of positive clips."""
    recs = []
    files = real_negative_files()
    rng = np.random.default_rng(7)
    for i in rng.permutation(len(files))[:max_files]:
        try:
            x = read_audio(files[i][1], RATE, max_s=60).samples
        except AudioError:
            continue
        if x.size > RATE // 2:
            recs.append(x)
    return NoiseBank(recs)


def concat_stream(clips: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Clips back to back with short pauses, as someone talking."""
    parts = []
    for c in clips:
        parts += [c, np.zeros(int(rng.uniform(0.1, 0.6) * RATE), np.float32)]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def build_negatives(
    feat: Featurizer | MicroFeaturizer,
    sentences: list[str],
    voices: list,
    bank: NoiseBank,
    rng: np.random.Generator,
    real: bool,
    noise_minutes: float,
    real_every: int = 1,
    sentences_per_stream: int = 8,
    progress: Callable | None = None,
) -> Streams:
    """The shared negatives: real recordings (by file, grouped into streams of a few minutes), synthetic
    sentences (``sentences_per_stream`` per stream) and noise (one-minute streams)."""
    wrap = progress or (lambda it, **_k: it)
    items = []
    jobs: list[tuple[str, str, object]] = []
    if real:
        by_source: dict[str, list[Path]] = {}
        for src, p in real_negative_files(real_every):
            by_source.setdefault(src, []).append(p)
        for src, paths in by_source.items():
            for g in range(0, len(paths), 40):  # ~2 min of prompts a stream
                jobs.append(("real", f"{src}/{g // 40}", paths[g : g + 40]))
    for g in range(0, len(sentences), sentences_per_stream):
        jobs.append(("sentences", f"sentences/{g // sentences_per_stream}", sentences[g : g + sentences_per_stream]))
    for m in range(int(round(noise_minutes))):
        jobs.append(("noise", f"noise/{m}", m))
    for kind, name, arg in wrap(jobs, desc="negatives", unit="stream"):
        if kind == "real":
            parts = []
            for p in arg:
                try:
                    parts.append(read_audio(p, RATE, max_s=600).samples)
                except AudioError:
                    continue
            x = concat_stream(parts, rng)
            text, source = "", name.split("/")[0]
        elif kind == "sentences":
            clips = []
            for s in arg:
                v = voices[int(rng.integers(len(voices)))]
                u = v.say(s, rng)
                if u.samples.size < RATE // 10:
                    continue
                y, _ = (
                    augment(u.samples, rng, bank, lead_s=(0.0, 0.2), tail_s=(0.0, 0.2), snr_db=(5, 40))
                    if rng.random() < 0.5
                    else (u.samples / (np.abs(u.samples).max() + 1e-9) * 0.3, 0)
                )
                clips.append(y.astype(np.float32))
            x = concat_stream(clips, rng)
            text, source = " | ".join(arg), f"sentences-{'+'.join(sorted({v.name for v in voices}))}"
        else:
            n = 60 * RATE
            x = (
                bank.background(n, rng)
                if bank.recordings and rng.random() < 0.5
                else coloured_noise(str(rng.choice(["white", "pink", "brown"])), n, rng)
            )
            x = x / (np.abs(x).max() + 1e-9) * np.float32(10 ** (rng.uniform(-50, -6) / 20))
            if rng.random() < 0.3:
                x = speed(x, 1.1)
            text, source = "", "noise"
        if len(x) < feat.step * 20:
            continue
        items.append((name, source, text, feat.stream(x)))
    return Streams.build(items, feat.dim, feat.step_s)


def cache_key(feat: Featurizer | MicroFeaturizer, scale: str) -> str:
    """The shared negatives' name: the front end (``fingerprint``) and what was generated (``scale``)."""
    return hashlib.sha1(f"v{CACHE_VERSION} {scale} ".encode() + feat.fingerprint()).hexdigest()[:12]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
