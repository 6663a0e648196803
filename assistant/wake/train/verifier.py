"""``assistant wake enroll``: a per-user verifier behind a wake-word head (as openWakeWord's custom
verifier models).

From a few clips of the user saying the wake phrase: the listener's front end computes the embeddings,
the head finds where in each clip the phrase ends (its highest-scoring windows), and those windows are
the positives. Negatives: the shared negatives of ``assistant wake train`` when cached (other speech,
music, noise), else a small synthetic set, plus the user's own clips before they start the phrase and any
``--negatives`` recordings of the user saying other things. A logistic regression on the 16 x 96
embedding window (standardised) separates them; it is written as an ONNX head of the same format, and
``[wake.words."NAME"] verifier`` makes the detector consult it after the head fires: a detection stands
only if the verifier's score reaches ``verifier_threshold``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from assistant.audio.io import AudioError, read_audio, write_audio
from assistant.config import AudioConfig, Config, RuntimeConfig
from assistant.models import ModelError, ModelRegistry, default_cache_dir
from assistant.wake.detector import WakeWordModel
from assistant.wake.train.data import Featurizer, Streams
from assistant.wake.train.head import Adam, Mlp, bce_grad, export_onnx

NUM_EMBEDDINGS = 16
MIN_CLIPS = 3
PAD_S = 1.0


class EnrollError(ValueError):
    """Enrolment input that cannot be used (too few clips, unreadable audio, unknown word)."""


@dataclass(frozen=True, slots=True)
class EnrollResult:
    phrase: str
    verifier: str
    clips: int
    positives: int
    negatives: int
    positive_accept: float
    negative_reject: float
    threshold: float
    config_snippet: str

    def to_dict(self) -> dict:
        return asdict(self)


def record_clips(audio: AudioConfig, count: int, seconds: float, out: Path, phrase: str) -> list[Path]:
    """Record ``count`` clips from the microphone (``DeviceSource``), prompting on stderr; written under
    ``out/recordings``."""
    import sys

    from assistant.audio.source import DeviceSource

    files = []
    (out / "recordings").mkdir(parents=True, exist_ok=True)
    need = int(seconds * audio.sample_rate)
    for i in range(count):
        print(f"[{i + 1}/{count}] say the wake word ({phrase}) now...", file=sys.stderr, flush=True)
        src = DeviceSource(audio)
        got, n = [], 0
        try:
            for chunk in src.chunks():
                got.append(chunk)
                n += len(chunk)
                if n >= need:
                    break
        finally:
            src.close()
        x = np.concatenate(got)[:need] if got else np.zeros(0, np.float32)
        files.append(write_audio(out / "recordings" / f"enroll_{i:02d}.wav", x, audio.sample_rate))
    return files


def _windows_all(emb: np.ndarray) -> np.ndarray:
    ends = np.arange(NUM_EMBEDDINGS - 1, len(emb))
    return (
        np.stack([emb[e - NUM_EMBEDDINGS + 1 : e + 1] for e in ends])
        if len(ends)
        else np.zeros((0, NUM_EMBEDDINGS, emb.shape[1]), np.float32)
    )


def _clip(path: Path, rate: int) -> np.ndarray:
    try:
        x = read_audio(path, rate, max_s=30).samples
    except AudioError as e:
        raise EnrollError(str(e)) from None
    pad = np.zeros(int(PAD_S * rate), np.float32)
    return np.concatenate([pad, pad, x, pad])


def shared_negative_windows(
    feat: Featurizer, rng: np.random.Generator, n: int, cache: Path | None = None
) -> np.ndarray:
    """Up to ``n`` windows from the cached shared negatives of ``assistant wake train`` (in ``cache``,
    default ``~/.cache/assistant/wake-train``); or, without that cache, from espeak-ng sentences and noise
    made now (a minute's work)."""
    cache = cache or default_cache_dir(Path("")).parent / "wake-train"
    found = sorted(cache.glob("negatives-*.npz"), key=lambda p: p.stat().st_mtime) if cache.exists() else []
    # the newest computed by this front end (the micro architecture's are cached beside them)
    s = next((c for c in (Streams.load(p) for p in reversed(found)) if feat.matches(c)), None)
    if s is None:
        from assistant.wake.train.augment import NoiseBank
        from assistant.wake.train.data import build_negatives
        from assistant.wake.train.synth import Espeak
        from assistant.wake.train.train import sentences

        s = build_negatives(feat, sentences(48, "", 0), [Espeak()], NoiseBank([]), rng, real=False, noise_minutes=1.0)
    ends = s.window_ends(NUM_EMBEDDINGS)
    pick = rng.choice(ends, size=min(n, len(ends)), replace=False)
    offs = np.arange(-NUM_EMBEDDINGS + 1, 1)
    return s.emb[pick[:, None] + offs].astype(np.float32)


def fit_logistic(pos: np.ndarray, neg: np.ndarray, rng: np.random.Generator, steps: int = 400, l2: float = 1e-2) -> Mlp:
    """Class-balanced logistic regression on standardised windows (full-batch Adam)."""
    x = np.concatenate([pos, neg]).reshape(len(pos) + len(neg), -1).astype(np.float32)
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))]).astype(np.float32)
    w = np.concatenate([np.full(len(pos), 0.5 / len(pos)), np.full(len(neg), 0.5 / len(neg))]).astype(np.float32)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-3
    m = Mlp.init(NUM_EMBEDDINGS, pos.shape[-1], 1, 0, mean, std, rng)
    opt = Adam(m.weights + m.biases, 0.01, weight_decay=l2)
    for _ in range(steps):
        keep: list = []
        logits = m.logits(x, keep)
        _, d = bce_grad(logits, y, w)
        gw, gb = m.backward(keep, d)
        opt.step(gw + gb)
    return m


