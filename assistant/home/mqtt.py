"""An MQTT broker as the home: devices from Home Assistant's MQTT discovery, commands as messages.

Devices describe themselves with retained messages on ``<discovery_prefix>/<component>/[<node>/]<id>/config``
(JSON; Home Assistant's MQTT discovery: ``name``, ``command_topic``, ``state_topic``, ``payload_on`` ...,
abbreviated keys such as ``cmd_t`` and the ``~`` base topic included). At start the backend collects them
for ``discovery_wait_s``, builds the home from them (``device.suggested_area`` is the area), subscribes to
every state topic and reads the retained states. Commands are published with QoS 1 and count as done
only once the broker has acknowledged them (PUBACK), within ``timeout_s``; otherwise the device says the
broker is away. Components understood: light (default and JSON schema), switch, fan, cover, lock,
sensor, binary_sensor, climate.

The connection lives on a thread of its own (aiomqtt) and reconnects with backoff; the password is read
from ``password_file`` and never logged (the client library's log is kept at INFO).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from assistant.config import MqttConfig
from assistant.home import HomeAuthError, HomeUnavailable, read_secret
from assistant.home._loop import RemoteConnection
from assistant.home.homeassistant import UnsupportedCommand
from assistant.intent.home import DOMAINS, Device, Home, normalize_name, parse_home
from assistant.skills.state import StateStore

__all__ = ["MqttBackend", "MqttEntity", "commands", "entity_from_config", "home_file_entities",
           "parse_discovery"]

_LOGGER = logging.getLogger(__name__)
_CLIENT_LOGGER = logging.getLogger(__name__ + ".client")
_CLIENT_LOGGER.setLevel(logging.INFO)

UNREACHABLE = "The MQTT broker is not reachable right now."
TOO_SLOW = "The MQTT broker did not confirm the command in time."
_BACKOFF_START_S = 0.5
_QUIET_S = 0.2
"""after subscribing, retained messages have all arrived once none came for this long"""

COMPONENTS = ("light", "switch", "fan", "cover", "lock", "sensor", "binary_sensor", "climate")

# Home Assistant's abbreviations of discovery keys (the ones of the components above).
_ABBREVIATIONS = {
    "avty_t": "availability_topic", "bri_cmd_t": "brightness_command_topic", "bri_scl": "brightness_scale",
    "bri_stat_t": "brightness_state_topic", "cmd_t": "command_topic", "curr_temp_t": "current_temperature_topic",
    "dev": "device", "dev_cla": "device_class", "mode_cmd_t": "mode_command_topic",
    "mode_stat_t": "mode_state_topic", "obj_id": "object_id", "pct_cmd_t": "percentage_command_topic",
    "pct_stat_t": "percentage_state_topic", "pl_cls": "payload_close", "pl_lock": "payload_lock",
    "pl_off": "payload_off", "pl_on": "payload_on", "pl_open": "payload_open", "pl_stop": "payload_stop",
    "pl_unlk": "payload_unlock", "pos_t": "position_topic", "qos": "qos", "ret": "retain",
    "rgb_cmd_t": "rgb_command_topic", "rgb_stat_t": "rgb_state_topic", "set_pos_t": "set_position_topic",
    "stat_clsd": "state_closed", "stat_closing": "state_closing", "stat_locked": "state_locked",
    "stat_off": "state_off", "stat_on": "state_on", "stat_open": "state_open", "stat_opening": "state_opening",
    "stat_t": "state_topic", "stat_unlocked": "state_unlocked", "stat_val_tpl": "state_value_template",
    "temp_cmd_t": "temperature_command_topic", "temp_stat_t": "temperature_state_topic",
    "uniq_id": "unique_id", "unit_of_meas": "unit_of_measurement", "val_tpl": "value_template",
}
_DEVICE_ABBREVIATIONS = {"ids": "identifiers", "sa": "suggested_area", "mf": "manufacturer", "mdl": "model"}
_VALUE_JSON = re.compile(r"^\{\{\s*value_json(?:\.(\w+)|\[['\"](\w+)['\"]\])\s*\}\}$")
_COLORS = {
    "red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "white": (255, 255, 255),
    "yellow": (255, 255, 0), "orange": (255, 165, 0), "purple": (128, 0, 128), "pink": (255, 192, 203),
    "cyan": (0, 255, 255), "magenta": (255, 0, 255), "warm white": (255, 214, 170),
}


@dataclass(frozen=True, slots=True)
class MqttEntity:
    component: str
    object_id: str
    name: str
    area: str
    config: dict[str, Any] = field(repr=False)
    """the discovery message, abbreviations expanded and ``~`` replaced"""

    def get(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    @property
    def state_topics(self) -> list[str]:
        keys = ("state_topic", "brightness_state_topic", "position_topic", "percentage_state_topic",
                "current_temperature_topic", "temperature_state_topic", "mode_state_topic", "rgb_state_topic")
        return [self.config[k] for k in keys if isinstance(self.config.get(k), str)]


def parse_discovery(topic: str, payload: bytes, prefix: str) -> MqttEntity | None:
    """One discovery message as an entity; None for a removal (empty payload), a component not understood,
    or a malformed message (logged)."""
    parts = topic.split("/")
    base = prefix.split("/")
    rest = parts[len(base):]
    if parts[: len(base)] != base or len(rest) not in (3, 4) or rest[-1] != "config":
        return None
    component, object_id = rest[0], rest[-2]
    if not payload or component not in COMPONENTS:
        return None
    try:
        raw = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError):
        _LOGGER.warning("mqtt: %s is not JSON; ignored", topic)
        return None
    if not isinstance(raw, dict):
        return None
    try:
        return entity_from_config(component, object_id, raw)
    except ValueError as e:
        _LOGGER.warning("mqtt: %s %s; ignored", topic, e)
        return None


def entity_from_config(component: str, object_id: str, raw: dict[str, Any], name: str = "",
                       area: str = "") -> MqttEntity:
    """An entity from Home Assistant's MQTT configuration keys (abbreviations and the ``~`` base topic
    expanded): a discovery message's, or a home file device's ``mqtt`` table (``name`` and ``area`` then
    come from the device). ``ValueError`` says what is missing."""
    cfg = {_ABBREVIATIONS.get(k, k): v for k, v in raw.items()}
    tilde = cfg.pop("~", None)
    if isinstance(tilde, str):
        for k, v in list(cfg.items()):
            if k.endswith("_topic") and isinstance(v, str):
                cfg[k] = tilde + v[1:] if v.startswith("~") else v[:-1] + tilde if v.endswith("~") else v
    device = cfg.get("device") if isinstance(cfg.get("device"), dict) else {}
    device = {_DEVICE_ABBREVIATIONS.get(k, k): v for k, v in device.items()}
    if not name:
        entity_name = cfg.get("name")
        device_name = device.get("name") if isinstance(device.get("name"), str) else ""
        if isinstance(entity_name, str) and entity_name:
            name = (entity_name if not device_name or entity_name.startswith(device_name)
                    else f"{device_name} {entity_name}")
        else:
            name = device_name or object_id.replace("_", " ")
    needed = "state_topic" if component in ("sensor", "binary_sensor") else "command_topic"
    if not isinstance(cfg.get(needed), str) or not cfg[needed]:
        raise ValueError(f"has no {needed}")
    if not area:
        area = device.get("suggested_area") if isinstance(device.get("suggested_area"), str) else ""
    return MqttEntity(component, object_id, name, area, cfg)


def home_file_entities(table: dict[str, Any]) -> tuple[dict[str, Any], list[MqttEntity]]:
    """A home file for ``backend = "mqtt"``: the table ``parse_home`` reads (each device's ``mqtt`` table
    taken out) and the devices it describes. Every device needs an ``mqtt`` table of Home Assistant's MQTT
    configuration keys (``command_topic``, ``state_topic``, ``payload_on`` ...: as in a discovery message),
    and a domain that is an MQTT component; anything else is a ``ConfigError`` naming the device."""
    from assistant.config import ConfigError

    devices = table.get("device", [])
    if not isinstance(devices, list):
        return table, []  # parse_home reports it
    plain: list[Any] = []
    entities: list[MqttEntity] = []
    for i, raw in enumerate(devices):
        if not isinstance(raw, dict):
            plain.append(raw)
            continue
        raw = dict(raw)
        key = f"home.device[{i}]"
        mqtt = raw.pop("mqtt", None)
        plain.append(raw)
        name, domain = raw.get("name"), raw.get("domain")
        if mqtt is None:
            raise ConfigError(f"{key} ({name!r}): with [home] backend = \"mqtt\", a home file device needs an "
                              "mqtt table (its command_topic, state_topic ...: Home Assistant's MQTT keys)")
        if not isinstance(mqtt, dict):
            raise ConfigError(f"{key}.mqtt: must be a table")
        if domain not in COMPONENTS:
            raise ConfigError(f"{key}.domain: an MQTT device is one of {list(COMPONENTS)}, got {domain!r}")
        if not isinstance(name, str) or not normalize_name(name):
            continue  # parse_home reports it
        object_id = "_".join(normalize_name(name).split())
        try:
            entities.append(entity_from_config(domain, object_id, mqtt, name, str(raw.get("area", ""))))
        except ValueError as e:
            raise ConfigError(f"{key}.mqtt: {e}") from None
    return {**table, "device": plain}, entities


def _decode(entity: MqttEntity, payload: str) -> str:
    template = entity.get("value_template") or entity.get("state_value_template")
    if isinstance(template, str):
        m = _VALUE_JSON.match(template.strip())
        if m is None:
            return payload  # other Jinja templates are not evaluated: the raw payload is the state
        try:
            value = json.loads(payload)[m.group(1) or m.group(2)]
        except (json.JSONDecodeError, KeyError, TypeError):
            return payload
        return value if isinstance(value, str) else json.dumps(value)
    return payload


def apply_message(entity: MqttEntity, topic: str, payload: str, state: dict[str, Any]) -> None:
    """Fold one state-topic message into ``state`` (the skill's vocabulary: ``state``, ``brightness`` 0-100,
    ``position``, ``percentage``, ``temperature``, ``current_temperature``)."""
    get = entity.get
    c = entity.component
    if c == "light" and get("schema") == "json" and topic == get("state_topic"):
        try:
            doc = json.loads(payload)
        except json.JSONDecodeError:
            return
        if isinstance(doc, dict):
            if isinstance(doc.get("state"), str):
                state["state"] = doc["state"].lower()
            if isinstance(doc.get("brightness"), int | float):
                state["brightness"] = round(doc["brightness"] * 100 / get("brightness_scale", 255))
        return
    value = _decode(entity, payload)
    if topic == get("state_topic"):
        if c in ("light", "switch", "fan", "binary_sensor"):
            on = get("state_on", get("payload_on", "ON"))
            off = get("state_off", get("payload_off", "OFF"))
            state["state"] = "on" if value == on else "off" if value == off else value.lower()
        elif c == "cover":
            names = {get("state_open", "open"): "open", get("state_closed", "closed"): "closed",
                     get("state_opening", "opening"): "opening", get("state_closing", "closing"): "closing"}
            state["state"] = names.get(value, value.lower())
        elif c == "lock":
            names = {get("state_locked", "LOCKED"): "locked", get("state_unlocked", "UNLOCKED"): "unlocked"}
            state["state"] = names.get(value, value.lower())
        else:
            state["state"] = value
    numbers = {"brightness_state_topic": "brightness", "position_topic": "position",
               "percentage_state_topic": "percentage", "current_temperature_topic": "current_temperature",
               "temperature_state_topic": "temperature"}
    for key, attr in numbers.items():
        if topic == get(key):
            try:
                number = float(value)
            except ValueError:
                continue
            if attr == "brightness":
                number = number * 100 / get("brightness_scale", 255)
            state[attr] = round(number) if attr in ("brightness", "position", "percentage") else number
    if topic == get("mode_state_topic"):
        state["state"] = value


def commands(entity: MqttEntity, attributes: dict[str, Any]) -> list[tuple[str, str]]:
    """The (topic, payload) messages that bring ``entity`` to ``attributes`` (the skill's vocabulary)."""
    a = dict(attributes)
    state = a.pop("state", None)
    get = entity.get
    c = entity.component
    out: list[tuple[str, str]] = []
    if c == "light" and get("schema") == "json":
        doc: dict[str, Any] = {}
        if state in ("on", "off"):
            doc["state"] = state.upper()
        if "brightness" in a:
            b = a.pop("brightness")
            doc["state"] = "OFF" if b == 0 else "ON"
            if b:
                doc["brightness"] = round(b * get("brightness_scale", 255) / 100)
        if "color" in a and a["color"] in _COLORS:
            r, g, b_ = _COLORS[a.pop("color")]
            doc["color"] = {"r": r, "g": g, "b": b_}
        if doc:
            out.append((get("command_topic"), json.dumps(doc)))
            state = None
    elif c in ("light", "switch", "fan"):
        switched = state in ("on", "off")
        if switched:
            out.append((get("command_topic"), get("payload_on", "ON") if state == "on" else get("payload_off", "OFF")))
            state = None
        if c == "light" and "brightness" in a and get("brightness_command_topic"):
            b = a.pop("brightness")
            if b:
                out.append((get("brightness_command_topic"), str(round(b * get("brightness_scale", 255) / 100))))
        elif c == "light" and (a.get("brightness") == 0 or switched and a.get("brightness") == 100):
            a.pop("brightness")  # a light that only switches: full brightness is on, none is off
        if c == "light" and a.get("color") in _COLORS and get("rgb_command_topic"):
            out.append((get("rgb_command_topic"), ",".join(map(str, _COLORS[a.pop("color")]))))
        if c == "fan" and "percentage" in a and get("percentage_command_topic"):
            out.append((get("percentage_command_topic"), str(a.pop("percentage"))))
    elif c == "cover":
        position = a.pop("position", None)
        fully = position == 100 and state in (None, "open") or position == 0 and state in (None, "closed")
        if position is not None and not fully:
            if not get("set_position_topic"):
                raise UnsupportedCommand(f"the {entity.name} has no set_position_topic")
            out.append((get("set_position_topic"), str(position)))
            state = None
        elif fully:
            state = "open" if position == 100 else "closed"
        if state in ("open", "closed", "stopped"):
            key, default = {"open": ("payload_open", "OPEN"), "closed": ("payload_close", "CLOSE"),
                            "stopped": ("payload_stop", "STOP")}[state]
            out.append((get("command_topic"), get(key, default)))
            state = None
    elif c == "lock" and state in ("locked", "unlocked"):
        payload = get("payload_lock", "LOCK") if state == "locked" else get("payload_unlock", "UNLOCK")
        out.append((get("command_topic"), payload))
        state = None
    elif c == "climate":
        if "temperature" in a and get("temperature_command_topic"):
            out.append((get("temperature_command_topic"), str(a.pop("temperature"))))
        mode = a.pop("hvac_mode", None) or (state if state not in (None, "on") else None)
        if mode and get("mode_command_topic"):
            out.append((get("mode_command_topic"), mode))
            state = None
    if state is not None or a:
        what = ", ".join([f"state={state!r}"] * (state is not None) + sorted(a))
        raise UnsupportedCommand(f"no MQTT command sets {what} on a {c} ({entity.name})")
    return out


def home_table(entities: list[MqttEntity], base: dict[str, Any] | None = None,
               described: list[MqttEntity] = ()) -> tuple[dict[str, Any], dict[str, MqttEntity]]:
    """The home and device name -> entity: the home file's table ``base`` (its devices ``described`` by
    their ``mqtt`` tables) first, then the discovered ``entities`` (areas from ``suggested_area``), their
    names made unique like ``import_home`` does. A discovered device the home file already names is the
    home file's."""
    base = base or {}
    areas: dict[str, str] = {normalize_name(a["name"]): a["name"] for a in base.get("area", [])
                             if isinstance(a, dict) and isinstance(a.get("name"), str)}
    devices: list[dict[str, Any]] = list(base.get("device", []))
    by_name: dict[str, MqttEntity] = {e.name: e for e in described}
    taken: set[str] = {normalize_name(n) for d in devices if isinstance(d, dict)
                       for n in (d.get("name", ""), *d.get("aliases", ())) if isinstance(n, str)}
    file_topics = {t for e in described for t in (e.get("command_topic"), *e.state_topics) if t}
    for e in sorted(entities, key=lambda e: (e.component, e.object_id)):
        domain = e.component
        if domain not in DOMAINS:
            _LOGGER.info("mqtt: %s %s not imported (a domain the parser does not know)", e.component, e.object_id)
            continue
        if normalize_name(e.name) in taken and file_topics & {e.get("command_topic"), *e.state_topics}:
            continue  # the home file describes this device itself
        for name in (e.name, f"{e.name} {e.area}" if e.area else "", f"{e.name} {e.object_id.replace('_', ' ')}"):
            key = normalize_name(name)
            if key and key not in taken:
                taken.add(key)
                break
        else:
            continue
        entry: dict[str, Any] = {"name": name, "domain": domain}
        if e.area:
            areas.setdefault(normalize_name(e.area), e.area)
            entry["area"] = areas[normalize_name(e.area)]
        if isinstance(e.get("device_class"), str):
            entry["device_class"] = e.get("device_class")
        if isinstance(e.get("unit_of_measurement"), str):
            entry["unit"] = e.get("unit_of_measurement")
        devices.append(entry)
        by_name[name] = e
    known = {normalize_name(a["name"]) for a in base.get("area", []) if isinstance(a, dict) and "name" in a}
    extra = [{"name": a} for k, a in areas.items() if k not in known]
    table = {"floor": list(base.get("floor", [])), "area": [*base.get("area", []), *extra], "device": devices}
    return table, by_name


class MqttBackend(RemoteConnection):
    """A ``DeviceBackend`` over an MQTT broker (see the module's docstring)."""

    def __init__(self, cfg: MqttConfig, password: str | None, store: StateStore | None = None,
                 home_file: tuple[dict[str, Any], list[MqttEntity]] | None = None) -> None:
        self.cfg = cfg
        self._home_file = home_file
        """the home file's table and the devices its ``mqtt`` tables describe (``home_file_entities``)"""
        self._password = password
        self._store = store
        url = urllib.parse.urlsplit(cfg.url)
        self._host = url.hostname or "127.0.0.1"
        self._tls = url.scheme == "mqtts"
        self._port = url.port or (8883 if self._tls else 1883)
        self.home = Home()
        self._table: dict[str, Any] | None = None
        """the home's table, once the first connection has made it"""
        self.entities: dict[str, MqttEntity] = {}
        self._by_topic: dict[str, list[tuple[str, MqttEntity]]] = {}
        self._discovered: dict[str, MqttEntity] = {}
        self._states: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._client: Any = None
        self.connections = 0
        self._label = "mqtt"
        self._start("mqtt")

    def __repr__(self) -> str:
        return f"MqttBackend(url={self.cfg.url!r}, connected={self.connected})"

    @classmethod
    def connect(cls, cfg: MqttConfig, store: StateStore | None = None, *, password: str | None = None,
                home_file: dict[str, Any] | None = None) -> MqttBackend:
        """Connect, collect the discovery messages and read the retained states. ``home_file``: a home file's
        table whose devices carry ``mqtt`` tables (``home_file_entities``), beside the discovered ones.
        Refused credentials raise ``HomeAuthError``; an unreachable broker ``HomeUnavailable``; a bad
        home file ``ConfigError``."""
        if password is None and str(cfg.password_file) not in ("", "."):
            password = read_secret(cfg.password_file, "", "home.mqtt.password_file")
        described = None
        if home_file is not None:  # a bad home file is reported before anything connects
            described = home_file_entities(home_file)
            parse_home(described[0], "home file")
        self = cls(cfg, password, store, described)
        self._first_try.wait(cfg.timeout_s * 2 + cfg.discovery_wait_s * 2 + 1)
        if self.connected:
            return self
        error = self._first_error
        self.close()
        if isinstance(error, HomeAuthError):
            raise error
        raise HomeUnavailable(f"the MQTT broker at {cfg.url} is not reachable: {error or 'no answer'}")

    def _entity(self, device: Device) -> MqttEntity:
        try:
            return self.entities[device.name]
        except KeyError:
            raise HomeUnavailable(f"The {device.name} is not one of the MQTT devices.") from None

    def state(self, device: Device) -> dict[str, Any]:
        entity = self._entity(device)
        if not self.connected:
            raise HomeUnavailable(UNREACHABLE)
        with self._lock:
            st = dict(self._states.get(device.name, {}))
        st.setdefault("state", "unknown")
        if entity.component == "light" and st["state"] != "on":
            st["brightness"] = 0
        return st

    def set(self, device: Device, **attributes: Any) -> dict[str, Any]:
        entity = self._entity(device)
        messages = commands(entity, attributes)
        if not self.connected:
            raise HomeUnavailable(UNREACHABLE)
        try:
            self._thread.call(self._publish(messages), self.cfg.timeout_s)
        except TimeoutError:
            raise HomeUnavailable(TOO_SLOW) from None
        with self._lock:  # optimistic until the device reports (a device without a state topic never does)
            self._states.setdefault(device.name, {}).update(attributes)
        return self.state(device)

    # ------------------------------------------------------------------------------------ on the loop

    async def _publish(self, messages: list[tuple[str, str]]) -> None:
        from aiomqtt import MqttError

        client = self._client
        if client is None:
            raise HomeUnavailable(UNREACHABLE)
        try:
            for topic, payload in messages:
                await client.publish(topic, payload, qos=1, timeout=self.cfg.timeout_s)
        except MqttError as e:
            _LOGGER.warning("mqtt: publish failed: %s", e)
            raise HomeUnavailable(UNREACHABLE) from None

    def _tls_context(self) -> ssl.SSLContext | None:
        if not self._tls:
            return None
        ca = str(self.cfg.ca_file)
        return ssl.create_default_context(cafile=ca if ca not in ("", ".") else None)

    async def _check_tls(self) -> None:
        """With mqtts, check the broker's certificate before the MQTT client connects: a clear error, and
        no socket left open by the client library when the handshake fails."""
        context = self._tls_context()
        if context is None:
            return
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port, ssl=context), self.cfg.timeout_s)
        except ssl.SSLCertVerificationError as e:
            raise HomeAuthError(f"home.mqtt.ca_file: the certificate of the broker at {self.cfg.url} is not "
                                f"trusted ({e.verify_message})") from None
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()

    async def _run(self) -> None:
        from aiomqtt import Client, MqttCodeError, MqttError

        backoff = _BACKOFF_START_S
        while not self._stopping:
            try:
                await self._check_tls()
                async with Client(self._host, self._port, username=self.cfg.username or None,
                                  password=self._password, logger=_CLIENT_LOGGER, timeout=self.cfg.timeout_s,
                                  tls_context=self._tls_context(), keepalive=30) as client:
                    self._client = client
                    await self._sync(client)
                    self._connected.set()
                    self.connections += 1
                    self._first_try.set()
                    backoff = _BACKOFF_START_S
                    _LOGGER.info("mqtt: connected to %s, %d devices", self.cfg.url, len(self.entities))
                    async for message in client.messages:
                        self._on_message(str(message.topic), message.payload)
            except MqttCodeError as e:
                rc = getattr(e.rc, "value", e.rc)
                if rc in (4, 5, 134, 135):
                    self._note_failure(HomeAuthError(
                        f"home.mqtt: the broker at {self.cfg.url} refused the login ({e}); check username "
                        "and password_file"))
                else:
                    self._note_failure(e)
            except HomeAuthError as e:
                self._note_failure(e)
                if self._first_try.is_set():
                    _LOGGER.error("%s", e)
            except (MqttError, OSError, TimeoutError) as e:
                self._note_failure(e)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                _LOGGER.exception("mqtt: unexpected error")
                self._note_failure(e)
            finally:
                if self._connected.is_set() and not self._stopping:
                    _LOGGER.warning("mqtt: connection to %s lost; reconnecting", self.cfg.url)
                self._connected.clear()
                self._client = None
            if self._stopping:
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.cfg.reconnect_max_s)

    async def _collect(self, client: Any, seconds: float) -> None:
        """Take messages for up to ``seconds``, returning early once none came for ``_QUIET_S``."""
        deadline = time.monotonic() + seconds
        iterator = client.messages.__aiter__()
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = await asyncio.wait_for(iterator.__anext__(), min(left, _QUIET_S))
            except TimeoutError:
                return
            self._on_message(str(message.topic), message.payload)

    async def _sync(self, client: Any) -> None:
        prefix = self.cfg.discovery_prefix
        await client.subscribe([(f"{prefix}/+/+/config", 1), (f"{prefix}/+/+/+/config", 1)])
        await self._collect(client, self.cfg.discovery_wait_s)
        first = self._table is None  # the first connection makes the home the parser starts with
        if self._build_home() and not first:
            self._changed(self.home)  # devices came or went while the broker was away
        topics = sorted(self._by_topic)
        if topics:
            await client.subscribe([(t, 1) for t in topics])
            await self._collect(client, self.cfg.discovery_wait_s)

    def _build_home(self) -> bool:
        """The home from the home file and what has been discovered; whether it changed."""
        base, described = self._home_file or ({}, [])
        table, by_name = home_table(list(self._discovered.values()), base, described)
        if table == self._table and by_name == self.entities:
            return False
        by_topic: dict[str, list[tuple[str, MqttEntity]]] = {}
        for name, e in by_name.items():
            for t in e.state_topics:
                by_topic.setdefault(t, []).append((name, e))
        self.home = parse_home(table, f"mqtt {self.cfg.url}")
        self._table, self.entities, self._by_topic = table, by_name, by_topic
        return True

    async def _refresh(self) -> None:
        """A device announced itself, changed or went away after the start: the home is made again, the
        new state topics subscribed and their retained states read."""
        known = set(self._by_topic)
        if not self._build_home():
            return
        _LOGGER.info("mqtt: the home changed: %d devices", len(self.entities))
        client = self._client
        new = sorted(set(self._by_topic) - known)
        if client is not None and new:
            await client.subscribe([(t, 1) for t in new])  # their retained states arrive in the message loop
        self._changed(self.home)

    def _on_message(self, topic: str, payload: Any) -> None:
        data = payload if isinstance(payload, bytes) else str(payload).encode()
        if topic.endswith("/config") and topic.startswith(self.cfg.discovery_prefix + "/"):
            entity = parse_discovery(topic, data, self.cfg.discovery_prefix)
            before = self._discovered.get(topic)
            if entity is not None:
                self._discovered[topic] = entity
            else:
                self._discovered.pop(topic, None)
            if self._table is not None and entity != before:  # after the start: read the home again
                self._refresh_soon()
            return
        text = data.decode("utf-8", "replace")
        for name, entity in self._by_topic.get(topic, ()):
            with self._lock:
                apply_message(entity, topic, text, self._states.setdefault(name, {}))
