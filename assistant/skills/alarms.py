"""Alarms and reminders: set for a clock time (once, or on some days of the week) or, reminders, after a
while; listed, cancelled, snoozed and stopped by voice. Persisted like timers, at every change, so they
survive a restart and a power cut: one that came due while the device was off rings when it is back if
that was at most ``MISSED_AFTER_S`` ago, and is otherwise reported as missed (said once). As with
timers, memory changes only once the save has succeeded: a request whose change cannot be written (a
full or read-only disk) is put back and the turn says nothing was changed.

Intents (named in Home Assistant's style; Home Assistant itself has none for alarms):

- ``HassSetAlarm``: ``hour`` (0-23, or 1-12 with ``meridiem`` "am"/"pm"; without it, the next time the
  clock shows that hour), ``minute``, ``days`` ("weekdays", "weekends", "daily" or day names: a repeating
  alarm), ``name``
- ``HassListAlarms``, ``HassCancelAlarm`` (``hour``/``minute`` to say which, or ``all``),
  ``HassSnoozeAlarm`` (``minutes``, default ``SNOOZE_S``), ``HassStopAlarm``
- ``HassSetReminder``: ``task`` and either a clock time (``hour``, ``minute``, ``meridiem``) or a delay
  (``hours``/``minutes``/``seconds``, as timers take)
- ``HassListReminders``, ``HassCancelReminder`` (``task`` to say which, or ``all``)

``due()`` returns what to announce now (ringing alarms, reminders, missed ones); the device speaks them
through the announcement path while idle, as it does for timers.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
from dataclasses import dataclass
from typing import Any

from assistant.intent.numbers import Duration, duration_to_words, words_to_digits
from assistant.intent.parser import Intent
from assistant.skills.registry import Clock, Reply, system_clock
from assistant.skills.state import StateError, StateStore

_LOGGER = logging.getLogger(__name__)

__all__ = ["AlarmSkill", "Announcement", "parse_clock_time", "parse_days"]

MAX_ITEMS = 50
SNOOZE_S = 9 * 60
MISSED_AFTER_S = 15 * 60
"""an alarm or reminder that came due longer ago than this (the device was off) is reported, not rung"""
RING_FOR_S = 10 * 60
"""a ringing alarm nobody stopped or snoozed is dismissed after this long"""
MAX_DELAY_S = 366 * 24 * 3600

_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_SETS = {
    "weekdays": (0, 1, 2, 3, 4),
    "weekday": (0, 1, 2, 3, 4),
    "weekends": (5, 6),
    "weekend": (5, 6),
    "daily": tuple(range(7)),
    "every day": tuple(range(7)),
}


@dataclass(frozen=True, slots=True)
class Announcement:
    item_id: int
    kind: str
    """"alarm", "reminder" or "missed\""""
    text: str


def _days(value: Any) -> tuple[int, ...] | None:
    """Weekday numbers (Monday 0) from "weekdays", "monday and friday", ["monday", "friday"]; None if bad."""
    if value in (None, "", []):
        return ()
    words = value if isinstance(value, list) else [str(value)]
    out: set[int] = set()
    for w in words:
        w = str(w).lower().strip()
        if w in _DAY_SETS:
            out.update(_DAY_SETS[w])
            continue
        for part in w.replace(",", " ").replace(" and ", " ").split():
            part = part.rstrip("s")  # "mondays"
            if part not in _DAY_NAMES:
                return None
            out.add(_DAY_NAMES.index(part))
    return tuple(sorted(out))


_MERIDIEM_WORDS = (
    (r"\b(a\.? ?m\.?|in the morning|this morning|tomorrow morning)$", "am"),
    (r"\b(p\.? ?m\.?|in the (afternoon|evening)|this (afternoon|evening)|tonight|at night)$", "pm"),
)


