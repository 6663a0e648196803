"""microWakeWord's front end (TFLite Micro's audio frontend: 30 ms window, 10 ms step, 40 PCAN channels).

    fe = MicroFrontend()
    s = fe.stream(); feats = s.feed(samples)   # float32 mono [-1, 1] at 16 kHz, any chunk size
                                               # -> (n_new_frames, 40) float32, the values the models
                                               #    are fed before input quantisation
    s.reset()

A thin wrapper over the ``pymicro-features`` wheel (the front end pymicro-wakeword uses); the native
port with its numpy twin replaces this file.
"""

from __future__ import annotations

import numpy as np

NUM_CHANNELS = 40
WINDOW_SAMPLES = 480
STEP_SAMPLES = 160


class MicroFrontend:
    """The fixed microWakeWord settings."""

    num_channels = NUM_CHANNELS
    step_samples = STEP_SAMPLES
    window_samples = WINDOW_SAMPLES

    def stream(self) -> MicroFrontendStream:
        return MicroFrontendStream()


class MicroFrontendStream:
    def __init__(self) -> None:
        try:
            from pymicro_features import MicroFrontend as _Frontend
        except ImportError:
            raise RuntimeError(
                "microWakeWord's front end needs pymicro-features (pip install 'pymicro-features>=2,<3')"
            ) from None
        self._fe = _Frontend()
        self._pending = b""

    def reset(self) -> None:
        self._fe.reset()
        self._pending = b""

    def feed(self, samples: np.ndarray) -> np.ndarray:
        x = np.asarray(samples, np.float32).reshape(-1)
        pcm = self._pending + np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2").tobytes()
        frames, pos, chunk = [], 0, 2 * STEP_SAMPLES
        while pos + chunk <= len(pcm):
            out = self._fe.process_samples(pcm[pos : pos + chunk])
            pos += out.samples_read * 2
            if out.features:
                frames.append(out.features)
        self._pending = pcm[pos:]
        if not frames:
            return np.zeros((0, NUM_CHANNELS), np.float32)
        return np.asarray(frames, np.float32)
