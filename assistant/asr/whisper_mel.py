"""Whisper's log-mel front end: native (``native/whisper_mel.cc``) when built, else the numpy twin.

``log_mel(samples) -> (80, 3000) float32`` for at most 30 s of float32 16 kHz audio.
"""

from __future__ import annotations

import numpy as np

from assistant import _accel
from assistant.asr import _whisper_mel_py

N_SAMPLES = _whisper_mel_py.N_SAMPLES


def log_mel(samples: np.ndarray, impl: str | None = None) -> np.ndarray:
    if _accel.choose(impl, "whisper_log_mel") == "native":
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"expected mono samples, got shape {samples.shape}")
        return _accel.kernel("whisper_log_mel")(samples)
    return _whisper_mel_py.log_mel(samples)
