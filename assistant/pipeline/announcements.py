"""Announcements: what the device says unasked (a timer ringing, text a client asked to be spoken), spoken
when it is idle with no turn in progress. They come from the loop or any thread (``put``) or from the
dialogue's ``ringing()``, polled here, into a bounded queue (``assistant.announce.AnnouncementQueue``):
timers and alarms first and never refused, client speech refused when too much waits, and dropped when
its client leaves (``forget``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from assistant.announce import AnnouncementQueue, Priority
from assistant.events import Error, Event

_LOGGER = logging.getLogger(__name__)

RING_POLL_S = 0.5
"""how often the dialogue's ``ringing()`` is asked for due announcements"""


class Announcer:
    def __init__(self, ringing: Callable[[], list[str]] | None, wait_idle: Callable[[], Awaitable[None]],
                 announce: Callable[[str], None], emit: Callable[[Event], None]) -> None:
        """``wait_idle`` returns once the assistant is idle with no turn; ``announce(text)`` starts the turn
        that speaks it; ``ringing`` (the dialogue's) is polled every ``RING_POLL_S``."""
        self._ringing, self._wait_idle, self._announce, self._emit = ringing, wait_idle, announce, emit
        self._queue: AnnouncementQueue | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> list[asyncio.Task]:
        """On the loop: the tasks that speak and poll (cancelled by the caller at the end)."""
        self._loop = asyncio.get_running_loop()
        self._queue = AnnouncementQueue()
        tasks = [asyncio.create_task(self._speak_loop(), name="announce")]
        if self._ringing is not None:
            tasks.append(asyncio.create_task(self._ring_loop(), name="ringing"))
        return tasks

    def put(self, text: str, priority: Priority = Priority.ALARM, source: str = "") -> bool:
        """Queue ``text``. On the loop: False (nothing queued) for client speech that does not fit; from
        another thread it is queued on the loop, and True. RuntimeError before ``start``."""
        if self._loop is None or self._queue is None:
            raise RuntimeError("the assistant is not running")
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            return self._queue.put(text, priority, source)
        self._loop.call_soon_threadsafe(self._queue.put, text, priority, source)
        return True

    def forget(self, source: str) -> int:
        """Drop what ``source`` (a client that left) asked to be said and is still waiting (loop thread)."""
        return self._queue.drop_source(source) if self._queue is not None else 0

    async def _speak_loop(self) -> None:
        while True:
            item = await self._queue.get()
            await self._wait_idle()
            _LOGGER.info("announcing %r", item.text)
            self._announce(item.text)

    async def _ring_loop(self) -> None:
        while True:
            await asyncio.sleep(RING_POLL_S)
            try:
                due = self._ringing()
            except Exception as e:
                _LOGGER.exception("ringing() failed")
                self._emit(Error("skills", f"{type(e).__name__}: {e}"))
                continue
            for text in due:
                self._queue.put(text, Priority.ALARM)
