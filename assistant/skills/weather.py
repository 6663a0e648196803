"""Weather: the device has no weather source (nothing leaves it), and says so honestly."""

from __future__ import annotations

from assistant.intent.parser import Intent
from assistant.skills.registry import Reply

__all__ = ["WeatherSkill"]


class WeatherSkill:
    name = "weather"
    intents = frozenset({"HassGetWeather"})

    async def handle(self, intent: Intent) -> Reply:
        return Reply(
            "I can't tell you the weather: I have no weather source, and nothing leaves this device.",
            success=False,
        )
