"""The queue of things to say unprompted: timers and alarms ringing, and text clients ask to be spoken
(a Wyoming ``synthesize``). Bounded, so a flood of client speech cannot queue hours of talk ahead of a
timer or grow memory without limit:

* timers and alarms (``Priority.ALARM``) are always taken and always come first; they are bounded by
  the skills themselves (a few dozen at most);
* client speech (``Priority.CLIENT``) is taken while the queue holds fewer than ``max_entries`` entries
  and ``max_chars`` characters of it, and refused otherwise (``put`` returns False: the endpoint tells
  the client); a client's speech still waiting is dropped when that client leaves (``drop_source``).

Within a priority, first in, first out. Used on the event loop only; ``get`` waits for the next.

    queue = AnnouncementQueue()
    queue.put("Your pasta timer is done.", Priority.ALARM)
    queue.put(text, Priority.CLIENT, source=client_id)   # False: refused
    item = await queue.get()
"""

from __future__ import annotations

import asyncio
import collections
import enum
from dataclasses import dataclass

__all__ = ["Announcement", "AnnouncementQueue", "Priority"]

MAX_ENTRIES = 16
"""client announcements waiting at once"""
MAX_CHARS = 20_000
"""characters of client announcements waiting at once (about 20 minutes of speech)"""


class Priority(enum.IntEnum):
    ALARM = 0
    """timers and alarms: first, never refused"""
    CLIENT = 1
    """text a client asked to be spoken"""


@dataclass(frozen=True, slots=True)
class Announcement:
    text: str
    priority: Priority
    source: str = ""
    """who asked (a client's id; empty for the device's own)"""


class AnnouncementQueue:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_chars: int = MAX_CHARS) -> None:
        if max_entries < 1 or max_chars < 1:
            raise ValueError("max_entries and max_chars must be >= 1")
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._queues: dict[Priority, collections.deque[Announcement]] = {p: collections.deque() for p in Priority}
        self._client_chars = 0
        self._ready = asyncio.Event()
        self.refused = 0
        """client announcements refused because the queue was full"""

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    @property
    def client_chars(self) -> int:
        return self._client_chars

    def put(self, text: str, priority: Priority, source: str = "") -> bool:
        """Queue ``text``; False (and nothing queued) for client speech that does not fit."""
        item = Announcement(text, Priority(priority), source)
        if item.priority == Priority.CLIENT:
            waiting = len(self._queues[Priority.CLIENT])
            if waiting >= self.max_entries or self._client_chars + len(text) > self.max_chars:
                self.refused += 1
                return False
            self._client_chars += len(text)
        self._queues[item.priority].append(item)
        self._ready.set()
        return True

    def drop_source(self, source: str) -> int:
        """Forget what ``source`` asked for and has not yet been said (it has left); how many."""
        queue = self._queues[Priority.CLIENT]
        kept = [a for a in queue if a.source != source]
        dropped = len(queue) - len(kept)
        if dropped:
            self._queues[Priority.CLIENT] = collections.deque(kept)
            self._client_chars = sum(len(a.text) for a in kept)
        return dropped

    def get_nowait(self) -> Announcement | None:
        for priority in Priority:
            queue = self._queues[priority]
            if queue:
                item = queue.popleft()
                if priority == Priority.CLIENT:
                    self._client_chars -= len(item.text)
                if not len(self):
                    self._ready.clear()
                return item
        self._ready.clear()
        return None

    async def get(self) -> Announcement:
        """The next announcement: timers and alarms first."""
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            await self._ready.wait()
