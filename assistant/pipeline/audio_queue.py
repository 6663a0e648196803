"""The bounded audio queue between the sources and the listening thread."""

from __future__ import annotations

import collections
import threading

import numpy as np


class AudioQueue:
    """Bounded FIFO of audio chunks between the sources and the listening thread; thread-safe.

    Bounded by ``max_samples``. ``push`` (live audio) drops the oldest chunks when full and counts them;
    ``put`` (files) waits for room instead, so nothing is lost. ``close`` marks the end of input.
    """

    def __init__(self, max_samples: int) -> None:
        self.max_samples = max_samples
        self._items: collections.deque[np.ndarray] = collections.deque()
        self._num_samples = 0
        self._closed = False
        self._cond = threading.Condition()
        self.dropped_chunks = 0
        self.dropped_samples = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    def push(self, samples: np.ndarray) -> None:
        with self._cond:
            if self._closed:
                return
            self._append(samples)
            while self._num_samples > self.max_samples and len(self._items) > 1:
                old = self._items.popleft()
                self._num_samples -= len(old)
                self.dropped_chunks += 1
                self.dropped_samples += len(old)

    def try_put(self, samples: np.ndarray) -> bool:
        """Queue ``samples`` if there is room (or the queue is closed: then they are discarded)."""
        with self._cond:
            if not self._closed and self._num_samples >= self.max_samples:
                return False
            if not self._closed:
                self._append(samples)
            return True

    def put(self, samples: np.ndarray, timeout: float | None = None) -> bool:
        """Wait for room, then queue; False if ``timeout`` passed first."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._closed or self._num_samples < self.max_samples, timeout):
                return False
            if not self._closed:
                self._append(samples)
            return True

    def _append(self, samples: np.ndarray) -> None:
        self._items.append(samples)
        self._num_samples += len(samples)
        self._cond.notify_all()

    def get(self, timeout: float | None = None) -> np.ndarray | None:
        """The oldest chunk; ``None`` once closed and drained. Raises TimeoutError after ``timeout``."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self._closed, timeout):
                raise TimeoutError
            if not self._items:
                return None
            samples = self._items.popleft()
            self._num_samples -= len(samples)
            self._cond.notify_all()
            return samples

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._items.clear()
            self._num_samples = 0
            self._cond.notify_all()
