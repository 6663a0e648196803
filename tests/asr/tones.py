"""Generated audio for the written-weights tones model (tests/data/asr/tones): one tone per word."""

from __future__ import annotations

import json

import numpy as np

from tests.asr.conftest import ASR_DATA

SAMPLE_RATE = 16000
TONE_S, GAP_S, EDGE_S = 0.2, 0.12, 0.3


def frequencies() -> dict[str, float]:
    return json.loads((ASR_DATA / "tones" / "tones.json").read_text(encoding="utf-8"))


def tone(freq_hz: float, seconds: float = TONE_S, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.01)  # 10 ms fades: no clicks
    return (amplitude * ramp * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def say(words: list[str | float]) -> np.ndarray:
    """Words (or raw frequencies in Hz) as tones with silence between them."""
    f = frequencies()
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), np.float32)
    parts = [np.zeros(int(EDGE_S * SAMPLE_RATE), np.float32)]
    for w in words:
        parts += [tone(f[w] if isinstance(w, str) else w), gap]
    parts.append(np.zeros(int(EDGE_S * SAMPLE_RATE), np.float32))
    return np.concatenate(parts)


def between(a: str, b: str, fraction: float) -> float:
    """A frequency ``fraction`` of the way from word ``a``'s tone to word ``b``'s (mel-spaced)."""
    f = frequencies()
    ma, mb = np.log1p(f[a] / 700.0), np.log1p(f[b] / 700.0)
    return float(700.0 * np.expm1(ma + fraction * (mb - ma)))