def enroll(
    cfg: Config,
    name: str,
    files: list[Path],
    negatives: list[Path],
    out: Path,
    threshold: float = 0.5,
    seed: int = 0,
    cache: Path | None = None,
) -> EnrollResult:
    if len(files) < MIN_CLIPS:
        raise EnrollError(f"need at least {MIN_CLIPS} recordings of the wake word, got {len(files)}")
    wake = dataclasses.replace(cfg.wake, models=(name,), words={k: v for k, v in cfg.wake.words.items() if k == name})
    try:
        model = WakeWordModel.load(wake, RuntimeConfig(num_threads=2), ModelRegistry.load(cfg.models))
    except ModelError as e:
        raise EnrollError(f"{name}: {e}") from None
    head = model.heads[0]
    feat = Featurizer(model)
    rng = np.random.default_rng(seed)
    rate = model.sample_rate
    pos, neg = [], []
    for f in files:
        emb = feat.embed(_clip(f, rate))
        win = _windows_all(emb)
        if not len(win):
            raise EnrollError(f"{f}: too short")
        scores = np.array([head.score(w) for w in win])
        best = int(np.argmax(scores))
        pos.append(win[max(best - 1, 0) : best + 2])
        # the user's own clip well before the phrase: their room and microphone, no wake word
        neg.append(win[: max(best - 20, 0)])
    for f in negatives:
        neg.append(_windows_all(feat.embed(_clip(f, rate))))
    own = np.concatenate(neg) if neg else np.zeros((0, NUM_EMBEDDINGS, model.embedding_dim), np.float32)
    shared = shared_negative_windows(feat, rng, 20000, cache)
    P = np.concatenate(pos)
    N = np.concatenate([own.astype(np.float32), shared])
    m = fit_logistic(P, N, rng)
    ps = m.scores(P.reshape(len(P), -1))
    ns = m.scores(N.reshape(len(N), -1))
    out.mkdir(parents=True, exist_ok=True)
    word = name.rsplit("/", 1)[-1].removesuffix(".onnx")
    path = export_onnx(
        m, out / f"{word}.verifier.onnx", f"per-user verifier for {name}", {"wake_word": name, "clips": str(len(files))}
    )
    snippet = f'[wake.words."{name}"]\nverifier = "{path.resolve()}"\nverifier_threshold = {threshold}'
    result = EnrollResult(
        name,
        str(path),
        len(files),
        len(P),
        len(N),
        round(float(np.mean(ps >= threshold)), 4),
        round(float(np.mean(ns < threshold)), 4),
        threshold,
        snippet,
    )
    (out / "enroll.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return result
