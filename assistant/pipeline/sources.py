"""Audio in: a source's chunks into the audio queue on a thread of their own, a lost live source reopened,
and the two ways a thread hands work to the loop."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import numpy as np

from assistant.audio.source import AudioSource
from assistant.pipeline.audio_queue import AudioQueue

_LOGGER = logging.getLogger(__name__)

REOPEN_MIN_S, REOPEN_MAX_S = 0.5, 5.0
"""wait before reopening a lost live audio source, doubling up to the maximum"""


class SourceFeeder:
    """Moves audio from a source into the queue (``run``, on the source's thread). ``live`` sources drop
    the oldest audio under overload (``AudioQueue.push``), others wait for room. A live source that fails
    or ends (a microphone unplugged) is reported and, with ``reopen``, opened again until it comes back;
    otherwise the end of the source is the end of input (``ended``)."""

    def __init__(self, queue: AudioQueue, halt: threading.Event, live: bool,
                 reopen: Callable[[], AudioSource] | None, report: Callable[[str], object],
                 ended: Callable[[], object]) -> None:
        self.queue, self.halt, self.live, self.reopen = queue, halt, live, reopen
        self._report, self._ended = report, ended
        self.source: AudioSource | None = None
        """the source being read (a reopened one replaces the lost one)"""

    def run(self, source: AudioSource) -> None:
        self.source = source
        backoff_s = REOPEN_MIN_S
        while True:
            try:
                for chunk in source.chunks():
                    if self.halt.is_set():
                        return
                    chunk = np.asarray(chunk, dtype=np.float32)
                    if self.live:
                        self.queue.push(chunk)
                        backoff_s = REOPEN_MIN_S
                    else:
                        while not self.queue.put(chunk, timeout=0.5):
                            if self.halt.is_set():
                                return
                problem = ""
            except Exception as e:
                problem = f"audio source failed: {e}"
            if self.halt.is_set():
                return
            if self.reopen is None:
                if problem:
                    _LOGGER.error("%s", problem)
                    self._report(problem)
                break
            problem = problem or "audio source ended"
            _LOGGER.error("%s; reopening", problem)
            self._report(f"{problem}; reopening")
            close_in_background(source)
            while not self.halt.wait(backoff_s):
                backoff_s = min(2 * backoff_s, REOPEN_MAX_S)
                try:
                    source = self.source = self.reopen()
                    _LOGGER.warning("audio source is back")
                    break
                except Exception as e:
                    _LOGGER.error("audio source still unavailable: %s", e)
            else:
                return
        self._ended()


def post(loop: asyncio.AbstractEventLoop, halt: threading.Event, fn: Callable[..., None], *args,
         wait: bool) -> bool:
    """Run ``fn(*args)`` on the loop from another thread; with ``wait``, until it has run (or ``halt``).
    False if the loop is gone."""
    done = threading.Event() if wait else None

    def call() -> None:
        try:
            fn(*args)
        finally:
            if done is not None:
                done.set()

    try:
        loop.call_soon_threadsafe(call)
    except RuntimeError:  # loop closed
        return False
    while done is not None and not done.wait(0.5):
        if halt.is_set():
            return False
    return True


def close_in_background(source: AudioSource, timeout_s: float = 0.5) -> None:
    """Close a source without risking the stop: a reader blocked in ``read()`` can hold its lock."""

    def close() -> None:
        try:
            source.close()
        except Exception:
            _LOGGER.debug("closing the audio source failed", exc_info=True)

    t = threading.Thread(target=close, name="close-source", daemon=True)
    t.start()
    t.join(timeout_s)
