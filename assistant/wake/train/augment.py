"""Augmentation: what a microphone in a room adds to clean synthetic speech.

Applied per clip, each with its own probability: speed (0.85-1.15x by resampling: tempo, pitch and
formants together, a different-sounding speaker), reverberation through a generated room impulse
response (a direct path, sparse early reflections, then an exponentially decaying noise tail with a
random RT60 of 0.1-0.9 s), background at a random SNR (white, pink or brown noise, music, or speech
babble in other languages), an 8 kHz band limit (telephone and cheap microphones) and a random gain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.audio.resample import resample

RATE = 16000


def rir(rng: np.random.Generator, rt60_s: float) -> np.ndarray:
    """A synthetic room impulse response at 16 kHz, unit direct path."""
    n = int(rt60_s * RATE)
    t = np.arange(n) / RATE
    h = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s)
    onset = int(rng.uniform(0.002, 0.01) * RATE)
    h[:onset] = 0.0
    for _ in range(int(rng.integers(2, 8))):  # early reflections
        k = int(rng.uniform(0.002, 0.04) * RATE)
        if k < n:
            h[k] += rng.choice([-1, 1]) * rng.uniform(0.2, 0.7)
    h *= rng.uniform(0.2, 0.8) / np.sqrt(np.sum(h**2) + 1e-12)  # direct-to-reverberant ratio
    h[0] = 1.0
    return h.astype(np.float32)


def convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    size = len(x) + len(h) - 1
    nfft = 1 << (size - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(x, nfft) * np.fft.rfft(h, nfft), nfft)[: len(x)].astype(np.float32)


def coloured_noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    w = rng.standard_normal(n)
    if kind == "white":
        return w.astype(np.float32)
    spec = np.fft.rfft(w)
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    spec /= np.sqrt(f) if kind == "pink" else f
    spec[0] = 0
    return np.fft.irfft(spec, n).astype(np.float32)


@dataclass
class NoiseBank:
    """Background recordings (music, babble) at 16 kHz; synthetic noise needs none."""

    recordings: list[np.ndarray]

    def background(self, n: int, rng: np.random.Generator) -> np.ndarray:
        kinds = ["white", "pink", "brown"] + (["recording"] * 3 if self.recordings else [])
        kind = kinds[int(rng.integers(len(kinds)))]
        if kind != "recording":
            return coloured_noise(kind, n, rng)
        src = self.recordings[int(rng.integers(len(self.recordings)))]
        if len(src) < n:
            src = np.tile(src, n // max(len(src), 1) + 1)
        start = int(rng.integers(0, len(src) - n + 1))
        return src[start : start + n].astype(np.float32)


def band_limit(x: np.ndarray) -> np.ndarray:
    """Through 8 kHz sampling and back: nothing above 4 kHz, as on a telephone."""
    return resample(resample(x, RATE, 8000), 8000, RATE)[: len(x)]


def mix_snr(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    p_s = float(np.mean(x**2)) + 1e-12
    p_n = float(np.mean(noise**2)) + 1e-12
    return x + noise * np.float32(np.sqrt(p_s / (p_n * 10 ** (snr_db / 10))))


def speed(x: np.ndarray, factor: float) -> np.ndarray:
    """Play ``factor`` times faster (resampling: pitch moves with it)."""
    return resample(x, int(round(RATE * factor)), RATE)


def augment(
    speech: np.ndarray,
    rng: np.random.Generator,
    bank: NoiseBank,
    lead_s: tuple[float, float] = (0.3, 1.2),
    tail_s: tuple[float, float] = (0.0, 0.4),
    snr_db: tuple[float, float] = (3.0, 30.0),
    speed_prob: float = 0.6,
) -> tuple[np.ndarray, int]:
    """A clip: silence + ``speech`` + silence, augmented. Returns it and the sample where the speech
    ends (after the speed change)."""
    x = speech.astype(np.float32)
    if rng.random() < speed_prob:
        x = speed(x, float(rng.uniform(0.85, 1.15)))
    x = x / (np.abs(x).max() + 1e-9)
    a = int(rng.uniform(*lead_s) * RATE)
    b = int(rng.uniform(*tail_s) * RATE)
    end = a + len(x)
    x = np.concatenate([np.zeros(a, np.float32), x, np.zeros(b + int(0.3 * RATE), np.float32)])
    if rng.random() < 0.5:
        x = convolve(x, rir(rng, float(rng.uniform(0.1, 0.9))))
    x = x[: end + b]
    if rng.random() < 0.8:
        speech_part = x[a:end]
        noise = bank.background(len(x), rng)
        scale = np.sqrt((np.mean(speech_part**2) + 1e-12) / (np.mean(noise**2) + 1e-12))
        snr = float(rng.uniform(*snr_db))
        x = x + noise * np.float32(scale / 10 ** (snr / 20))
    if rng.random() < 0.25:
        x = band_limit(x)
    gain_db = float(rng.uniform(-35.0, -1.0))
    x = x / (np.abs(x).max() + 1e-9) * np.float32(10 ** (gain_db / 20))
    return x.astype(np.float32), end
