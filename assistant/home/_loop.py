"""An asyncio loop on a thread of its own, for a connection that must outlive any one request.

The device skill reads and sets states synchronously (``DeviceBackend``); a remote home keeps a
connection open, reconnects, and follows an event stream. That connection runs here, and the skill's
calls cross over with ``call(coro, timeout_s)``, which waits at most ``timeout_s`` for the answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from assistant.intent.home import Home

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")


class LoopThread:
    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout_s: float) -> T:
        """Run ``coro`` on the loop and wait for it; ``TimeoutError`` (and the coroutine cancelled) after
        ``timeout_s``."""
        future = self.submit(coro)
        try:
            return future.result(timeout_s)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError from None

    def stop(self, timeout_s: float = 5.0) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)


REFRESH_DELAY_S = 0.5
"""a change of the remote home is read this long after the last notice of it (a rename in Home
Assistant's UI sends several registry events; a device announcing itself sends several messages)"""


class RemoteConnection:
    """What both remote homes share: their connection runs as ``_run()`` on a ``LoopThread`` (reconnecting
    by itself); ``connected`` says whether it is up; the first attempt's outcome is what ``connect`` waits
    for (``_first_try``, ``_first_error``: ``_note_failure``); ``close`` ends it cleanly.

    The home can change while the device runs (a device added or renamed in Home Assistant, a new MQTT
    device announcing itself): ``_refresh_soon()`` reads it again after ``REFRESH_DELAY_S``
    (``_refresh``), and ``_changed(home)`` hands a changed home to every ``watch``-er."""

    _label = "remote home"
    """how the log names this connection (no secrets)"""

    def watch(self, callback: Callable[[Home], None]) -> None:
        """``callback(home)`` with each new home, on the connection's thread (it must not block long)."""
        self._watchers.append(callback)

    def _changed(self, home: Home) -> None:
        for callback in list(self._watchers):
            try:
                callback(home)
            except Exception:  # one consumer's failure leaves the others and the connection running
                _LOGGER.exception("%s: applying the changed home failed", self._label)

    def _refresh_soon(self) -> None:
        """(on the loop) read the home again once the notices have stopped for ``REFRESH_DELAY_S``."""
        if self._refresh_handle is not None:
            self._refresh_handle.cancel()
        loop = asyncio.get_running_loop()
        self._refresh_handle = loop.call_later(REFRESH_DELAY_S, lambda: loop.create_task(self._refresh_task()))

    async def _refresh_task(self) -> None:
        self._refresh_handle = None
        try:
            await self._refresh()
        except Exception as e:  # the connection went away meanwhile: the next connection reads it anyway
            _LOGGER.info("%s: could not read the changed home (%s)", self._label, e or type(e).__name__)

    async def _refresh(self) -> None:
        raise NotImplementedError

    def _start(self, thread_name: str) -> None:
        """Start the connection: call last in ``__init__``, once ``_run`` has what it needs."""
        self._watchers: list[Callable[[Home], None]] = []
        self._refresh_handle: asyncio.TimerHandle | None = None
        self._connected = threading.Event()
        self._first_try = threading.Event()
        self._first_error: BaseException | None = None
        self._stopping = False
        self._thread = LoopThread(thread_name)
        self._main = self._thread.submit(self._run())

    async def _run(self) -> None:
        raise NotImplementedError

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def close(self) -> None:
        """Close the connection (cleanly: the protocol's own goodbye) and stop the thread."""
        self._stopping = True
        self._main.cancel()
        concurrent.futures.wait([self._main], timeout=5)
        self._thread.stop()

    def _note_failure(self, error: BaseException) -> None:
        if not self._first_try.is_set():
            self._first_error = error
            self._first_try.set()
        else:
            _LOGGER.debug("%s: %s", self._label, error or type(error).__name__)
