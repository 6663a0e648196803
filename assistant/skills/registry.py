"""Skills: the only async stages. Each serves some intents and answers with a ``Reply``.

``SkillRegistry`` routes an intent to the skill that serves it (the user never names a skill), runs it
under ``intent.skill_timeout_s``, and turns every failure into a spoken, honest answer: an intent no
skill serves, a skill that is too slow, a skill that breaks.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.config import IntentConfig
from assistant.events import SkillHandled
from assistant.intent.home import Home
from assistant.intent.parser import Intent
from assistant.skills.state import StateError

__all__ = ["NOT_SAVED_REPLY", "Clock", "Offer", "Reply", "Skill", "SkillRegistry", "Unavailable", "system_clock"]

NOT_SAVED_REPLY = "Sorry, I couldn't save that, so nothing was changed."
"""what a skill's turn says when its state could not be written (a full or read-only disk): skills change
their memory only once the save has succeeded, or put it back"""

_LOGGER = logging.getLogger(__name__)

Clock = Callable[[], float]
"""seconds since the epoch (``time.time``); tests pass their own"""


def system_clock() -> float:
    return time.time()


@dataclass(frozen=True, slots=True)
class Offer:
    """A latent goal: the next step offered after an answer; a "yes" runs ``intent``."""

    question: str
    intent: Intent


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    """what the device says"""
    success: bool = True
    """False when the request could not be served (the answer then says why)"""
    offer: Offer | None = None
    data: dict[str, Any] = field(default_factory=dict)
    """what was done, for tests and --json (e.g. {"timer_id": 3})"""


class Unavailable(RuntimeError):
    """Something a skill relies on is away (Home Assistant, an MQTT broker): the message is what the
    device says ("Home Assistant is not reachable right now."), and the cause goes to the log."""


class Skill(Protocol):
    name: str
    intents: frozenset[str]

    async def handle(self, intent: Intent) -> Reply: ...


class UsesHome(Protocol):
    """A skill that looks devices up in the home (``SkillRegistry.rehome`` gives it a changed one)."""

    home: Home | None


class SkillRegistry:
    def __init__(self, cfg: IntentConfig, skills: Iterable[Skill], homed: Iterable[UsesHome] = ()) -> None:
        """``homed``: those of ``skills`` that look devices up in the home."""
        self.cfg = cfg
        self.skills = list(skills)
        self._homed = list(homed)
        self._route: dict[str, Skill] = {}
        for skill in self.skills:
            for name in skill.intents:
                if name in self._route:
                    raise ValueError(
                        f"intent {name} is served by both {self._route[name].name} and {skill.name}"
                    )
                self._route[name] = skill

    def rehome(self, home: Home) -> None:
        """The home changed (``HomeLink.watch``): the skills that look devices up use ``home`` from now."""
        for skill in self._homed:
            skill.home = home

    def skill_for(self, intent_name: str) -> Skill | None:
        return self._route.get(intent_name)

    @property
    def intents(self) -> frozenset[str]:
        return frozenset(self._route)

    async def handle(self, intent: Intent) -> tuple[Reply, SkillHandled]:
        skill = self._route.get(intent.name)
        if skill is None:
            reply = Reply("Sorry, I can't do that yet.", success=False)
            return reply, SkillHandled("none", intent.name, reply.text, False)
        try:
            reply = await asyncio.wait_for(skill.handle(intent), self.cfg.skill_timeout_s)
        except TimeoutError:
            _LOGGER.warning("skill %s timed out on %s", skill.name, intent.name)
            reply = Reply("Sorry, that took too long. Please try again.", success=False)
        except StateError as e:  # the skill kept its memory as it was: say so, nothing was done
            _LOGGER.warning("skill %s could not save on %s: %s", skill.name, intent.name, e)
            reply = Reply(NOT_SAVED_REPLY, success=False)
        except Unavailable as e:
            _LOGGER.warning("skill %s on %s: %s", skill.name, intent.name, e)
            reply = Reply(str(e), success=False)
        except Exception:  # a broken skill must not take the device down; the traceback goes to the log
            _LOGGER.exception("skill %s failed on %s", skill.name, intent.name)  # slots are private
            _LOGGER.debug("the failed intent's slots: %s", intent.slots)
            reply = Reply("Sorry, something went wrong while doing that.", success=False)
        return reply, SkillHandled(skill.name, intent.name, reply.text, reply.success)
