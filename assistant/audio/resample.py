"""Streaming resampling with libsoxr (the ``soxr`` package).

soxr is the field's well-kept resampler (SoX, ffmpeg and librosa use it): its ``ResampleStream`` keeps
filter state across chunks, so a stream resampled chunk by chunk equals the whole file resampled at once,
and its "HQ" quality has a stop band far below the 60 dB this product needs (measured in
tests/audio/test_resample.py). We do not write our own.
"""

from __future__ import annotations

import numpy as np
import soxr

SUPPORTED_RATES_HZ = (8000, 11025, 16000, 22050, 32000, 44100, 48000)


class Resampler:
    """Stream from ``in_rate`` to ``out_rate``: ``feed(samples)`` returns what is ready, ``finish()`` the tail."""

    def __init__(self, in_rate: int, out_rate: int, quality: str = "HQ") -> None:
        for name, rate in (("input", in_rate), ("output", out_rate)):
            if not isinstance(rate, int) or not 1000 <= rate <= 384000:
                raise ValueError(f"{name} sample rate must be an integer in [1000, 384000] Hz, got {rate!r}")
        self.in_rate, self.out_rate, self.quality = in_rate, out_rate, quality
        self.reset()

    def reset(self) -> None:
        self._passthrough = self.in_rate == self.out_rate
        self._stream = None if self._passthrough else soxr.ResampleStream(
            self.in_rate, self.out_rate, 1, dtype="float32", quality=self.quality
        )

    def feed(self, samples: np.ndarray) -> np.ndarray:
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        if self._passthrough:
            return samples
        return self._stream.resample_chunk(samples, last=False)

    def finish(self) -> np.ndarray:
        if self._passthrough:
            return np.zeros(0, dtype=np.float32)
        return self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)


def resample(samples: np.ndarray, in_rate: int, out_rate: int) -> np.ndarray:
    """Resample a whole recording (float32 mono)."""
    r = Resampler(in_rate, out_rate)
    return np.concatenate([r.feed(samples), r.finish()])
