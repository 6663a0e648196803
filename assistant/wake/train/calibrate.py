"""The second look's operating point for each head, set on audio that is not the evaluation's.

    assistant wake calibrate [--model wake/own/hey_jarvis ...] [--minutes 12] [--json]

The wake stage (assistant/wake/confirm.py) has two settings per head: the head's *candidate threshold*
(how often Whisper is asked) and the *minimum opening log probability* Whisper must give the phrase. Both
are set here from negatives alone, for a target false-accept rate:

* negatives: real speech in other languages (the French, Spanish, Italian and Russian Asterisk prompts
  that training also uses: telephone band) and English sentences in the training voices (espeak-ng,
  the Piper voice), augmented as training augments (noise, rooms, 8 kHz band limit). Never festival,
  flite or the English Asterisk prompts: those are the evaluation's;
* candidate threshold: the lowest on the grid at which the head fires at most ``candidates_per_hour``
  times an hour on them (the second look's CPU budget), and never above ``max_candidate``;
* min_logprob: Whisper's opening score of the phrase on windows of the negatives (``window_s`` long,
  every ``hop_s``), at the quantile that lets ``target_fa_per_hour`` through at ``candidates_per_hour``
  candidates an hour (0.5 / 200: one window in 400).

The result is a manifest entry's ``decoding = { confirm_threshold, confirm_min_logprob }``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from assistant.audio.io import AudioError, read_audio
from assistant.wake.confirm import spellings
from assistant.wake.evaluate import THRESHOLDS, count_detections

RATE = 16000
CANDIDATES_PER_HOUR = 200.0
TARGET_FA_PER_HOUR = 0.5
MAX_CANDIDATE = 0.5
"""a head that needs more than this to stay within the budget keeps this (its recall matters more)"""


@dataclass(frozen=True)
class Calibration:
    name: str
    phrase: str
    confirm_threshold: float
    confirm_min_logprob: float
    candidates_per_hour: float
    """the head's rate at ``confirm_threshold`` on the negatives"""
    windows: int
    negative_minutes: float

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def decoding(self) -> str:
        return f"confirm_threshold = {self.confirm_threshold:g}, confirm_min_logprob = {self.confirm_min_logprob:g}"


def negative_audio(minutes: float, seed: int = 0, progress: Callable | None = None) -> np.ndarray:
    """Half real speech in other languages, half augmented English sentences in the training voices."""
    from assistant.wake.train.augment import augment
    from assistant.wake.train.data import noise_bank, real_negative_files
    from assistant.wake.train.synth import Espeak, Piper, espeak_available, piper_available
    from assistant.wake.train.train import sentences

    wrap = progress or (lambda it, **_k: it)
    rng = np.random.default_rng(seed)
    real = [p for src, p in real_negative_files() if src.startswith("asterisk-")]
    rng.shuffle(real)
    parts, total = [], 0
    for p in real:
        if total >= minutes / 2 * 60 * RATE:
            break
        try:
            x = read_audio(p, RATE, max_s=60).samples
        except AudioError:
            continue
        parts.append(x)
        parts.append(np.zeros(int(rng.uniform(0.1, 0.6) * RATE), np.float32))
        total += len(x)
    voices = [v() for ok, v in ((espeak_available(), Espeak), (piper_available(), Piper)) if ok]
    if voices:
        bank = noise_bank()
        for text in wrap(sentences(400, "", seed), desc="sentences", unit="sentence"):
            if total >= minutes * 60 * RATE:
                break
            u = voices[int(rng.integers(len(voices)))].say(text, rng)
            y, _ = augment(u.samples, rng, bank, lead_s=(0.1, 0.5), tail_s=(0.1, 0.4), snr_db=(5, 40))
            y = y / (np.abs(y).max() + 1e-9) * np.float32(0.3)  # level: what the heads and Whisper hear alike
            parts.append(y.astype(np.float32))
            total += len(y)
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def calibrate(wake, whisper, names: Sequence[str], phrases: Sequence[str], audio: np.ndarray,  # noqa: ANN001
              window_s: float = 2.0, hop_s: float = 0.5, candidates_per_hour: float = CANDIDATES_PER_HOUR,
              target_fa_per_hour: float = TARGET_FA_PER_HOUR, progress: Callable | None = None) -> list[Calibration]:
    """``wake``: a ``WakeSet`` of the heads alone (no second look), heads in the order of ``names``."""
    wrap = progress or (lambda it, **_k: it)
    hours = len(audio) / RATE / 3600
    heads = [h for m in wake.models for h in m.heads]
    traces = []
    for m in wake.models:  # each kind on its own step
        step = m.step_samples
        traces.append((m, m.stream().scores_for(audio[: len(audio) // step * step])))
    win, hop = int(window_s * RATE), int(hop_s * RATE)
    starts = range(0, max(1, len(audio) - win + 1), hop)
    table = {n: spellings(p) for n, p in zip(names, phrases, strict=True)}
    scores = {n: [] for n in names}
    for s in wrap(starts, desc="windows", unit="window"):
        for n, lp in whisper.opening_logprobs(audio[s : s + win], table).items():
            scores[n].append(lp)
    quantile = 1.0 - min(1.0, target_fa_per_hour / candidates_per_hour)
    out = []
    for name, phrase, head in zip(names, phrases, heads, strict=True):
        model, trace = next((m, t) for m, t in traces if head in m.heads)
        column = trace[:, model.heads.index(head)]
        threshold = MAX_CANDIDATE
        for t in THRESHOLDS:  # ascending: the lowest within the budget
            if t <= MAX_CANDIDATE and count_detections(column, float(t), head.refractory_steps) / hours \
                    <= candidates_per_hour:
                threshold = float(t)
                break
        rate = count_detections(column, threshold, head.refractory_steps) / hours
        lp = np.asarray([v for v in scores[name] if np.isfinite(v)] or [-20.0])
        out.append(Calibration(name, phrase, threshold, round(float(np.quantile(lp, quantile)), 2),
                               round(rate, 1), len(scores[name]), round(len(audio) / RATE / 60, 2)))
    return out
