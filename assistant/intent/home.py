"""The home: floors, areas and devices, read from one TOML file and validated like the config.

```toml
[[area]]
name = "Living Room"
floor = "Ground Floor"          # optional; must name a [[floor]]
aliases = ["lounge"]            # optional

[[device]]
name = "Bedroom Lamp"
area = "Bedroom"                # optional; must name an [[area]] (a phone, a to-do list: none)
domain = "light"                # one of DOMAINS (Home Assistant's): light switch fan cover ... todo
aliases = ["bedside lamp"]      # optional
device_class = ""               # optional (Home Assistant's, e.g. "temperature", "garage", "battery")
unit = ""                       # optional, sensors
state = ""                      # optional initial state (Home Assistant's state value: "on", "open")
attributes = { position = 50 }  # optional: current_temperature, position, volume_level, brightness ...
```

With ``[home] backend = "mqtt"`` each device also carries an ``mqtt`` table of Home Assistant's MQTT
configuration keys, as a discovery message would (``mqtt = { command_topic = "desk/set", state_topic =
"desk/state" }``): ``assistant.home.mqtt.home_file_entities`` takes it out before ``parse_home``.

Two devices may share a name when their domain or device class differs ("Phone" battery and "Phone"
charging sensors), as in Home Assistant; within one domain and class a name is used once. A to-do list
is a device of domain "todo".

Names are matched the way a recogniser writes them: lower case, no punctuation, and with recognition
errors ("bed room lamp", "kitchen lite") accepted above ``intent.min_name_similarity``.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.config import ConfigError, HomeConfig

__all__ = ["DOMAINS", "Area", "Device", "Floor", "Home", "Match", "check_area", "load_home", "normalize_name",
           "read_home_table"]

DEFAULT_HOME_PATH = Path(__file__).resolve().parent.parent / "data" / "home.toml"
DOMAINS = (
    "light",
    "switch",
    "fan",
    "cover",
    "lock",
    "media_player",
    "sensor",
    "climate",
    "binary_sensor",
    "vacuum",
    "valve",
    "scene",
    "script",
    "person",
    "weather",
    "todo",
    "input_boolean",
    "humidifier",
    "water_heater",
    "automation",
    "button",
    "camera",
    "alarm_control_panel",
    "siren",
    "device_tracker",
)
MAX_DEVICES = 100_000
"""more devices than this in one home file are refused (memory and parse time are bounded)"""
DOMAIN_WORDS = {
    "light": ("light", "lights", "lamp", "lamps", "lighting"),
    "switch": ("switch", "switches", "plug", "plugs"),
    "fan": ("fan", "fans"),
    "cover": ("blind", "blinds", "cover", "covers", "shade", "shades", "curtain", "curtains"),
    "lock": ("lock", "locks"),
    "media_player": ("tv", "tvs", "speaker", "speakers"),
}


def normalize_name(text: str) -> str:
    """Lower case, letters and digits only, single spaces: how the recogniser writes a name."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).replace("_", " ").split())


@dataclass(frozen=True, slots=True)
class Floor:
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Area:
    name: str
    floor: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    domain: str
    area: str = ""
    aliases: tuple[str, ...] = ()
    device_class: str = ""
    unit: str = ""
    state: str = ""
    attributes: tuple[tuple[str, Any], ...] = ()
    """(key, value) pairs, Home Assistant's attribute names (position, current_temperature, ...)"""

    def attribute(self, key: str, default: Any = None) -> Any:
        return next((v for k, v in self.attributes if k == key), default)


@dataclass(frozen=True, slots=True)
class Match:
    canonical: str
    """the name as the home file writes it"""
    score: float
    """1.0 for an exact name or alias; lower for a name heard with errors"""


