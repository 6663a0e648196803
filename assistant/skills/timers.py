"""Timers: several at once, named, paused and resumed, extended and shortened; they ring with a spoken
announcement. Every change is persisted at once, so timers survive a restart (a timer that ended while
the device was off rings as soon as it is back).

A timer is found by its ``name`` ("the pasta timer"), its ``area``, or its starting length
(``start_hours``/``start_minutes``/``start_seconds``: "the ten minute timer"); with none of those and
exactly one timer running, that one.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from assistant.intent.numbers import Duration, duration_to_words
from assistant.intent.parser import Intent
from assistant.skills.registry import Clock, Reply, system_clock
from assistant.skills.state import StateStore

__all__ = ["TimerSkill", "Ringing"]

MAX_TIMERS = 20
MAX_TIMER_S = 24 * 3600


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
        state = store.load("timers", {"next_id": 1, "timers": []})
        self._next_id = int(state.get("next_id", 1))
        self._timers: list[dict[str, Any]] = [t for t in state.get("timers", []) if _valid(t)]

    # ------------------------------------------------------------------------------------ state

    def _save(self) -> None:
        self.store.save("timers", {"next_id": self._next_id, "timers": self._timers})

    def remaining_s(self, t: dict[str, Any]) -> float:
        if t["ends_at"] is None:
            return float(t["remaining_s"])
        return max(0.0, t["ends_at"] - self.clock())

    @property
    def timers(self) -> list[dict[str, Any]]:
        return [dict(t) for t in self._timers]

    def due(self) -> list[Ringing]:
        """Timers that have ended (removed and saved); the caller speaks their announcements."""
        now = self.clock()
        done = [t for t in self._timers if t["ends_at"] is not None and t["ends_at"] <= now]
        if not done:
            return []
        self._timers = [t for t in self._timers if t not in done]
        self._save()
        out = []
        for t in done:
            what = (
                f"Your {t['name']} timer"
                if t.get("name")
                else f"Your {duration_to_words(t['start_s'])} timer"
            )
            out.append(Ringing(t["id"], f"{what} is done."))
        return out

    def next_due_s(self) -> float | None:
        running = [t["ends_at"] for t in self._timers if t["ends_at"] is not None]
        return max(0.0, min(running) - self.clock()) if running else None

    # ---------------------------------------------------------------------------------- intents

    async def handle(self, intent: Intent) -> Reply:
        s = intent.slots
        match intent.name:
            case "HassStartTimer":
                return self._start(s)
            case "HassCancelAllTimers":
                n = len(self._timers)
                self._timers = []
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
            and len(self._timers) > 1
            and not (s.get("name") or s.get("area") or any(k.startswith("start_") for k in s))
        ):
            return self.status_all()
        found = self._find(s)
        if isinstance(found, Reply):
            if intent.name == "HassTimerStatus" and not self._timers:
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
        if len(self._timers) >= MAX_TIMERS:
            return Reply(f"You already have {MAX_TIMERS} timers; cancel one first.", success=False)
        name = str(s.get("name", "")).strip()
        if name and any(t.get("name") == name for t in self._timers):
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
        if not self._timers:
            return Reply("You have no timers running.", success=False)
        candidates = list(self._timers)
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
        if not self._timers:
            return Reply("You have no timers running.")
        parts = [
            f"the {_describe(t)} has {duration_to_words(round(self.remaining_s(t)))} left"
            + (" (paused)" if t["ends_at"] is None else "")
            for t in self._timers
        ]
        if len(parts) == 1:
            return Reply(_cap(parts[0]) + ".")
        return Reply(f"You have {len(parts)} timers: " + ", ".join(parts[:-1]) + " and " + parts[-1] + ".")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _valid(t: Any) -> bool:
    return (
        isinstance(t, dict)
        and isinstance(t.get("id"), int)
        and isinstance(t.get("start_s"), int | float)
        and (t.get("ends_at") is None or isinstance(t.get("ends_at"), int | float))
        and isinstance(t.get("remaining_s"), int | float)
    )
