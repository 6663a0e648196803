"""Skills that act on the device's own state, and the registry that routes intents to them."""

from __future__ import annotations

from assistant.config import Config
from assistant.intent.home import Home
from assistant.skills.alarms import AlarmSkill
from assistant.skills.clock import ClockSkill
from assistant.skills.conversation import ConversationSkill
from assistant.skills.cooking import CookingSkill
from assistant.skills.devices import DeviceBackend, DeviceSkill, LocalBackend
from assistant.skills.lists import ListSkill
from assistant.skills.media import MediaSkill
from assistant.skills.registry import Clock, Offer, Reply, Skill, SkillRegistry, system_clock
from assistant.skills.state import StateError, StateStore
from assistant.skills.timers import Ringing, TimerSkill
from assistant.skills.weather import WeatherSkill

__all__ = [
    "Clock",
    "Offer",
    "Reply",
    "Ringing",
    "Skill",
    "SkillRegistry",
    "StateError",
    "StateStore",
    "build_registry",
    "system_clock",
]


def build_registry(
    cfg: Config,
    home: Home,
    store: StateStore,
    clock: Clock = system_clock,
    backend: DeviceBackend | None = None,
) -> SkillRegistry:
    """Every built-in skill, wired to the home, the state store and the clock; ``backend`` keeps the
    devices' states (``assistant.home.open_home``), by default this device itself."""
    backend = backend or LocalBackend(home, store)
    homed = [DeviceSkill(home, backend), MediaSkill(store, home, backend), WeatherSkill(home, backend)]
    skills = [
        TimerSkill(store, clock),
        AlarmSkill(store, clock),
        ClockSkill(clock),
        *homed,
        ConversationSkill(),
        ListSkill(store),
        CookingSkill(offer_timers=cfg.dialogue.latent_goals),
    ]
    return SkillRegistry(cfg.intent, skills, homed)