def parse_clock_time(text: str) -> dict[str, Any] | None:
    """A time on the clock as said: "seven thirty", "six am", "5:30 pm", "half past seven", "quarter to
    eight in the evening", "noon" -> ``{"hour", "minute"[, "meridiem"]}`` (the slots ``HassSetAlarm`` and
    ``HassSetReminder`` take), else None. For the parser's ``{time}`` slot."""
    t = " ".join(text.lower().replace("o'clock", "").replace("oclock", "").split())
    t = re.sub(r"^(at|for)\s+", "", t)
    if t in ("noon", "midday", "twelve noon"):
        return {"hour": 12, "minute": 0, "meridiem": "pm"}
    if t == "midnight":
        return {"hour": 0, "minute": 0}
    meridiem = ""
    for pattern, value in _MERIDIEM_WORDS:
        m = re.search(pattern, t)
        if m:
            meridiem, t = value, t[: m.start()].strip()
            break
    t = words_to_digits(t).replace(" oh ", " 0").replace(":", " ")
    rel = re.fullmatch(r"(half|quarter|\d+)( minutes?)? (past|after|to|before) (\d+)", t)
    if rel:
        minutes = {"half": 30, "quarter": 15}.get(rel.group(1)) or int(rel.group(1))
        hour = int(rel.group(4))
        if rel.group(3) in ("to", "before"):
            hour, minute = (hour - 1) % (12 if meridiem else 24), 60 - minutes
        else:
            minute = minutes
    else:
        m = re.fullmatch(r"(\d{1,2})(?: (\d{1,2}))?", t)
        if m is None:
            return None
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if not (0 <= minute <= 59 and (1 <= hour <= 12 if meridiem else 0 <= hour <= 23)):
        return None
    out: dict[str, Any] = {"hour": hour, "minute": minute}
    if meridiem:
        out["meridiem"] = meridiem
    return out


def parse_days(text: str) -> str | None:
    """ "on weekdays", "every monday and friday", "daily" -> the ``days`` slot as said, else None."""
    t = re.sub(r"^(on|every|each)\s+", "", text.lower().strip())
    return t if t and _days(t) else None


def _describe_days(days: list[int] | tuple[int, ...]) -> str:
    days = tuple(days)
    for words, value in (("every day", tuple(range(7))), ("on weekdays", (0, 1, 2, 3, 4)), ("on weekends", (5, 6))):
        if days == value:
            return words
    names = [_DAY_NAMES[d].capitalize() + "s" for d in days]
    return "on " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


