"""The home's devices: on/off, open/closed, locked/unlocked, brightness and colour, and their states.

Device states are kept by a ``DeviceBackend``. ``LocalBackend`` is the device itself: states persisted
under the state directory, so a restart remembers that the kitchen light is on. A bridge to real
hardware (Home Assistant's websocket API, MQTT, Zigbee) is another class with the same three methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from assistant.intent.home import Device, Home
from assistant.intent.parser import Intent
from assistant.skills.registry import Reply
from assistant.skills.state import StateStore

__all__ = ["DeviceBackend", "DeviceSkill", "LocalBackend"]

_ON_STATE = {
    "light": "on",
    "switch": "on",
    "fan": "on",
    "media_player": "on",
    "climate": "on",
    "cover": "open",
    "lock": "locked",
}
_OFF_STATE = {
    "light": "off",
    "switch": "off",
    "fan": "off",
    "media_player": "off",
    "climate": "off",
    "cover": "closed",
    "lock": "unlocked",
}
_ON_VERB = {"cover": "Opened", "lock": "Locked"}
_OFF_VERB = {"cover": "Closed", "lock": "Unlocked"}
_PLURAL = {
    "light": "lights",
    "switch": "switches",
    "fan": "fans",
    "cover": "covers",
    "lock": "locks",
    "media_player": "media players",
    "sensor": "sensors",
    "climate": "thermostats",
}


@dataclass(frozen=True)
class DeviceStateDoc:
    """One device's entry in devices.json"""

    state: str
    brightness: float = 0
    color: str = ""


DEVICES_SCHEMA = dict[str, DeviceStateDoc]


class DeviceBackend(Protocol):
    def state(self, device: Device) -> dict[str, Any]:
        """``{"state": "on"|"off"|"open"|..., "brightness": 0-100, "color": str}`` (keys as they apply)"""
        ...

    def set(self, device: Device, **attributes: Any) -> dict[str, Any]:
        """Apply ``attributes`` and return the new state."""
        ...


class LocalBackend:
    """Device states kept by this device, persisted atomically (``devices.json`` in the state dir)."""

    def __init__(self, home: Home, store: StateStore) -> None:
        self.home = home
        self.store = store
        self._states: dict[str, dict[str, Any]] = store.load("devices", {}, DEVICES_SCHEMA)

    def state(self, device: Device) -> dict[str, Any]:
        saved = self._states.get(device.name)
        if isinstance(saved, dict) and "state" in saved:
            return dict(saved)
        initial = device.state or _OFF_STATE.get(device.domain, "unknown")
        out: dict[str, Any] = {"state": initial}
        if device.domain == "light":
            out["brightness"] = 0
        return out

    def set(self, device: Device, **attributes: Any) -> dict[str, Any]:
        new = self.state(device) | attributes
        self.store.save("devices", {**self._states, device.name: new})  # StateError: nothing changed
        self._states[device.name] = new
        return new


