"""The second look's operating point for each head, set on audio that is not the evaluation's.

    assistant wake calibrate [--model wake/own/hey_jarvis ...] [--minutes 12] [--json]

The wake stage (assistant/wake/confirm.py) has two settings per head: the head's *candidate threshold*
(how often Whisper is asked) and the *minimum opening log probability* Whisper must give the phrase. Both
are set here from negatives alone:

* negatives: real speech in other languages (the French, Spanish, Italian and Russian Asterisk prompts
  that training also uses: telephone band) and English sentences in the training voices (espeak-ng,
  the Piper voice), augmented as training augments (noise, rooms, 8 kHz band limit), without the
  sentences that say a calibrated phrase's words. Never festival, flite or the English Asterisk prompts:
  those are the evaluation's;
* candidate threshold: the lowest on the grid at which the head fires at most ``candidates_per_hour``
  times an hour on them (the second look's CPU budget), and never above ``MAX_CANDIDATE``;
* min_logprob: from the Whisper scores of the windows where the head fires on them at ``LOOSE`` times
  that budget (a sample of what its candidates sound like, five times as many) and, where the head fires
  too seldom for that (fewer than ``MIN_WINDOWS``), also of windows every ``hop_s`` of the speech: the
  lowest score that lets through so few of those windows that the head's candidates an hour would give
  at most ``false_accepts_per_hour`` (0.5, the product's target), and never more than 1% of them
  (``min_logprob_for``). With k windows allowed through of N, the candidate rate times k / N is the
  expected false accepts an hour on these negatives (reported).

The result is a manifest entry's ``decoding = { confirm_threshold, confirm_min_logprob }``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from assistant.audio.io import AudioError, read_audio
from assistant.config import WakeConfirmConfig
from assistant.wake.confirm import spellings
from assistant.wake.evaluate import THRESHOLDS, count_detections, detection_steps

RATE = 16000
CANDIDATES_PER_HOUR = 200.0
MAX_CANDIDATE = 0.5
"""a head that needs more than this to stay within the budget keeps this (its recall matters more)"""
LOOSE = 5.0
"""the min_logprob is set on the candidates of this many times the budget"""
MIN_WINDOWS = 100
FALSE_ACCEPTS_PER_HOUR = 0.5
"""the target: at the candidate rate, the share of the negatives' windows that pass may give this many"""
MAX_PASS = 0.01
"""and never more than this share of them pass (a head that seldom fires is not given a free pass)"""


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
    false_accepts_per_hour: float
    """expected on the negatives: the candidate rate times the share of their windows that pass"""

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def decoding(self) -> str:
        return f"confirm_threshold = {self.confirm_threshold:g}, confirm_min_logprob = {self.confirm_min_logprob:g}"


def negative_audio(minutes: float, seed: int = 0, progress: Callable | None = None,
                   phrases: Sequence[str] = ()) -> np.ndarray:
    """Half real speech in other languages, half augmented English sentences in the training voices; no
    sentence says a word of ``phrases`` (their lead words, "hey", "okay", aside)."""
    from assistant.wake.train.augment import augment
    from assistant.wake.train.data import noise_bank, real_negative_files
    from assistant.wake.train.phrases import LEAD_WORDS
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
        said = {w for p in phrases for w in p.lower().split() if w not in LEAD_WORDS}
        for text in wrap(sentences(400, "", seed), desc="sentences", unit="sentence"):
            if total >= minutes * 60 * RATE:
                break
            if said & set(re.sub(r"[^a-z' ]", " ", text.lower()).split()):
                continue
            u = voices[int(rng.integers(len(voices)))].say(text, rng)
            y, _ = augment(u.samples, rng, bank, lead_s=(0.1, 0.5), tail_s=(0.1, 0.4), snr_db=(5, 40))
            y = y / (np.abs(y).max() + 1e-9) * np.float32(0.3)  # level: what the heads and Whisper hear alike
            parts.append(y.astype(np.float32))
            total += len(y)
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def calibrate(wake, whisper, names: Sequence[str], phrases: Sequence[str], audio: np.ndarray,  # noqa: ANN001
              look: WakeConfirmConfig | None = None, hop_s: float = 2.0,
              candidates_per_hour: float = CANDIDATES_PER_HOUR,
              false_accepts_per_hour: float = FALSE_ACCEPTS_PER_HOUR, delays: Mapping[str, float] | None = None,
              progress: Callable | None = None) -> list[Calibration]:
    """``wake``: a ``WakeSet`` of the heads alone (no second look), heads in the order of ``names``;
    ``look``: how the second look listens (``[wake.confirm]``: its window, delay, encoder length, prompt);
    ``delays``: head name -> its own delay (a manifest entry's ``confirm_delay_s``), else ``look``'s."""
    look = look or WakeConfirmConfig()
    wrap = progress or (lambda it, **_k: it)
    hours = len(audio) / RATE / 3600
    heads = [h for m in wake.models for h in m.heads]
    win = int(look.window_s * RATE)
    out = []
    for name, phrase, head in wrap(list(zip(names, phrases, heads, strict=True)), desc="heads", unit="head"):
        delay = int(round((delays or {}).get(name, look.delay_s) * RATE))
        model = next(m for m in wake.models if head in m.heads)
        step = model.step_samples
        column = model.stream().scores_for(audio[: len(audio) // step * step])[:, model.heads.index(head)]

        def lowest(budget: float, column: np.ndarray = column, head=head) -> float:  # noqa: ANN001
            for t in THRESHOLDS:  # ascending: the lowest within the budget
                if t > MAX_CANDIDATE:
                    break
                if count_detections(column, float(t), head.refractory_steps) / hours <= budget:
                    return float(t)
            return MAX_CANDIDATE

        threshold = lowest(candidates_per_hour)
        ends = [(i + 1) * step + delay for i in detection_steps(column, lowest(LOOSE * candidates_per_hour),
                                                     head.refractory_steps)]
        if len(ends) < MIN_WINDOWS:
            ends += list(range(win, len(audio), int(hop_s * RATE)))
        table = {name: spellings(phrase)}
        scores = [whisper.opening_logprobs(audio[max(0, e - win) : e], table, min_s=look.encode_s,
                                           prompt=look.prompt)[name] for e in ends]
        rate = count_detections(column, threshold, head.refractory_steps) / hours
        min_logprob, passed = min_logprob_for(scores, rate, false_accepts_per_hour)
        out.append(Calibration(name, phrase, threshold, min_logprob, round(rate, 1), len(scores),
                               round(len(audio) / RATE / 60, 2), round(rate * passed / len(scores), 2)))
    return out


def min_logprob_for(scores: Sequence[float], rate: float, false_accepts_per_hour: float) -> tuple[float, int]:
    """The score a candidate needs so that ``rate`` candidates an hour, scored like ``scores`` (the
    negatives' windows), pass at most ``false_accepts_per_hour`` times an hour, and never more than
    ``MAX_PASS`` of them: just above the (k+1)-th highest score, k the windows allowed through. Returns it
    and k."""
    ranked = sorted((float(v) for v in scores if np.isfinite(v)), reverse=True) or [-20.0]
    allowed = len(ranked) if rate <= 0 else int(np.floor(false_accepts_per_hour * len(ranked) / rate))
    allowed = min(allowed, int(np.floor(MAX_PASS * len(ranked))), len(ranked) - 1)
    return round(min(ranked[allowed] + 0.01, -0.01), 2), allowed
