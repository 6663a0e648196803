"""The home's devices: on/off, open/closed, locked/unlocked, brightness and colour, and their states.

Device states are kept by a ``DeviceBackend``. ``LocalBackend`` is the device itself: states persisted
under the state directory, so a restart remembers that the kitchen light is on. A bridge to real
hardware (Home Assistant's websocket API, MQTT, Zigbee) is another class with the same three methods.
"""

from __future__ import annotations

import asyncio
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
    "climate": "heat",
    "cover": "open",
    "valve": "open",
    "lock": "locked",
    "input_boolean": "on",
    "humidifier": "on",
    "water_heater": "on",
    "automation": "on",
    "siren": "on",
    "vacuum": "cleaning",
    "scene": "activated",
    "script": "running",
}
_OFF_STATE = {
    "light": "off",
    "switch": "off",
    "fan": "off",
    "media_player": "off",
    "climate": "off",
    "cover": "closed",
    "valve": "closed",
    "lock": "unlocked",
    "input_boolean": "off",
    "humidifier": "off",
    "water_heater": "off",
    "automation": "off",
    "siren": "off",
    "vacuum": "docked",
    "script": "off",
}
_ON_VERB = {
    "cover": "Opened",
    "valve": "Opened",
    "lock": "Locked",
    "scene": "Activated",
    "script": "Started",
    "vacuum": "Started",
}
_OFF_VERB = {"cover": "Closed", "valve": "Closed", "lock": "Unlocked", "vacuum": "Stopped"}
_PLURAL = {
    "light": "lights",
    "switch": "switches",
    "fan": "fans",
    "cover": "covers",
    "valve": "valves",
    "lock": "locks",
    "media_player": "media players",
    "sensor": "sensors",
    "binary_sensor": "sensors",
    "climate": "thermostats",
    "vacuum": "vacuums",
    "scene": "scenes",
    "script": "scripts",
    "person": "people",
}
# Home Assistant's binary sensor states ("on"/"off") as said for each device class
_BINARY_WORDS = {
    "battery": ("low", "normal"),
    "battery_charging": ("charging", "not charging"),
    "carbon_monoxide": ("detected", "clear"),
    "cold": ("cold", "normal"),
    "connectivity": ("connected", "disconnected"),
    "door": ("open", "closed"),
    "garage_door": ("open", "closed"),
    "gas": ("detected", "clear"),
    "heat": ("hot", "normal"),
    "light": ("light detected", "no light"),
    "lock": ("unlocked", "locked"),
    "moisture": ("wet", "dry"),
    "motion": ("detected", "clear"),
    "moving": ("moving", "not moving"),
    "occupancy": ("detected", "clear"),
    "opening": ("open", "closed"),
    "plug": ("plugged in", "unplugged"),
    "power": ("powered", "not powered"),
    "presence": ("home", "away"),
    "problem": ("a problem", "ok"),
    "running": ("running", "not running"),
    "safety": ("unsafe", "safe"),
    "smoke": ("detected", "clear"),
    "sound": ("detected", "clear"),
    "tamper": ("tampering detected", "clear"),
    "update": ("update available", "up to date"),
    "vibration": ("vibrating", "not vibrating"),
    "window": ("open", "closed"),
}
_TARGET_DOMAINS = {
    "HassLightSet": ("light",),
    "HassClimateGetTemperature": ("climate", "sensor"),
    "HassClimateSetTemperature": ("climate",),
    "HassSetPosition": ("cover", "valve"),
    "HassVacuumStart": ("vacuum",),
    "HassVacuumReturnToBase": ("vacuum",),
}
RELATIVE_STEP = 25
"""percent a light moves for "brighter" / "dim it a bit" (brightness_step +1 / -1)"""


