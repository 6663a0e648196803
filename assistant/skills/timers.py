"""Timers: several at once, named, paused and resumed, extended and shortened; they ring with a spoken
announcement. Every change is persisted at once, so timers survive a restart (a timer that ended while
the device was off rings as soon as it is back). Memory changes only once the save has succeeded (it is
put back otherwise, and the turn says nothing was changed).

A timer that ends is forgotten only after it has rung: ``due`` marks it ``ringing`` (saved where the
disk allows; it rings whether or not) and hands out its announcement once; ``rang(timer_id)``, called
once it has been spoken, forgets it. A ringing timer that ``rang`` is never called for is forgotten
``RING_FORGET_S`` after it was handed out; one still ringing at a restart rings again.

A timer is found by its ``name`` ("the pasta timer"), its ``area``, or its starting length
(``start_hours``/``start_minutes``/``start_seconds``: "the ten minute timer"); with none of those and
exactly one timer running, that one.
"""

from __future__ import annotations

import copy
import difflib
import logging
from dataclasses import dataclass, field
from typing import Any

from assistant.intent.numbers import Duration, duration_to_words
from assistant.intent.parser import Intent
from assistant.skills.registry import Clock, Reply, system_clock
from assistant.skills.state import StateError, StateStore

_LOGGER = logging.getLogger(__name__)

__all__ = ["RING_FORGET_S", "TimerDoc", "TimerSkill", "TimersDoc", "Ringing"]

MAX_TIMERS = 20
MAX_TIMER_S = 24 * 3600
RING_FORGET_S = 600.0
"""a ringing timer whose announcement was handed out this long ago is forgotten even if ``rang`` was not
called for it"""


@dataclass(frozen=True)
class TimerDoc:
    """One timer in timers.json"""

    id: int
    start_s: float
    """its starting length"""
    remaining_s: float
    """what was left when it was paused"""
    ends_at: float | None
    """clock time it ends; None while paused"""
    name: str = ""
    area: str = ""
    ringing: bool = False
    """it has ended and its announcement has not yet been confirmed spoken"""


@dataclass(frozen=True)
class TimersDoc:
    """timers.json"""

    next_id: int = 1
    timers: list[TimerDoc] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Ringing:
    timer_id: int
    text: str
    """the announcement to speak"""


def _describe(t: dict[str, Any]) -> str:
    length = duration_to_words(t["start_s"])
    return f"{t['name']} timer" if t.get("name") else f"{length} timer"


