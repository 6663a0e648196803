"""Time and date, from the device's clock in its local time zone."""

from __future__ import annotations

import datetime as dt

from assistant.intent.parser import Intent
from assistant.skills.registry import Clock, Reply, system_clock

__all__ = ["ClockSkill"]


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class ClockSkill:
    name = "clock"
    intents = frozenset({"HassGetCurrentTime", "HassGetCurrentDate"})

    def __init__(self, clock: Clock = system_clock, tz: dt.tzinfo | None = None) -> None:
        self.clock = clock
        self.tz = tz

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), self.tz)

    async def handle(self, intent: Intent) -> Reply:
        now = self.now()
        if intent.name == "HassGetCurrentTime":
            hour = now.hour % 12 or 12
            ampm = "AM" if now.hour < 12 else "PM"
            return Reply(f"It's {hour}:{now.minute:02d} {ampm}.", data={"time": now.strftime("%H:%M")})
        return Reply(
            f"Today is {now:%A}, {now:%B} {_ordinal(now.day)}, {now.year}.",
            data={"date": now.date().isoformat()},
        )