class AlarmSkill:
    name = "alarms"
    intents = frozenset({"HassSetAlarm", "HassListAlarms", "HassCancelAlarm", "HassSnoozeAlarm", "HassStopAlarm",
                         "HassSetReminder", "HassListReminders", "HassCancelReminder"})

    def __init__(self, store: StateStore, clock: Clock = system_clock, tz: dt.tzinfo | None = None) -> None:
        self.store = store
        self.clock = clock
        self.tz = tz
        """the wall clock's zone (None: the system's local time)"""
        doc = store.load("alarms", {"next_id": 1, "items": []})
        self._next_id = int(doc.get("next_id", 1)) if isinstance(doc.get("next_id"), int) else 1
        self._items: list[dict[str, Any]] = [i for i in doc.get("items", []) if _valid(i)]

    # ------------------------------------------------------------------------------------- time

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), self.tz).astimezone(self.tz)

    def _next_at(self, hour: int, minute: int, meridiem: str, days: tuple[int, ...], after: dt.datetime) -> float:
        """The first time after ``after`` the clock shows hour:minute (on one of ``days``)."""
        if meridiem == "24h":  # an hour already resolved (a repeating alarm's next day)
            hours = [hour]
        elif meridiem:
            hours = [hour % 12 + (12 if meridiem == "pm" else 0)]
        else:
            hours = [hour] if hour == 0 or hour > 12 else [hour % 12, hour % 12 + 12]
        best: dt.datetime | None = None
        for h in hours:
            for add in range(8):
                day = (after + dt.timedelta(days=add)).date()
                candidate = dt.datetime.combine(day, dt.time(h, minute)).replace(tzinfo=after.tzinfo)
                if after.tzinfo is None:
                    candidate = candidate.astimezone()
                if candidate > after and (not days or candidate.weekday() in days):
                    best = candidate if best is None or candidate < best else best
                    break
        assert best is not None
        return best.timestamp()

    def _say_time(self, when: float, with_day: bool = True) -> str:
        t = dt.datetime.fromtimestamp(when, self.tz)
        clock = f"{t.hour % 12 or 12}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"
        if not with_day:
            return clock
        days = (t.date() - self._now().date()).days
        day = "today" if days == 0 else "tomorrow" if days == 1 else f"on {_DAY_NAMES[t.weekday()].capitalize()}"
        return f"{clock} {day}"

    # ------------------------------------------------------------------------------------ state

    def _save(self) -> None:
        self.store.save("alarms", {"next_id": self._next_id, "items": self._items})

    @property
    def items(self) -> list[dict[str, Any]]:
        return [dict(i) for i in self._items]

    @property
    def ringing(self) -> bool:
        """an alarm rings (it has been announced and is neither stopped, snoozed nor timed out)"""
        return any(i.get("ringing_since") for i in self._items)

    def stop_ringing(self) -> bool:
        """Stop every ringing alarm (a repeating one is set for its next day); whether one rang. Unsaved
        (a full disk), they are stopped all the same: a restart may report them once more."""
        ringing = [i for i in self._items if i.get("ringing_since")]
        for item in ringing:
            self._finish(item)
        if ringing:
            try:
                self._save()
            except StateError as e:
                _LOGGER.warning("alarms: could not record that the alarm was stopped: %s", e)
        return bool(ringing)

    def next_due_s(self) -> float | None:
        pending = [i["due_at"] for i in self._items if not i.get("ringing_since")]
        return max(0.0, min(pending) - self.clock()) if pending else None

    def due(self) -> list[Announcement]:
        """What to announce now: alarms that ring, reminders, and what came due while the device was off
        (each said once; the changes saved)."""
        now = self.clock()
        out: list[Announcement] = []
        changed = False
        for item in list(self._items):
            if item.get("ringing_since"):
                if now - item["ringing_since"] > RING_FOR_S:  # nobody stopped it
                    self._finish(item)
                    changed = True
                continue
            if item["due_at"] > now:
                continue
            changed = True
            late = now - item["due_at"]
            what = self._what(item)
            if late > MISSED_AFTER_S:
                out.append(Announcement(item["id"], "missed",
                                        f"While I was off, I missed {what} at {self._say_time(item['due_at'])}."))
                self._finish(item)
            elif item["kind"] == "alarm":
                item["ringing_since"] = now
                label = f" {item['name']}" if item.get("name") else ""
                out.append(Announcement(item["id"], "alarm",
                                        f"It's {self._say_time(now, with_day=False)}. Your{label} alarm is ringing. "
                                        "Say stop, or snooze."))
            else:
                out.append(Announcement(item["id"], "reminder", f"Reminder: {item['task']}."))
                self._finish(item)
        if changed:
            try:
                self._save()
            except StateError as e:  # they ring all the same; unsaved, a restart may say them once more
                _LOGGER.warning("alarms: could not record what rang: %s", e)
        return out

    @staticmethod
    def _what(item: dict[str, Any]) -> str:
        if item["kind"] == "reminder":
            return f"reminding you to {item['task']}"
        return f"your {item['name']} alarm" if item.get("name") else "your alarm"

    def _finish(self, item: dict[str, Any]) -> None:
        """A one-off is done; a repeating alarm is set for its next day."""
        item.pop("ringing_since", None)
        if item.get("days"):
            after = max(self._now(), dt.datetime.fromtimestamp(item["due_at"], self.tz).astimezone(self.tz))
            item["due_at"] = self._next_at(item["hour"], item["minute"], "24h", tuple(item["days"]), after)
        elif item in self._items:
            self._items.remove(item)

    # ---------------------------------------------------------------------------------- intents

    async def handle(self, intent: Intent) -> Reply:
        before = (self._next_id, copy.deepcopy(self._items))
        try:
            return self._handle(intent)
        except StateError:  # not saved: memory as it was, and the registry says nothing was changed
            self._next_id, self._items = before
            raise

    def _handle(self, intent: Intent) -> Reply:
        s = intent.slots
        match intent.name:
            case "HassSetAlarm":
                return self._set_alarm(s)
            case "HassSetReminder":
                return self._set_reminder(s)
            case "HassListAlarms":
                return self._list("alarm")
            case "HassListReminders":
                return self._list("reminder")
            case "HassCancelAlarm":
                return self._cancel("alarm", s)
            case "HassCancelReminder":
                return self._cancel("reminder", s)
            case "HassSnoozeAlarm" | "HassStopAlarm":
                return self._snooze_or_stop(intent.name == "HassSnoozeAlarm", s)
        return Reply("Sorry, I can't do that with alarms.", success=False)

    def _clock_time(self, s: dict[str, Any]) -> tuple[int, int, str] | Reply:
        hour, minute = s.get("hour"), s.get("minute", 0)
        meridiem = str(s.get("meridiem", "")).lower().replace(".", "").replace(" ", "")
        if not isinstance(hour, int) or not isinstance(minute, int):
            return Reply("At what time? Say for example: at seven thirty.", success=False)
        if meridiem not in ("", "am", "pm") or not 0 <= minute <= 59 or not (
            0 <= hour <= 23 if not meridiem else 1 <= hour <= 12
        ):
            return Reply("That is not a time on the clock.", success=False)
        return hour, minute, meridiem

    def _add(self, item: dict[str, Any]) -> Reply | None:
        if len(self._items) >= MAX_ITEMS:
            return Reply(f"You already have {MAX_ITEMS} alarms and reminders; cancel one first.", success=False)
        item["id"] = self._next_id
        self._next_id += 1
        self._items.append(item)
        self._save()
        return None

    def _set_alarm(self, s: dict[str, Any]) -> Reply:
        parsed = self._clock_time(s)
        if isinstance(parsed, Reply):
            return parsed
        hour, minute, meridiem = parsed
        days = _days(s.get("days"))
        if days is None:
            return Reply("On which days? Say for example: on weekdays.", success=False)
        due_at = self._next_at(hour, minute, meridiem, days, self._now())
        when = dt.datetime.fromtimestamp(due_at, self.tz)
        item = {"kind": "alarm", "due_at": due_at, "hour": when.hour, "minute": when.minute, "days": list(days),
                "name": str(s.get("name", "")).strip(), "task": ""}
        refused = self._add(item)
        if refused:
            return refused
        said = (f"{self._say_time(due_at, with_day=False)} {_describe_days(days)}" if days
                else self._say_time(due_at))
        return Reply(f"Alarm set for {said}.", data={"alarm_id": item["id"], "due_at": due_at})

    def _set_reminder(self, s: dict[str, Any]) -> Reply:
        task = str(s.get("task", "")).strip()
        if not task:
            return Reply("What should I remind you of?", success=False)
        delay = Duration(s.get("hours", 0), s.get("minutes", 0), s.get("seconds", 0)).total_s \
            if "hour" not in s else 0
        if "hour" in s:
            parsed = self._clock_time(s)
            if isinstance(parsed, Reply):
                return parsed
            due_at = self._next_at(*parsed, (), self._now())
            said = f"at {self._say_time(due_at)}"
        elif 0 < delay <= MAX_DELAY_S:
            due_at = self.clock() + delay
            said = f"in {duration_to_words(delay)}"
        else:
            return Reply("When should I remind you? Say for example: in twenty minutes, or at five.", success=False)
        item = {"kind": "reminder", "due_at": due_at, "hour": 0, "minute": 0, "days": [], "name": "", "task": task}
        refused = self._add(item)
        if refused:
            return refused
        return Reply(f"I'll remind you to {task} {said}.", data={"reminder_id": item["id"], "due_at": due_at})

    def _of(self, kind: str) -> list[dict[str, Any]]:
        return sorted((i for i in self._items if i["kind"] == kind), key=lambda i: i["due_at"])

    def _describe(self, item: dict[str, Any]) -> str:
        if item["kind"] == "reminder":
            return f"to {item['task']} at {self._say_time(item['due_at'])}"
        if item.get("days"):
            return f"{self._say_time(item['due_at'], with_day=False)} {_describe_days(item['days'])}"
        return self._say_time(item["due_at"])

    def _list(self, kind: str) -> Reply:
        items = self._of(kind)
        if not items:
            return Reply(f"You have no {kind}s.", data={"count": 0})
        described = [self._describe(i) for i in items]
        listing = described[0] if len(described) == 1 else ", ".join(described[:-1]) + " and " + described[-1]
        noun = kind if len(items) == 1 else f"{kind}s"
        return Reply(f"You have {len(items)} {noun}: {listing}.", data={"count": len(items)})

    def _cancel(self, kind: str, s: dict[str, Any]) -> Reply:
        items = self._of(kind)
        if not items:
            return Reply(f"You have no {kind}s.", data={"count": 0})
        if s.get("all"):
            chosen = items
        elif kind == "alarm" and isinstance(s.get("hour"), int):
            parsed = self._clock_time(s)
            if isinstance(parsed, Reply):
                return parsed
            hour, minute, meridiem = parsed
            hours = {hour % 12 + (12 if meridiem == "pm" else 0)} if meridiem else {hour % 12, hour % 12 + 12, hour}
            chosen = [i for i in items if i["hour"] in hours and i["minute"] == minute]
        elif kind == "reminder" and s.get("task"):
            words = set(str(s["task"]).lower().split())
            chosen = [i for i in items if words & set(i["task"].lower().split())][:1]
        elif len(items) == 1:
            chosen = items
        else:
            listing = " and ".join(self._describe(i) for i in items)
            return Reply(f"Which one? You have {kind}s {listing}.", success=False)
        if not chosen:
            return Reply(f"I can't find that {kind}.", success=False)
        for item in chosen:
            self._items.remove(item)
        self._save()
        if len(chosen) == 1:
            return Reply(f"Cancelled your {kind} {self._describe(chosen[0])}.", data={"count": 1})
        return Reply(f"Cancelled all {len(chosen)} {kind}s.", data={"count": len(chosen)})

    def _snooze_or_stop(self, snooze: bool, s: dict[str, Any]) -> Reply:
        ringing = [i for i in self._items if i.get("ringing_since")]
        if not ringing:
            return Reply("No alarm is ringing.", success=False)
        for item in ringing:
            if snooze:
                delay = int(s.get("minutes", 0)) * 60 or SNOOZE_S
                item.pop("ringing_since", None)
                item["due_at"] = self.clock() + delay
                item.setdefault("snoozed", True)
            else:
                self._finish(item)
        self._save()
        if snooze:
            return Reply(f"Snoozed for {duration_to_words(int(s.get('minutes', 0)) * 60 or SNOOZE_S)}.")
        return Reply("Alarm stopped.")


def _valid(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and item.get("kind") in ("alarm", "reminder")
        and isinstance(item.get("id"), int)
        and isinstance(item.get("due_at"), int | float)
        and isinstance(item.get("hour"), int)
        and isinstance(item.get("minute"), int)
        and isinstance(item.get("days"), list)
        and isinstance(item.get("task"), str)
    )
