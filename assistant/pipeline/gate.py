"""Turn taking under ``Pacing.STREAM``: a file is a simulation in which computing takes no stream time.

While a turn recognises, thinks and synthesises, the listening thread waits at the gate; while the turn
waits for stream time itself (its reply being "played"), the gate is open, and the turn takes it back
when that time is reached. Under ``Pacing.REALTIME`` the gate never closes: the world does not wait.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from assistant.pipeline.clock import Pacing


class TurnGate:
    def __init__(self, pacing: Pacing, current_turn: Callable[[], asyncio.Task | None]) -> None:
        self.paced = pacing == Pacing.STREAM
        self._current_turn = current_turn
        self._open = threading.Event()
        self._open.set()
        self._held = False

    def hold(self) -> None:
        """The turn starting now holds the gate (loop thread)."""
        if self.paced:
            self._held = True
            self._open.clear()

    def release(self) -> None:
        self._held = False
        self._open.set()

    def wait(self, timeout_s: float) -> bool:
        """Listening thread: True once the gate is open (always, unpaced)."""
        return not self.paced or self._open.wait(timeout_s)

    @property
    def is_open(self) -> bool:
        return self._open.is_set()

    def lend(self) -> Callable[[], None]:
        """The holding turn lets stream time pass (a reply playing); returns the call that takes the gate
        back when that time is reached, if the same turn is still the current one."""
        if not self._held:
            return lambda: None
        turn = asyncio.current_task()
        self.release()

        def take_back() -> None:
            if turn is self._current_turn():
                self.hold()

        return take_back
