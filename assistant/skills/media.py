"""Volume, media transport (pause, resume, next, previous) and search-and-play, persisted.

Without a device or area named, the volume is the device's own output level (0-100), applied by the
audio sink, and transport acts on whatever the device plays; it plays nothing of its own yet, so with
nothing playing the answer says so plainly rather than pretending. With one named ("on the tv", "in the
living room"), they act on the home's media players through the device backend.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal

from assistant.intent.home import Device, Home
from assistant.intent.numbers import number_to_words
from assistant.intent.parser import Intent
from assistant.skills.registry import Reply
from assistant.skills.state import StateError, StateStore

__all__ = ["MediaSkill"]


@dataclass(frozen=True)
class MediaDoc:
    """media.json"""

    volume: int = 50
    status: Literal["idle", "playing", "paused"] = "idle"
    track: int = 0


class MediaSkill:
    name = "media"
    intents = frozenset(
        {
            "HassSetVolume",
            "HassMediaPause",
            "HassMediaUnpause",
            "HassMediaNext",
            "HassMediaPrevious",
            "HassMediaSearchAndPlay",
            "HassSetVolumeRelative",
        }
    )

    def __init__(self, store: StateStore, home: Home | None = None, backend: Any = None) -> None:
        self.store = store
        self.home = home
        self.backend = backend
        st = store.load("media", {"volume": 50, "status": "idle", "track": 0}, MediaDoc)
        self.state: dict[str, Any] = {"volume": 50, "status": "idle", "track": 0} | st

    @property
    def volume(self) -> int:
        return int(self.state["volume"])

    def _save(self) -> None:
        self.store.save("media", self.state)

    def _players(self, s: dict[str, Any]) -> list[Device] | None:
        """The home's media players the request names (None: it names none, so the device itself)."""
        if self.home is None or not (s.get("name") or s.get("area") or s.get("floor")):
            return None
        if s.get("name") and s["name"] != "all":
            found = self.home.devices_named(str(s["name"]), "media_player")
        else:
            found = self.home.devices_in(s.get("area"), "media_player", s.get("floor"))
        return found

    async def handle(self, intent: Intent) -> Reply:
        players = self._players(intent.slots)
        if players is not None and self.backend is not None:  # on a worker thread: the backend may wait
            return await asyncio.to_thread(self._on_players, intent, players)
        before = dict(self.state)
        try:
            return self._handle(intent)
        except StateError:  # not saved: memory as it was, the registry says so
            self.state = before
            raise

    def _handle(self, intent: Intent) -> Reply:
        if intent.name == "HassMediaSearchAndPlay":
            return Reply("I can't play that: this device has no music source.", success=False)
        if intent.name == "HassSetVolumeRelative":
            level = max(0, min(100, self.volume + _step(intent.slots.get("volume_step"))))
            self.state["volume"] = level
            self._save()
            return Reply(f"Volume set to {number_to_words(level)} percent.", data={"volume": level})
        status = self.state["status"]
        match intent.name:
            case "HassSetVolume":
                level = intent.slots.get("volume_level")
                if not isinstance(level, int) or not 0 <= level <= 100:
                    return Reply("Volume goes from 0 to 100 percent.", success=False)
                self.state["volume"] = level
                self._save()
                return Reply(f"Volume set to {number_to_words(level)} percent.", data={"volume": level})
            case "HassMediaPause":
                if status != "playing":
                    return Reply("Nothing is playing.", success=False)
                self.state["status"] = "paused"
                self._save()
                return Reply("Paused.")
            case "HassMediaUnpause":
                if status != "paused":
                    return Reply(
                        "Nothing is paused." if status == "playing" else "There is nothing to resume.",
                        success=status == "playing",
                    )
                self.state["status"] = "playing"
                self._save()
                return Reply("Resuming.")
            case "HassMediaNext" | "HassMediaPrevious":
                if status == "idle":
                    return Reply("Nothing is playing.", success=False)
                step = 1 if intent.name == "HassMediaNext" else -1
                self.state["track"] = max(0, int(self.state["track"]) + step)
                self._save()
                return Reply(
                    "Next track." if step > 0 else "Previous track.", data={"track": self.state["track"]}
                )
        return Reply("Sorry, I can't do that with media.", success=False)

    def _on_players(self, intent: Intent, players: list[Device]) -> Reply:
        s = intent.slots
        if not players:
            where = s.get("name") or s.get("area") or s.get("floor")
            return Reply(f"There is no media player {where!s}.", success=False)
        names = " and ".join(f"the {d.name}" for d in players)
        match intent.name:
            case "HassSetVolume":
                level = s.get("volume_level")
                if not isinstance(level, int) or not 0 <= level <= 100:
                    return Reply("Volume goes from 0 to 100 percent.", success=False)
                for d in players:
                    self.backend.set(d, volume_level=level)
                return Reply(f"Set {names} volume to {number_to_words(level)} percent.", data={"volume": level})
            case "HassSetVolumeRelative":
                for d in players:
                    now = int(self.backend.state(d).get("volume_level", 50))
                    self.backend.set(d, volume_level=max(0, min(100, now + _step(s.get("volume_step")))))
                return Reply(f"Changed the volume of {names}.")
            case "HassMediaSearchAndPlay":
                query = str(s.get("search_query", "")).strip()
                if not query:
                    return Reply("What should I play?", success=False)
                for d in players:
                    self.backend.set(d, state="playing", media_title=query, media_class=s.get("media_class", ""))
                return Reply(f"Playing {query} on {names}.", data={"playing": query})
            case "HassMediaPause":
                for d in players:
                    self.backend.set(d, state="paused")
                return Reply(f"Paused {names}.")
            case "HassMediaUnpause":
                for d in players:
                    self.backend.set(d, state="playing")
                return Reply(f"Resumed {names}.")
            case "HassMediaNext" | "HassMediaPrevious":
                return Reply(f"{'Next' if intent.name == 'HassMediaNext' else 'Previous'} track on {names}.")
        return Reply("Sorry, I can't do that with media.", success=False)


VOLUME_STEP = 10
"""percent the volume moves for "volume up" / "volume down" with no amount"""


def _step(value: Any) -> int:
    if value == "up":
        return VOLUME_STEP
    if value == "down":
        return -VOLUME_STEP
    return int(value) if isinstance(value, (int, float)) else 0