@dataclass(frozen=True)
class DeviceStateDoc:
    """One device's entry in devices.json"""

    state: str
    brightness: float = 0
    color: str = ""
    temperature: float | None = None
    position: float | None = None
    volume_level: float | None = None
    media_title: str = ""
    media_class: str = ""


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
        saved = self._states.get(self.home.key(device))
        if isinstance(saved, dict) and "state" in saved:
            return dict(saved)
        initial = device.state or _OFF_STATE.get(device.domain, "unknown")
        out: dict[str, Any] = dict(device.attributes) | {"state": initial}
        if device.domain == "light":
            out.setdefault("brightness", 100 if initial == "on" else 0)
        return out

    def set(self, device: Device, **attributes: Any) -> dict[str, Any]:
        new = self.state(device) | attributes
        key = self.home.key(device)
        self.store.save("devices", {**self._states, key: new})  # StateError: nothing changed
        self._states[key] = new
        return new


def _join(names: list[str]) -> str:
    names = [f"the {n}" for n in names]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _degrees(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def spoken_state(device: Device, state: dict[str, Any]) -> str:
    """A device's state as said: a binary sensor's in its class's words, a sensor's with its unit."""
    value = state.get("state", "unknown")
    if device.domain == "binary_sensor":
        words = _BINARY_WORDS.get(device.device_class, ("on", "off"))
        return words[0] if value == "on" else words[1] if value == "off" else str(value)
    if device.domain == "sensor":
        unit = device.unit.replace("°C", " degrees").replace("°F", " degrees Fahrenheit")
        unit = {"%": " percent"}.get(unit, unit)
        return f"{value}{unit if unit.startswith(' ') else ' ' + unit if unit else ''}"
    if device.domain == "person":
        return {"home": "at home", "not_home": "away"}.get(str(value), f"at {value}")
    if device.domain == "light" and value == "on" and state.get("brightness"):
        return f"on at {state['brightness']} percent"
    return str(value).replace("_", " ")


class DeviceSkill:
    name = "devices"
    intents = frozenset(
        {
            "HassTurnOn",
            "HassTurnOff",
            "HassLightSet",
            "HassGetState",
            "HassClimateGetTemperature",
            "HassClimateSetTemperature",
            "HassSetPosition",
            "HassVacuumStart",
            "HassVacuumReturnToBase",
        }
    )

    def __init__(self, home: Home, backend: DeviceBackend) -> None:
        self.home = home
        self.backend = backend

    def _targets(self, s: dict[str, Any], intent: str) -> list[Device] | Reply:
        domains = _TARGET_DOMAINS.get(intent)
        domain, device_class = s.get("domain") or "", s.get("device_class") or ""
        name = s.get("name") if s.get("name") != "all" else None  # "all": every device the rest selects
        if name:
            found = self.home.devices_named(name, domain, device_class) or self.home.devices_named(name)
            if not found:
                return Reply(f"I don't know a device called {name}.", success=False)
            if domains:
                found = [d for d in found if d.domain in domains] or found
            if s.get("area"):
                here = [d for d in found if d.area == s["area"]]
                if not here:
                    return Reply(
                        f"The {name} is {self._where(found[0])}, not the {s['area']}.", success=False
                    )
                found = here
            return found
        if not (s.get("area") or s.get("floor") or domain or device_class or domains or s.get("name")):
            return Reply("Which device? Say for example: turn on the kitchen light.", success=False)
        found = self.home.devices_in(s.get("area"), domain or None, s.get("floor"), device_class or None)
        if not found and domain == "cover" and device_class in _BINARY_WORDS:
            # "are any windows open": Home Assistant's grammar reads covers; the home may have sensors
            found = self.home.devices_in(s.get("area"), "binary_sensor", s.get("floor"), device_class)
        if domains:
            found = [d for d in found if d.domain in domains]
        if intent == "HassClimateGetTemperature":
            climate = [d for d in found if d.domain == "climate"]
            found = climate or [d for d in found if d.device_class == "temperature"]
        if not found:
            noun = _PLURAL.get(domain or (domains[0] if domains else ""), "devices")
            where = (
                f" in the {s['area']}" if s.get("area") else f" on the {s['floor']}" if s.get("floor") else ""
            )
            return Reply(f"There are no {noun}{where}.", success=False)
        return found

    @staticmethod
    def _where(d: Device) -> str:
        return f"in the {d.area}" if d.area else "not in any room"

    async def handle(self, intent: Intent) -> Reply:
        """On a worker thread: a backend may wait on its home (Home Assistant, a broker) for up to its
        timeout, and the loop must not wait with it."""
        return await asyncio.to_thread(self._handle, intent)

    def _handle(self, intent: Intent) -> Reply:
        s = intent.slots
        targets = self._targets(s, intent.name)
        if isinstance(targets, Reply):
            return targets
        match intent.name:
            case "HassTurnOn" | "HassTurnOff":
                return self._switch(targets, on=intent.name == "HassTurnOn")
            case "HassLightSet":
                return self._light_set(targets, s)
            case "HassGetState":
                return self._get_state(targets, s)
            case "HassClimateGetTemperature":
                return self._get_temperature(targets)
            case "HassClimateSetTemperature":
                return self._set_temperature(targets, s)
            case "HassSetPosition":
                return self._set_position(targets, s)
            case "HassVacuumStart" | "HassVacuumReturnToBase":
                start = intent.name == "HassVacuumStart"
                for d in targets:
                    self.backend.set(d, state="cleaning" if start else "returning")
                verb = "Started" if start else "Sent back to its dock:"
                return Reply(f"{verb} {_join([d.name for d in targets])}.", data={"devices": _names(targets)})
        return Reply("Sorry, I can't do that with devices.", success=False)

    def _switch(self, targets: list[Device], on: bool) -> Reply:
        states = _ON_STATE if on else _OFF_STATE
        switchable = [d for d in targets if d.domain in states]
        if not switchable:
            return Reply(f"The {targets[0].name} can't be switched {'on' if on else 'off'}.", success=False)
        for d in switchable:
            new: dict[str, Any] = {"state": states[d.domain]}
            if d.domain == "light":
                current = self.backend.state(d).get("brightness", 0)
                new["brightness"] = (current or 100) if on else 0
            if d.domain in ("cover", "valve"):
                new["position"] = 100 if on else 0
            self.backend.set(d, **new)
        domain = switchable[0].domain
        verb = (_ON_VERB if on else _OFF_VERB).get(domain, "Turned on" if on else "Turned off")
        if len(switchable) <= 3:
            return Reply(f"{verb} {_join(_names(switchable))}.", data={"devices": _names(switchable)})
        noun = _PLURAL.get(domain, "devices") if all(d.domain == domain for d in switchable) else "devices"
        return Reply(f"{verb} {len(switchable)} {noun}.", data={"devices": _names(switchable)})

    def _light_set(self, targets: list[Device], s: dict[str, Any]) -> Reply:
        lights = [d for d in targets if d.domain == "light"]
        if not lights:
            return Reply(f"The {targets[0].name} is not a light.", success=False)
        if not {"brightness", "color", "temperature", "brightness_step"} & set(s):
            return Reply("To what? Say a brightness like 40 percent, or a colour.", success=False)
        new: dict[str, Any] = {}
        if "brightness_step" in s:  # "a bit brighter", "dim it"
            now = self.backend.state(lights[0]).get("brightness", 0)
            b = max(0, min(100, int(now) + RELATIVE_STEP * (1 if s["brightness_step"] > 0 else -1)))
            new["brightness"], new["state"] = b, "on" if b > 0 else "off"
        if "brightness" in s:
            b = s["brightness"]
            if not isinstance(b, int) or not 0 <= b <= 100:
                return Reply("Brightness goes from 0 to 100 percent.", success=False)
            new["brightness"] = b
            new["state"] = "on" if b > 0 else "off"
        for key in ("color", "temperature"):
            if key in s:
                new[key] = s[key]
                new.setdefault("state", "on")
                if self.backend.state(lights[0]).get("brightness", 0) == 0 and "brightness" not in new:
                    new["brightness"] = 100
        for d in lights:
            self.backend.set(d, **new)
        parts = []
        if "color" in s:
            parts.append(str(s["color"]))
        if "temperature" in s:
            parts.append(f"{s['temperature']} kelvin")
        if "brightness" in s or "brightness_step" in s:
            parts.append(f"{new['brightness']} percent")
        return Reply(
            f"Set {_join(_names(lights))} to {' at '.join(parts)}.",
            data={"devices": _names(lights), **new},
        )

    def _get_temperature(self, targets: list[Device]) -> Reply:
        d = targets[0]
        st = self.backend.state(d)
        value = st.get("current_temperature", st.get("state")) if d.domain == "climate" else st.get("state")
        where = f"in the {d.area}" if d.area else f"at the {d.name}"
        return Reply(f"It is {_degrees(value)} degrees {where}.", data={"temperature": value})

    def _set_temperature(self, targets: list[Device], s: dict[str, Any]) -> Reply:
        t = s.get("temperature")
        if not isinstance(t, (int, float)) or not 5 <= t <= 95:
            return Reply("What temperature? Say for example: set the heat to 21.", success=False)
        for d in targets:
            self.backend.set(d, temperature=t)
        return Reply(f"Set {_join(_names(targets))} to {_degrees(t)} degrees.", data={"temperature": t})

    def _set_position(self, targets: list[Device], s: dict[str, Any]) -> Reply:
        p = s.get("position")
        if not isinstance(p, int) or not 0 <= p <= 100:
            return Reply("Position goes from 0 to 100 percent.", success=False)
        for d in targets:
            self.backend.set(d, position=p, state="open" if p > 0 else "closed")
        return Reply(f"Set {_join(_names(targets))} to {p} percent open.", data={"position": p})

    def _get_state(self, targets: list[Device], s: dict[str, Any]) -> Reply:
        wanted = s.get("state")
        if wanted and targets[0].domain == "binary_sensor" and wanted not in ("on", "off"):
            words = _BINARY_WORDS.get(targets[0].device_class, ("on", "off"))
            wanted = "on" if wanted == words[0] else "off" if wanted == words[1] else wanted
        if s.get("name") and s["name"] != "all" and len(targets) == 1:
            d = targets[0]
            st = self.backend.state(d)
            said = spoken_state(d, st)
            if wanted:
                yes = st.get("state") == wanted
                return Reply(f"{'Yes' if yes else 'No'}, the {d.name} is {said}.", data=st)
            if d.domain == "person":
                return Reply(f"{d.name} is {said}.", data=st)
            return Reply(f"The {d.name} is {said}.", data=st)
        if s.get("device_class") == "temperature" and all(d.domain == "sensor" for d in targets):
            d = targets[0]
            return Reply(f"It is {self.backend.state(d)['state']} degrees in the {d.area}.")
        states = {d: self.backend.state(d) for d in targets}
        where = f" in the {s['area']}" if s.get("area") else f" on the {s['floor']}" if s.get("floor") else ""
        noun = _PLURAL.get(s.get("domain", ""), "devices")
        if s.get("device_class") in _BINARY_WORDS or s.get("device_class") in ("blind", "curtain", "shade"):
            noun = _plural_class(s["device_class"])
        if wanted:
            matching = [d for d, st in states.items() if st.get("state") == wanted]
            said = spoken_state(targets[0], {"state": wanted})
            if not matching:
                return Reply(f"No, no {noun}{where} are {said}.", data={"devices": []})
            if len(matching) == len(states) and len(states) > 1:
                return Reply(f"Yes, all {noun}{where} are {said}.", data={"devices": _names(matching)})
            verb = "is" if len(matching) == 1 else "are"
            return Reply(f"Yes, {_join(_names(matching))} {verb} {said}.", data={"devices": _names(matching)})
        listing = ", ".join(f"the {d.name} is {spoken_state(d, st)}" for d, st in list(states.items())[:10])
        return Reply(
            listing[:1].upper() + listing[1:] + ".", data={"states": {d.name: st for d, st in states.items()}}
        )


def _plural_class(device_class: str) -> str:
    word = device_class.replace("_", " ")
    return word + ("es" if word.endswith(("s", "sh", "ch")) else "s")


def _names(devices: list[Device]) -> list[str]:
    return list(dict.fromkeys(d.name for d in devices))
