"""Whisper's log-mel front end: native (``native/whisper_mel.cc``) when built, else the numpy twin.

``log_mel(samples) -> (80, 3000) float32`` for at most 30 s of float32 16 kHz audio.
"""

from __future__ import annotations

import numpy as np

from assistant import _accel
from assistant.asr import _whisper_mel_py

N_SAMPLES = _whisper_mel_py.N_SAMPLES


def log_mel(samples: np.ndarray, impl: str | None = None) -> np.ndarray:
    impl = impl or (
        "native" if _accel.native is not None and hasattr(_accel.native, "whisper_log_mel") else "python"
    )
    if impl == "native":
        if _accel.native is None or not hasattr(_accel.native, "whisper_log_mel"):
            raise RuntimeError("the native extension is not built (or ASSISTANT_PURE_PYTHON is set)")
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"expected mono samples, got shape {samples.shape}")
        return _accel.native.whisper_log_mel(samples)
    if impl != "python":
        raise ValueError(f"unknown implementation {impl!r} (native or python)")
    return _whisper_mel_py.log_mel(samples)