@dataclass(frozen=True)
class Home:
    floors: tuple[Floor, ...] = ()
    areas: tuple[Area, ...] = ()
    devices: tuple[Device, ...] = ()
    source: str = ""
    _index: dict[str, dict[str, str]] = field(default_factory=dict, repr=False, compare=False)
    _shared: set[str] = field(default_factory=set, repr=False, compare=False)

    def __post_init__(self) -> None:
        for kind, items in (("floor", self.floors), ("area", self.areas), ("device", self.devices)):
            table: dict[str, str] = {}
            for item in items:
                for n in (item.name, *item.aliases):
                    table[normalize_name(n)] = item.name
            self._index[kind] = table
        seen: set[str] = set()
        for d in self.devices:
            (self._shared if d.name in seen else seen).add(d.name)

    def names(self) -> list[str]:
        """Every floor, area and device name and alias, lower case, once each (e.g. ASR hotwords)."""
        items = (*self.floors, *self.areas, *self.devices)
        return list(dict.fromkeys(n.lower() for item in items for n in (item.name, *item.aliases)))

    def device(self, name: str) -> Device | None:
        return next((d for d in self.devices if d.name == name), None)

    def devices_named(self, name: str, domain: str = "", device_class: str = "") -> list[Device]:
        """Every device called ``name`` (several share a name across domains and device classes)."""
        return [
            d
            for d in self.devices
            if d.name == name
            and (not domain or d.domain == domain)
            and (not device_class or d.device_class == device_class)
        ]

    def key(self, device: Device) -> str:
        """The device's own key for its saved state: its name, with domain and class where it is shared."""
        if device.name not in self._shared:
            return device.name
        return f"{device.name} ({device.domain}{'/' + device.device_class if device.device_class else ''})"

    def area(self, name: str) -> Area | None:
        return next((a for a in self.areas if a.name == name), None)

    def devices_in(
        self,
        area: str | None = None,
        domain: str | None = None,
        floor: str | None = None,
        device_class: str | None = None,
    ) -> list[Device]:
        floor_areas = {a.name for a in self.areas if a.floor == floor} if floor else None
        if area is not None and floor is not None:
            floor_areas = floor_areas & {area} if floor_areas else set()
        return [
            d
            for d in self.devices
            if (area is None or d.area == area)
            and (domain is None or d.domain == domain)
            and (floor_areas is None or d.area in floor_areas)
            and (device_class is None or d.device_class == device_class)
        ]

    def is_name(self, kind: str, text: str) -> bool:
        """True if ``text`` is a floor, area or device name or alias exactly (as the recogniser writes it)."""
        return normalize_name(text) in self._index[kind]

    def match(self, kind: str, text: str, min_similarity: float) -> Match | None:
        """The floor, area or device ``text`` names, allowing recognition errors; None if none is close."""
        table = self._index[kind]
        key = normalize_name(text)
        key = re.sub(r"^(the|my|our) ", "", key)
        if not key:
            return None
        if key in table:
            return Match(table[key], 1.0)
        for candidate in (_singular(key), key + "s"):  # "office lights" is more likely the office's lights
            if candidate in table:
                return Match(table[candidate], 0.95)
        squashed = key.replace(" ", "")
        best: Match | None = None
        for alias, canonical in table.items():
            score = difflib.SequenceMatcher(None, squashed, alias.replace(" ", ""), autojunk=False).ratio()
            if score >= min_similarity and (best is None or score > best.score):
                best = Match(canonical, round(score, 3))
        return best


