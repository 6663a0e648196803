"""Time in the pipeline: ``Pacing`` and the clocks (wall time live, stream time for a file)."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import heapq
import itertools
import math
from collections.abc import Callable


class Pacing(enum.StrEnum):
    REALTIME = "realtime"
    STREAM = "stream"



class Clock:
    """Stream time for events; ``wait_until`` and ``call_at`` in the clock's own time base.

    ``samples`` is written by the listening thread only (audio consumed so far); everything else runs on
    the loop. ``next_deadline_s`` tells the listening thread when the loop must hear from it.
    """

    next_deadline_s = math.inf

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.samples = 0

    @property
    def stream_s(self) -> float:
        return self.samples / self.sample_rate

    def now(self) -> float:
        raise NotImplementedError

    def fire_due(self) -> None:
        """Run the callbacks whose time has come (loop thread)."""

    async def wait_until(self, t: float, on_due: Callable[[], None] | None = None) -> None:
        """Return at stream time ``t``; ``on_due`` runs synchronously when it is reached."""
        raise NotImplementedError

    def call_at(self, t: float, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback`` at ``t``; returns a cancel function."""
        raise NotImplementedError

    def end(self) -> None:
        """No more input: everything waiting on stream time is released."""


class WallClock(Clock):
    def __init__(self, sample_rate: int) -> None:
        super().__init__(sample_rate)
        self._loop = asyncio.get_running_loop()
        self._t0 = self._loop.time()

    def now(self) -> float:
        return self._loop.time() - self._t0

    async def wait_until(self, t: float, on_due: Callable[[], None] | None = None) -> None:
        delay = t - self.now()
        if delay > 0:
            await asyncio.sleep(delay)
        if on_due is not None:
            on_due()

    def call_at(self, t: float, callback: Callable[[], None]) -> Callable[[], None]:
        return self._loop.call_at(self._t0 + t, callback).cancel


class StreamClock(Clock):
    def __init__(self, sample_rate: int) -> None:
        super().__init__(sample_rate)
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._ended = False

    def now(self) -> float:
        return self.stream_s

    def _update_deadline(self) -> None:
        self.next_deadline_s = self._heap[0][0] if self._heap else math.inf

    def fire_due(self) -> None:
        while self._heap and (self._ended or self._heap[0][0] <= self.stream_s):
            _t, _n, callback = heapq.heappop(self._heap)
            self._update_deadline()
            callback()
        self._update_deadline()

    def call_at(self, t: float, callback: Callable[[], None]) -> Callable[[], None]:
        entry = (t, next(self._seq), callback)
        heapq.heappush(self._heap, entry)
        self._update_deadline()
        if self._ended or t <= self.stream_s:
            self.fire_due()

        def cancel() -> None:
            with contextlib.suppress(ValueError):
                self._heap.remove(entry)
                heapq.heapify(self._heap)
                self._update_deadline()

        return cancel

    async def wait_until(self, t: float, on_due: Callable[[], None] | None = None) -> None:
        if self._ended or t <= self.stream_s:
            if on_due is not None:
                on_due()
            return
        fut = asyncio.get_running_loop().create_future()

        def due() -> None:
            if on_due is not None:
                on_due()
            if not fut.done():
                fut.set_result(None)

        cancel = self.call_at(t, due)
        try:
            await fut
        finally:
            cancel()

    def end(self) -> None:
        self._ended = True
        self.fire_due()
