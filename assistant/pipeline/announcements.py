"""Announcements: what the device says unasked (a timer ringing), spoken when it is idle with no turn in
progress. They come from any thread (``put``) or from the dialogue's ``ringing()``, polled here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

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
        self._queue: asyncio.Queue[str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> list[asyncio.Task]:
        """On the loop: the tasks that speak and poll (cancelled by the caller at the end)."""
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        tasks = [asyncio.create_task(self._speak_loop(), name="announce")]
        if self._ringing is not None:
            tasks.append(asyncio.create_task(self._ring_loop(), name="ringing"))
        return tasks

    def put(self, text: str) -> None:
        """Queue ``text`` (any thread). RuntimeError before ``start``."""
        if self._loop is None or self._queue is None:
            raise RuntimeError("the assistant is not running")
        self._loop.call_soon_threadsafe(self._queue.put_nowait, text)

    async def _speak_loop(self) -> None:
        while True:
            text = await self._queue.get()
            await self._wait_idle()
            _LOGGER.info("announcing %r", text)
            self._announce(text)

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
                self._queue.put_nowait(text)
