"""The two protocols every streaming stage follows, and the array aliases.

A *Model* is loaded once (sessions, weights, mmapped tables) and is immutable; a *Stream* holds the
per-utterance state. ``feed`` returns whatever became ready (possibly nothing) and never blocks;
``reset()`` must equal a fresh stream (tested for every stage).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

import numpy as np

Samples = np.ndarray
"""float32, shape (n,), mono, [-1, 1], at AudioConfig.sample_rate"""
Frames = np.ndarray
"""float32, shape (num_frames, num_mel_bins)"""

T_co = TypeVar("T_co", covariant=True)


class Stream(Protocol[T_co]):
    def feed(self, frames: Frames) -> Sequence[T_co]: ...

    def reset(self) -> None: ...


class StreamingModel(Protocol[T_co]):
    def stream(self) -> Stream[T_co]: ...
