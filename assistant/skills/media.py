"""Volume and media transport (pause, resume, next, previous), persisted.

The volume is the device's own output level (0-100), applied by the audio sink. Media transport acts on
whatever is playing; the device plays nothing of its own yet, so with nothing playing the answer says
so plainly rather than pretending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

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
        {"HassSetVolume", "HassMediaPause", "HassMediaUnpause", "HassMediaNext", "HassMediaPrevious"}
    )

    def __init__(self, store: StateStore) -> None:
        self.store = store
        st = store.load("media", {"volume": 50, "status": "idle", "track": 0}, MediaDoc)
        self.state: dict[str, Any] = {"volume": 50, "status": "idle", "track": 0} | st

    @property
    def volume(self) -> int:
        return int(self.state["volume"])

    def _save(self) -> None:
        self.store.save("media", self.state)

    async def handle(self, intent: Intent) -> Reply:
        before = dict(self.state)
        try:
            return self._handle(intent)
        except StateError:  # not saved: memory as it was, the registry says so
            self.state = before
            raise

    def _handle(self, intent: Intent) -> Reply:
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