def _join(names: list[str]) -> str:
    names = [f"the {n}" for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class DeviceSkill:
    name = "devices"
    intents = frozenset({"HassTurnOn", "HassTurnOff", "HassLightSet", "HassGetState"})

    def __init__(self, home: Home, backend: DeviceBackend) -> None:
        self.home = home
        self.backend = backend

    def _targets(self, s: dict[str, Any]) -> list[Device] | Reply:
        if s.get("name"):
            d = self.home.device(s["name"])
            if d is None:
                return Reply(f"I don't know a device called {s['name']}.", success=False)
            if s.get("area") and d.area != s["area"]:
                return Reply(f"The {d.name} is in the {d.area}, not the {s['area']}.", success=False)
            return [d]
        if not (s.get("area") or s.get("floor") or s.get("domain")):
            return Reply("Which device? Say for example: turn on the kitchen light.", success=False)
        found = self.home.devices_in(
            s.get("area"), s.get("domain"), s.get("floor"), s.get("device_class") or None
        )
        if not found:
            what = _PLURAL.get(s.get("domain", ""), "devices") if s.get("domain") else "devices"
            where = (
                f" in the {s['area']}" if s.get("area") else f" on the {s['floor']}" if s.get("floor") else ""
            )
            return Reply(f"There are no {what}{where}.", success=False)
        return found

    async def handle(self, intent: Intent) -> Reply:
        s = intent.slots
        targets = self._targets(s)
        if isinstance(targets, Reply):
            return targets
        match intent.name:
            case "HassTurnOn" | "HassTurnOff":
                return self._switch(targets, on=intent.name == "HassTurnOn")
            case "HassLightSet":
                return self._light_set(targets, s)
            case "HassGetState":
                return self._get_state(targets, s)
        return Reply("Sorry, I can't do that with devices.", success=False)

    def _switch(self, targets: list[Device], on: bool) -> Reply:
        switchable = [d for d in targets if d.domain in _ON_STATE]
        if not switchable:
            return Reply(f"The {targets[0].name} can't be switched {'on' if on else 'off'}.", success=False)
        for d in switchable:
            new = {"state": (_ON_STATE if on else _OFF_STATE)[d.domain]}
            if d.domain == "light":
                current = self.backend.state(d).get("brightness", 0)
                new["brightness"] = (current or 100) if on else 0
            self.backend.set(d, **new)
        domain = switchable[0].domain
        verb = (_ON_VERB if on else _OFF_VERB).get(domain, "Turned on" if on else "Turned off")
        if len(switchable) <= 3:
            return Reply(
                f"{verb} {_join([d.name for d in switchable])}.",
                data={"devices": [d.name for d in switchable]},
            )
        noun = _PLURAL.get(domain, "devices") if all(d.domain == domain for d in switchable) else "devices"
        return Reply(f"{verb} {len(switchable)} {noun}.", data={"devices": [d.name for d in switchable]})

    def _light_set(self, targets: list[Device], s: dict[str, Any]) -> Reply:
        lights = [d for d in targets if d.domain == "light"]
        if not lights:
            return Reply(f"The {targets[0].name} is not a light.", success=False)
        if "brightness" not in s and "color" not in s:
            return Reply("To what? Say a brightness like 40 percent, or a colour.", success=False)
        new: dict[str, Any] = {}
        if "brightness" in s:
            b = s["brightness"]
            if not isinstance(b, int) or not 0 <= b <= 100:
                return Reply("Brightness goes from 0 to 100 percent.", success=False)
            new["brightness"] = b
            new["state"] = "on" if b > 0 else "off"
        if "color" in s:
            new["color"] = s["color"]
            new.setdefault("state", "on")
            if self.backend.state(lights[0]).get("brightness", 0) == 0 and "brightness" not in new:
                new["brightness"] = 100
        for d in lights:
            self.backend.set(d, **new)
        parts = []
        if "color" in s:
            parts.append(s["color"])
        if "brightness" in s:
            parts.append(f"{s['brightness']} percent")
        return Reply(
            f"Set {_join([d.name for d in lights])} to {' at '.join(parts)}.",
            data={"devices": [d.name for d in lights], **new},
        )

    def _get_state(self, targets: list[Device], s: dict[str, Any]) -> Reply:
        wanted = s.get("state")
        if s.get("name"):
            d = targets[0]
            st = self.backend.state(d)
            if d.domain == "sensor":
                unit = d.unit.replace("°C", " degrees").replace("°F", " degrees Fahrenheit")
                return Reply(f"The {d.name} is {st['state']}{unit}.", data=st)
            desc = st["state"]
            if d.domain == "light" and st["state"] == "on" and st.get("brightness"):
                desc += f" at {st['brightness']} percent"
            if wanted:
                yes = st["state"] == wanted
                return Reply(f"{'Yes' if yes else 'No'}, the {d.name} is {desc}.", data=st)
            return Reply(f"The {d.name} is {desc}.", data=st)
        if s.get("device_class") == "temperature" or s.get("domain") == "sensor":
            sensors = [d for d in targets if d.domain == "sensor"]
            if not sensors:
                return Reply(
                    f"There is no temperature sensor in the {s.get('area', 'house')}.", success=False
                )
            d = sensors[0]
            return Reply(f"It is {self.backend.state(d)['state']} degrees in the {d.area}.")
        states = {d.name: self.backend.state(d)["state"] for d in targets}
        where = f" in the {s['area']}" if s.get("area") else ""
        noun = _PLURAL.get(s.get("domain", ""), "devices")
        if wanted:
            matching = [n for n, st in states.items() if st == wanted]
            if not matching:
                return Reply(f"No, no {noun}{where} are {wanted}.", data={"devices": []})
            if len(matching) == len(states) and len(states) > 1:
                return Reply(f"Yes, all {noun}{where} are {wanted}.", data={"devices": matching})
            verb = "is" if len(matching) == 1 else "are"
            return Reply(f"Yes, {_join(matching)} {verb} {wanted}.", data={"devices": matching})
        listing = ", ".join(f"the {n} is {st}" for n, st in states.items())
        return Reply(listing[:1].upper() + listing[1:] + ".", data={"states": states})
