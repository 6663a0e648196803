"""The home: floors, areas and devices, read from one TOML file and validated like the config.

```toml
[[area]]
name = "Living Room"
floor = "Ground Floor"          # optional; must name a [[floor]]
aliases = ["lounge"]            # optional

[[device]]
name = "Bedroom Lamp"
area = "Bedroom"                # must name an [[area]]
domain = "light"                # light switch fan cover lock media_player sensor climate
aliases = ["bedside lamp"]      # optional
device_class = ""               # optional (Home Assistant's, e.g. "temperature", "garage")
unit = ""                       # optional, sensors
state = ""                      # optional initial state
```

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

__all__ = ["DOMAINS", "Area", "Device", "Floor", "Home", "Match", "load_home", "normalize_name"]

DEFAULT_HOME_PATH = Path(__file__).resolve().parent.parent / "data" / "home.toml"
DOMAINS = ("light", "switch", "fan", "cover", "lock", "media_player", "sensor", "climate")
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
    area: str
    domain: str
    aliases: tuple[str, ...] = ()
    device_class: str = ""
    unit: str = ""
    state: str = ""


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

    def __post_init__(self) -> None:
        for kind, items in (("floor", self.floors), ("area", self.areas), ("device", self.devices)):
            table: dict[str, str] = {}
            for item in items:
                for n in (item.name, *item.aliases):
                    table[normalize_name(n)] = item.name
            self._index[kind] = table

    def names(self) -> list[str]:
        """Every floor, area and device name and alias, lower case, once each (e.g. ASR hotwords)."""
        items = (*self.floors, *self.areas, *self.devices)
        return list(dict.fromkeys(n.lower() for item in items for n in (item.name, *item.aliases)))

    def device(self, name: str) -> Device | None:
        return next((d for d in self.devices if d.name == name), None)

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
        return [
            d
            for d in self.devices
            if (area is None or d.area == area)
            and (domain is None or d.domain == domain)
            and (floor_areas is None or d.area in floor_areas)
            and (device_class is None or d.device_class == device_class)
        ]

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


def load_home(cfg: HomeConfig) -> Home:
    """Read and validate the home file named by ``[home] path`` (empty: the shipped demo home)."""
    path = cfg.path if str(cfg.path) not in ("", ".") else DEFAULT_HOME_PATH
    try:
        table = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"home.path: home file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"home.path: cannot read {path}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"home.path: {path} is not valid TOML: {e}") from None
    return parse_home(table, str(path))


_KEYS = {
    "floor": {"name", "aliases"},
    "area": {"name", "floor", "aliases"},
    "device": {"name", "area", "domain", "aliases", "device_class", "unit", "state"},
}


def parse_home(table: dict[str, Any], source: str = "") -> Home:
    unknown = set(table) - set(_KEYS)
    if unknown:
        raise ConfigError(f"home: unknown table(s) {sorted(unknown)} (known: floor, area, device)")
    built: dict[str, list[Any]] = {"floor": [], "area": [], "device": []}
    seen_names: dict[str, str] = {}
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
            for k, v in raw.items():
                if k == "aliases":
                    if not (isinstance(v, list) and all(isinstance(a, str) and normalize_name(a) for a in v)):
                        raise ConfigError(f"{key}.aliases: must be an array of non-empty strings")
                elif not isinstance(v, str):
                    raise ConfigError(f"{key}.{k}: must be a string, got {type(v).__name__}")
            name = raw.get("name", "")
            if not normalize_name(name):
                raise ConfigError(f"{key}.name: missing or empty")
            for n in (name, *raw.get("aliases", [])):
                norm = normalize_name(n)
                other = seen_names.get(f"{kind}:{norm}")
                if other:
                    raise ConfigError(f"{key}: name {n!r} is already used by {other}")
                seen_names[f"{kind}:{norm}"] = f"{kind} {name!r}"
            if kind == "area" and raw.get("floor") and raw["floor"] not in {f.name for f in built["floor"]}:
                raise ConfigError(f"{key}.floor: unknown floor {raw['floor']!r}")
            if kind == "device":
                if raw.get("area", "") not in {a.name for a in built["area"]}:
                    raise ConfigError(
                        f"{key}.area: unknown area {raw.get('area', '')!r} "
                        f"(areas: {', '.join(a.name for a in built['area'])})"
                    )
                if raw.get("domain") not in DOMAINS:
                    raise ConfigError(
                        f"{key}.domain: must be one of {list(DOMAINS)}, got {raw.get('domain')!r}"
                    )
            built[kind].append(cls(**{k: tuple(v) if k == "aliases" else v for k, v in raw.items()}))
    return Home(tuple(built["floor"]), tuple(built["area"]), tuple(built["device"]), source)