def _singular(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def read_home_table(path: Path) -> dict[str, Any]:
    """The home file at ``path`` as a TOML table (not yet validated: ``parse_home``)."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"home.path: home file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"home.path: cannot read {path}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"home.path: {path} is not valid TOML: {e}") from None


def check_area(cfg: HomeConfig, home: Home) -> Home:
    """``home`` if ``[home] area`` names one of its areas (or is empty), else a ``ConfigError``."""
    if cfg.area and home.area(cfg.area) is None:
        raise ConfigError(
            f"home.area: unknown area {cfg.area!r} (areas: {', '.join(a.name for a in home.areas[:20])})"
        )
    return home


def load_home(cfg: HomeConfig) -> Home:
    """Read and validate the home file named by ``[home] path`` (empty: the shipped demo home)."""
    path = cfg.path if str(cfg.path) not in ("", ".") else DEFAULT_HOME_PATH
    return check_area(cfg, parse_home(read_home_table(path), str(path)))


_KEYS = {
    "floor": {"name", "aliases"},
    "area": {"name", "floor", "aliases"},
    "device": {"name", "area", "domain", "aliases", "device_class", "unit", "state", "attributes"},
}


def parse_home(table: dict[str, Any], source: str = "") -> Home:
    unknown = set(table) - set(_KEYS)
    if unknown:
        raise ConfigError(f"home: unknown table(s) {sorted(unknown)} (known: floor, area, device)")
    built: dict[str, list[Any]] = {"floor": [], "area": [], "device": []}
    seen_names: dict[str, str] = {}
    area_names: set[str] = set()
    for kind, cls in (("floor", Floor), ("area", Area), ("device", Device)):
        items = table.get(kind, [])
        if not isinstance(items, list):
            raise ConfigError(f"home.{kind}: must be an array of tables ([[{kind}]])")
        for i, raw in enumerate(items):
            key = f"home.{kind}[{i}]"
            if not isinstance(raw, dict):
                raise ConfigError(f"{key}: must be a table")
            bad = set(raw) - _KEYS[kind]
            if bad:
                close = difflib.get_close_matches(sorted(bad)[0], _KEYS[kind], n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise ConfigError(f"{key}.{sorted(bad)[0]}: unknown key{hint}")
            if kind == "device" and i >= MAX_DEVICES:
                raise ConfigError(f"home.device: more than {MAX_DEVICES} devices")
            for k, v in raw.items():
                if k == "attributes":
                    if not isinstance(v, dict) or not all(
                        isinstance(a, (str, int, float, bool)) for a in v.values()
                    ):
                        raise ConfigError(f"{key}.attributes: must be a table of strings and numbers")
                elif k == "aliases":
                    if not (isinstance(v, list) and all(isinstance(a, str) and normalize_name(a) for a in v)):
                        raise ConfigError(f"{key}.aliases: must be an array of non-empty strings")
                elif not isinstance(v, str):
                    raise ConfigError(f"{key}.{k}: must be a string, got {type(v).__name__}")
            name = raw.get("name", "")
            if not normalize_name(name):
                raise ConfigError(f"{key}.name: missing or empty")
            # a device's name is its own within its domain and device class (Home Assistant's "Phone"
            # battery and "Phone" charging sensors share one)
            scope = f"{raw.get('domain', '')}/{raw.get('device_class', '')}" if kind == "device" else ""
            for n in dict.fromkeys(normalize_name(a) for a in (name, *raw.get("aliases", []))):
                other = seen_names.get(f"{kind}:{scope}:{n}")
                if other:
                    raise ConfigError(f"{key}: name {n!r} is already used by {other}")
                seen_names[f"{kind}:{scope}:{n}"] = f"{kind} {name!r}"
            if kind == "area" and raw.get("floor") and raw["floor"] not in {f.name for f in built["floor"]}:
                raise ConfigError(f"{key}.floor: unknown floor {raw['floor']!r}")
            if kind == "device":
                if raw.get("area", "") and raw["area"] not in area_names:
                    raise ConfigError(
                        f"{key}.area: unknown area {raw.get('area', '')!r} "
                        f"(areas: {', '.join(a.name for a in built['area'][:20])})"
                    )
                if raw.get("domain") not in DOMAINS:
                    raise ConfigError(
                        f"{key}.domain: must be one of {list(DOMAINS)}, got {raw.get('domain')!r}"
                    )
            if kind == "area":
                area_names.add(name)
            fields = {k: tuple(v) if k == "aliases" else v for k, v in raw.items()}
            if "attributes" in fields:
                fields["attributes"] = tuple(sorted(raw["attributes"].items()))
            built[kind].append(cls(**fields))
    return Home(tuple(built["floor"]), tuple(built["area"]), tuple(built["device"]), source)
