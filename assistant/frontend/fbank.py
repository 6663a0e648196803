"""Fbank: the streaming front end. Native (``native/fbank.cc``) when built, else the numpy twin.

    fbank = Fbank(cfg.frontend)            # one stream
    frames = fbank.feed(samples)           # (n, num_bins) float32; n may be 0
    frames = fbank.finish()                # the last frames, mirrored past the end
    fbank.reset()                          # equals a fresh Fbank
"""

from __future__ import annotations

import numpy as np

from assistant import _accel
from assistant.config import SAMPLE_RATE, FrontendConfig
from assistant.frontend._fbank_py import FbankPy, _check_samples


class Fbank:
    """Streaming Kaldi-compatible fbank; ``impl`` is "native", "python" or None (the best available)."""

    def __init__(self, cfg: FrontendConfig, sample_rate: int = SAMPLE_RATE, impl: str | None = None) -> None:
        impl = _accel.choose(impl, "Fbank")
        if impl == "native":
            self._impl = _accel.kernel("Fbank")(
                sample_rate=sample_rate,
                num_mel_bins=cfg.num_mel_bins,
                frame_length_ms=cfg.frame_length_ms,
                frame_shift_ms=cfg.frame_shift_ms,
                low_freq_hz=cfg.low_freq_hz,
                high_freq_hz=cfg.high_freq_hz,
                window=cfg.window.value,
                preemphasis=cfg.preemphasis,
                remove_dc_offset=cfg.remove_dc_offset,
                snip_edges=cfg.snip_edges,
                use_energy=cfg.use_energy,
                energy_floor=cfg.energy_floor,
            )
        else:
            self._impl = FbankPy(cfg, sample_rate)
        self.implementation = impl
        self.num_bins: int = self._impl.num_bins
        # The native feed checks its input itself (same contract and messages), saving a Python pass.
        self._feed = self._impl.feed if impl == "native" else lambda x: self._impl.feed(_check_samples(x))

    def feed(self, samples: np.ndarray) -> np.ndarray:
        """float32 mono samples in [-1, 1] -> (n, num_bins) float32 frames that became ready."""
        return self._feed(samples)

    def finish(self) -> np.ndarray:
        return self._impl.finish()

    def reset(self) -> None:
        self._impl.reset()

    def compute(self, samples: np.ndarray) -> np.ndarray:
        """All frames of a whole recording (a fresh stream: reset, feed, finish)."""
        self.reset()
        frames = [self.feed(samples), self.finish()]
        self.reset()
        return np.concatenate(frames, axis=0)
