"""Weather: what the home's weather entity says (its state and temperature); without one the device has
no weather source (nothing leaves it), and says so honestly."""

from __future__ import annotations

from typing import Any

from assistant.intent.home import Home
from assistant.intent.parser import Intent
from assistant.skills.registry import Reply

__all__ = ["WeatherSkill"]


class WeatherSkill:
    name = "weather"
    intents = frozenset({"HassGetWeather"})

    def __init__(self, home: Home | None = None, backend: Any = None) -> None:
        self.home = home
        self.backend = backend

    async def handle(self, intent: Intent) -> Reply:
        stations = self.home.devices_in(domain="weather") if self.home is not None else []
        name = intent.slots.get("name")
        if name:
            stations = [d for d in stations if d.name == name] or stations
        if not stations or self.backend is None:
            return Reply(
                "I can't tell you the weather: I have no weather source, and nothing leaves this device.",
                success=False,
            )
        state = self.backend.state(stations[0])
        said = str(state.get("state", "unknown")).replace("_", " ").replace("partlycloudy", "partly cloudy")
        text = f"The weather is {said}"
        if isinstance(state.get("temperature"), (int, float)):
            text += f", {state['temperature']:g} degrees"
        return Reply(text + ".", data={"weather": said})