class TimerSkill:
    name = "timers"
    intents = frozenset(
        {
            "HassStartTimer",
            "HassCancelTimer",
            "HassCancelAllTimers",
            "HassPauseTimer",
            "HassUnpauseTimer",
            "HassTimerStatus",
            "HassIncreaseTimer",
            "HassDecreaseTimer",
        }
    )

    def __init__(self, store: StateStore, clock: Clock = system_clock) -> None:
        self.store = store
        self.clock = clock
        state = store.load("timers", {"next_id": 1, "timers": []}, TimersDoc)
        self._timers: list[dict[str, Any]] = list(state.get("timers", []))
        self._next_id = max([int(state.get("next_id", 1)), *(t["id"] + 1 for t in self._timers)])
        self._handed_out: dict[int, float] = {}
        """ringing timers whose announcement was handed out, and when (clock time)"""

    # ------------------------------------------------------------------------------------ state

    def _save(self) -> None:
        self.store.save("timers", {"next_id": self._next_id, "timers": self._timers})

    def remaining_s(self, t: dict[str, Any]) -> float:
        if t["ends_at"] is None:
            return float(t["remaining_s"])
        return max(0.0, t["ends_at"] - self.clock())

    @property
    def _active(self) -> list[dict[str, Any]]:
        """The timers the user can still act on (not ringing)."""
        return [t for t in self._timers if not t.get("ringing")]

    @property
    def timers(self) -> list[dict[str, Any]]:
        return [dict(t) for t in self._active]

    def due(self) -> list[Ringing]:
        """Announcements of timers that have ended, each handed out once (the timers are kept, marked
        ``ringing``, until ``rang``); the caller speaks them."""
        now = self.clock()
        for timer_id, at in list(self._handed_out.items()):
            if now - at >= RING_FORGET_S:
                self.rang(timer_id)
        done = [
            t for t in self._timers
            if t["id"] not in self._handed_out
            and (t.get("ringing") or (t["ends_at"] is not None and t["ends_at"] <= now))
        ]
        if not done:
            return []
        if not all(t.get("ringing") for t in done):
            for t in done:
                t["ringing"] = True
            try:
                self._save()
            except StateError as e:  # it rings all the same: a timer is never dropped unrung
                _LOGGER.warning("timers: could not record that a timer ended: %s", e)
        out = []
        for t in done:
            self._handed_out[t["id"]] = now
            what = (
                f"Your {t['name']} timer"
                if t.get("name")
                else f"Your {duration_to_words(t['start_s'])} timer"
            )
            out.append(Ringing(t["id"], f"{what} is done."))
        return out

    def rang(self, timer_id: int) -> None:
        """The timer's announcement has been spoken: forget it (saved where the disk allows; one not
        saved rings once more after a restart)."""
        self._handed_out.pop(timer_id, None)
        kept = [t for t in self._timers if t["id"] != timer_id]
        if len(kept) == len(self._timers):
            return
        self._timers = kept
        try:
            self._save()
        except StateError as e:
            _LOGGER.warning("timers: could not record that a timer rang: %s", e)

    def next_due_s(self) -> float | None:
        running = [t["ends_at"] for t in self._active if t["ends_at"] is not None]
        return max(0.0, min(running) - self.clock()) if running else None

    # ---------------------------------------------------------------------------------- intents

    async def handle(self, intent: Intent) -> Reply:
        before = (self._next_id, copy.deepcopy(self._timers))
        try:
            return self._handle(intent)
        except StateError:  # not saved: memory as it was, the registry says so
            self._next_id, self._timers = before
            raise

    def _handle(self, intent: Intent) -> Reply:
        s = intent.slots
        match intent.name:
            case "HassStartTimer":
                return self._start(s)
            case "HassCancelAllTimers":
                n = len(self._active)
                self._timers = [t for t in self._timers if t.get("ringing")]
                self._save()
                return Reply(
                    "There are no timers to cancel."
                    if n == 0
                    else "Cancelled your timer."
                    if n == 1
                    else f"Cancelled all {n} timers.",
                    data={"count": n},
                )
        if (
            intent.name == "HassTimerStatus"
            and len(self._active) > 1
            and not (s.get("name") or s.get("area") or any(k.startswith("start_") for k in s))
        ):
            return self.status_all()
        found = self._find(s)
        if isinstance(found, Reply):
            if intent.name == "HassTimerStatus" and not self._active:
                return Reply("You have no timers running.")
            return found
        t = found
        match intent.name:
            case "HassCancelTimer":
                self._timers.remove(t)
                self._save()
                return Reply(f"Cancelled the {_describe(t)}.", data={"timer_id": t["id"]})
            case "HassPauseTimer":
                if t["ends_at"] is None:
                    return Reply(f"The {_describe(t)} is already paused.")
                t["remaining_s"], t["ends_at"] = self.remaining_s(t), None
                self._save()
                return Reply(f"Paused the {_describe(t)}.", data={"timer_id": t["id"]})
            case "HassUnpauseTimer":
                if t["ends_at"] is not None:
                    return Reply(f"The {_describe(t)} is already running.")
                t["ends_at"] = self.clock() + t["remaining_s"]
                self._save()
                return Reply(f"Resumed the {_describe(t)}.", data={"timer_id": t["id"]})
            case "HassTimerStatus":
                return self._status(s)
            case "HassIncreaseTimer" | "HassDecreaseTimer":
                delta = Duration(s.get("hours", 0), s.get("minutes", 0), s.get("seconds", 0)).total_s
                if delta <= 0:
                    return Reply(
                        "By how much? Say for example: add five minutes to the timer.", success=False
                    )
                sign = 1 if intent.name == "HassIncreaseTimer" else -1
                left = self.remaining_s(t) + sign * delta
                if left <= 0:
                    return Reply(
                        f"The {_describe(t)} has only {duration_to_words(int(self.remaining_s(t)))} "
                        "left; cancel it instead?",
                        success=False,
                    )
                if left > MAX_TIMER_S:
                    return Reply("Timers can run for at most a day.", success=False)
                if t["ends_at"] is None:
                    t["remaining_s"] = left
                else:
                    t["ends_at"] = self.clock() + left
                self._save()
                verb = "Added" if sign > 0 else "Took"
                prep = "to" if sign > 0 else "off"
                return Reply(
                    f"{verb} {duration_to_words(delta)} {prep} the {_describe(t)}. "
                    f"{_cap(duration_to_words(round(left)))} left.",
                    data={"timer_id": t["id"], "remaining_s": left},
                )
        return Reply("Sorry, I can't do that with timers.", success=False)

    def _start(self, s: dict[str, Any]) -> Reply:
        total = Duration(s.get("hours", 0), s.get("minutes", 0), s.get("seconds", 0)).total_s
        if total <= 0:
            return Reply("For how long? Say for example: set a timer for five minutes.", success=False)
        if total > MAX_TIMER_S:
            return Reply("Timers can run for at most a day.", success=False)
        if len(self._active) >= MAX_TIMERS:
            return Reply(f"You already have {MAX_TIMERS} timers; cancel one first.", success=False)
        name = str(s.get("name", "")).strip()
        if name and any(t.get("name") == name for t in self._active):
            return Reply(f"You already have a {name} timer.", success=False)
        t = {
            "id": self._next_id,
            "name": name,
            "area": s.get("area", ""),
            "start_s": total,
            "ends_at": self.clock() + total,
            "remaining_s": total,
        }
        self._next_id += 1
        self._timers.append(t)
        self._save()
        what = f"{name.capitalize()} timer" if name else "Timer"
        return Reply(
            f"{what} set for {duration_to_words(total)}.", data={"timer_id": t["id"], "seconds": total}
        )

    def _find(self, s: dict[str, Any]) -> dict[str, Any] | Reply:
        if not self._active:
            return Reply("You have no timers running.", success=False)
        candidates = list(self._active)
        if s.get("name"):
            names = [t["name"] for t in candidates if t.get("name")]
            close = difflib.get_close_matches(s["name"], names, n=1, cutoff=0.6)
            candidates = [t for t in candidates if close and t.get("name") == close[0]]
            if not candidates:
                return Reply(f"You have no {s['name']} timer.", success=False)
        start = Duration(
            s.get("start_hours", 0), s.get("start_minutes", 0), s.get("start_seconds", 0)
        ).total_s
        if start:
            candidates = [t for t in candidates if t["start_s"] == start]
            if not candidates:
                return Reply(f"You have no {duration_to_words(start)} timer.", success=False)
        if s.get("area"):
            candidates = [t for t in candidates if t.get("area") == s["area"]] or candidates
        if len(candidates) > 1:
            names = ", ".join(_describe(t) for t in candidates[:-1]) + " and the " + _describe(candidates[-1])
            return Reply(f"Which one? You have the {names}.", success=False)
        return candidates[0]

    def _status(self, s: dict[str, Any]) -> Reply:
        t = self._find(s)
        assert not isinstance(t, Reply)
        left = duration_to_words(round(self.remaining_s(t)))
        paused = " (paused)" if t["ends_at"] is None else ""
        return Reply(
            f"The {_describe(t)} has {left} left{paused}.",
            data={"timer_id": t["id"], "remaining_s": self.remaining_s(t)},
        )

    def status_all(self) -> Reply:
        if not self._active:
            return Reply("You have no timers running.")
        parts = [
            f"the {_describe(t)} has {duration_to_words(round(self.remaining_s(t)))} left"
            + (" (paused)" if t["ends_at"] is None else "")
            for t in self._active
        ]
        if len(parts) == 1:
            return Reply(_cap(parts[0]) + ".")
        return Reply(f"You have {len(parts)} timers: " + ", ".join(parts[:-1]) + " and " + parts[-1] + ".")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
