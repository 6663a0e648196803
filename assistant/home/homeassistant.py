"""Home Assistant as the home: its registry is what the parser knows, its states are the devices' states.

Over Home Assistant's WebSocket API (``<url>/api/websocket``):

1. ``auth`` with a long-lived access token (``[home.homeassistant] token_file`` or ``$ASSISTANT_HA_TOKEN``);
   a refused token is a ``HomeAuthError`` before the device is ready. The token is never logged: the
   WebSocket library's frame log is kept off whatever ``-v`` says.
2. Import: ``config/floor_registry/list``, ``config/area_registry/list``, ``config/device_registry/list``,
   ``homeassistant/expose_entity/list`` (what the user exposed to Assist: only those entities),
   ``config/entity_registry/get_entries`` (their aliases and device classes) and ``get_states`` become
   a home table in the home file's schema (``import_home``), which ``parse_home`` reads like a file.
   The table is kept in the state directory, so a device restarted while Home Assistant is down still
   knows the home (and says that Home Assistant is away when asked to act).
3. ``subscribe_events`` for ``state_changed`` keeps every imported device's state current.
4. ``set()`` is one or more ``call_service`` requests (``service_calls``), answered within ``timeout_s``.

The connection lives on a thread of its own and reconnects with backoff (0.5 s doubling to
``reconnect_max_s``), re-importing the states each time. While it is down, ``state()`` and ``set()``
raise ``HomeUnavailable`` ("Home Assistant is not reachable right now.").
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from assistant.config import HomeAssistantConfig
from assistant.home import HomeAuthError, HomeUnavailable, read_secret
from assistant.home._loop import RemoteConnection
from assistant.intent.home import DOMAINS, Device, Home, normalize_name, parse_home
from assistant.skills.state import StateError, StateStore

__all__ = [
    "HaRegistry",
    "HomeAssistantBackend",
    "ImportedHome",
    "ServiceCall",
    "UnsupportedCommand",
    "import_home",
    "service_calls",
    "skill_state",
]

_LOGGER = logging.getLogger(__name__)
# The WebSocket library logs every frame at DEBUG, the auth frame (and so the token) included: its
# logger is held at INFO so `assistant -vv` cannot print the token.
_WS_LOGGER = logging.getLogger(__name__ + ".websocket")
_WS_LOGGER.setLevel(logging.INFO)

UNREACHABLE = "Home Assistant is not reachable right now."
TOO_SLOW = "Home Assistant did not answer in time."
_SNAPSHOT = "homeassistant-home"
_BACKOFF_START_S = 0.5


class UnsupportedCommand(ValueError):
    """An attribute the backend has no service call for on that domain (a bug in the caller)."""


# ------------------------------------------------------------------------------------------- the import


@dataclass(frozen=True, slots=True)
class HaRegistry:
    """What the import reads from Home Assistant, as its WebSocket API returns it."""

    floors: list[dict[str, Any]] = field(default_factory=list)
    areas: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    entities: dict[str, dict[str, Any]] = field(default_factory=dict)
    """entity id -> extended registry entry (aliases, device_class, options); absent for entities that
    have no unique id (they exist only as states)"""
    states: list[dict[str, Any]] = field(default_factory=list)
    exposed: frozenset[str] | None = None
    """entity ids exposed to Assist (``homeassistant/expose_entity/list``); None: read each registry
    entry's ``options.conversation.should_expose``"""


@dataclass(frozen=True, slots=True)
class ImportedHome:
    table: dict[str, Any]
    """the home file's schema: ``{"floor": [...], "area": [...], "device": [...]}``"""
    entity_ids: dict[str, str]
    """device name (as in the table) -> entity id"""
    skipped: dict[str, str]
    """entity id -> why it was not imported (exposed but of a domain the parser does not know, ...)"""


def _strings(values: Any) -> list[str]:
    return [v for v in values or () if isinstance(v, str) and normalize_name(v)]


def import_home(reg: HaRegistry) -> ImportedHome:
    """Home Assistant's floors, areas and exposed entities as a home table ``parse_home`` accepts.

    A device is named as Home Assistant shows it (the state's ``friendly_name``), with the entity's
    aliases; its area is the entity's own or else its device's. Names must be unique in a home: a name
    met twice gets its area (or its entity id) added, and an alias already taken is dropped.
    """
    taken: dict[str, set[str]] = {"floor": set(), "area": set(), "device": set()}

    def claim(kind: str, name: str) -> bool:
        key = normalize_name(name)
        if not key or key in taken[kind]:
            return False
        taken[kind].add(key)
        return True

    floors_out: list[dict[str, Any]] = []
    floor_names: dict[str, str] = {}
    for f in reg.floors:
        if not claim("floor", f.get("name") or ""):
            continue
        floor_names[f["floor_id"]] = f["name"]
        entry: dict[str, Any] = {"name": f["name"]}
        aliases = [a for a in _strings(f.get("aliases")) if claim("floor", a)]
        if aliases:
            entry["aliases"] = aliases
        floors_out.append(entry)

    areas_out: list[dict[str, Any]] = []
    area_names: dict[str, str] = {}
    for a in reg.areas:
        if not claim("area", a.get("name") or ""):
            continue
        area_names[a["area_id"]] = a["name"]
        entry = {"name": a["name"]}
        if a.get("floor_id") in floor_names:
            entry["floor"] = floor_names[a["floor_id"]]
        aliases = [x for x in _strings(a.get("aliases")) if claim("area", x)]
        if aliases:
            entry["aliases"] = aliases
        areas_out.append(entry)

    device_area = {d["id"]: d.get("area_id") for d in reg.devices}
    devices_out: list[dict[str, Any]] = []
    entity_ids: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for st in sorted(reg.states, key=lambda s: s["entity_id"]):
        entity_id: str = st["entity_id"]
        ent = reg.entities.get(entity_id, {})
        if reg.exposed is not None:
            exposed = entity_id in reg.exposed
        else:
            exposed = bool(((ent.get("options") or {}).get("conversation") or {}).get("should_expose"))
        if not exposed:
            continue
        domain, _, object_id = entity_id.partition(".")
        if domain not in DOMAINS:
            skipped[entity_id] = f"domain {domain} is not one the parser knows"
            continue
        if ent.get("disabled_by"):
            skipped[entity_id] = "disabled"
            continue
        attrs = st.get("attributes") or {}
        area = area_names.get(ent.get("area_id") or device_area.get(ent.get("device_id") or "") or "", "")
        base = attrs.get("friendly_name") or ent.get("name") or ent.get("original_name") or ""
        base = base if normalize_name(base) else object_id.replace("_", " ")
        for name in (base, f"{base} {area}" if area else "", f"{base} {object_id.replace('_', ' ')}"):
            if name and claim("device", name):
                break
        else:
            skipped[entity_id] = f"its name {base!r} is taken"
            continue
        entry = {"name": name, "domain": domain}
        if area:
            entry["area"] = area
        aliases = [x for x in _strings(ent.get("aliases")) if claim("device", x)]
        if aliases:
            entry["aliases"] = aliases
        device_class = ent.get("device_class") or ent.get("original_device_class") or attrs.get("device_class")
        if isinstance(device_class, str) and device_class:
            entry["device_class"] = device_class
        unit = attrs.get("unit_of_measurement")
        if isinstance(unit, str) and unit:
            entry["unit"] = unit
        devices_out.append(entry)
        entity_ids[name] = entity_id
    table: dict[str, Any] = {"floor": floors_out, "area": areas_out, "device": devices_out}
    return ImportedHome(table, entity_ids, skipped)


# ------------------------------------------------------------------------------- states and commands


def skill_state(domain: str, ha_state: dict[str, Any]) -> dict[str, Any]:
    """A Home Assistant state as the device skills read one (``LocalBackend``'s vocabulary): ``state``
    plus the attributes, with ``brightness`` and ``volume_level`` in percent (Home Assistant's are 0-255
    and 0-1) and a cover's or valve's ``position``."""
    attrs = dict(ha_state.get("attributes") or {})
    attrs.pop("friendly_name", None)
    out: dict[str, Any] = {**attrs, "state": ha_state.get("state", "unknown")}
    if domain == "light":
        raw = attrs.get("brightness")
        out["brightness"] = round(raw * 100 / 255) if out["state"] == "on" and isinstance(raw, int | float) else 0
    if "current_position" in attrs:
        out["position"] = attrs["current_position"]
    if isinstance(attrs.get("volume_level"), int | float):
        out["volume_level"] = round(attrs["volume_level"] * 100)
    return out


@dataclass(frozen=True, slots=True)
class ServiceCall:
    domain: str
    service: str
    data: dict[str, Any] = field(default_factory=dict)


_SIMPLE_ON_OFF = ("switch", "fan", "media_player", "humidifier", "input_boolean", "siren", "automation",
                  "water_heater", "climate", "light", "script")
_HVAC_MODES = ("heat", "cool", "heat_cool", "auto", "dry", "fan_only")


def service_calls(domain: str, attributes: dict[str, Any]) -> list[ServiceCall]:
    """The service calls that bring an entity of ``domain`` to ``attributes``.

    Attributes are the device skills' (``LocalBackend``'s): ``state`` as Home Assistant writes it,
    ``brightness`` and ``volume_level`` 0-100, ``color`` a colour name, a light's ``temperature`` in
    kelvin, ``position`` 0-100, a climate's ``temperature``, ``percentage``, ``hvac_mode``, ``humidity``,
    ``media_title`` (with ``media_class``) to play, a to-do ``item``.
    """
    a = dict(attributes)
    state = a.pop("state", None)
    calls: list[ServiceCall] = []

    def call(service: str, **data: Any) -> None:
        calls.append(ServiceCall(domain, service, data))

    if domain == "light":
        data: dict[str, Any] = {}
        if "brightness" in a:
            b = a.pop("brightness")
            if b == 0:
                state = "off"
            else:
                data["brightness_pct"] = b
        if "color" in a:
            data["color_name"] = a.pop("color")
        if "temperature" in a:
            data["color_temp_kelvin"] = a.pop("temperature")
        for key in ("rgb_color", "color_temp_kelvin", "brightness_pct"):
            if key in a:
                data[key] = a.pop(key)
        if state == "off" and not data:
            call("turn_off")
            state = None
        elif state in ("on", None) and data or state == "on":
            call("turn_on", **data)
            state = None
    elif domain in ("cover", "valve"):
        position = a.pop("position", None)
        if position == 100 and state in (None, "open") or position == 0 and state in (None, "closed"):
            state = "open" if position == 100 else "closed"  # fully: the service every cover has
        elif position is not None:
            call(f"set_{domain}_position", position=position)
            state = None
        if state in ("open", "opening"):
            call(f"open_{domain}")
        elif state in ("closed", "closing"):
            call(f"close_{domain}")
        elif state == "stopped":
            call(f"stop_{domain}")
        state = None if calls else state
    elif domain == "lock":
        services = {"locked": "lock", "unlocked": "unlock", "open": "open"}
        if state in services:
            call(services[state])
            state = None
    elif domain == "climate":
        if "temperature" in a:
            call("set_temperature", temperature=a.pop("temperature"))
        mode = a.pop("hvac_mode", None) or (state if state in (*_HVAC_MODES, "off") and state != "off" else None)
        if mode:
            call("set_hvac_mode", hvac_mode=mode)
            state = None
    elif domain == "fan" and "percentage" in a:
        call("set_percentage", percentage=a.pop("percentage"))
        state = None if state == "on" else state
    elif domain == "media_player":
        playback = {"playing": "media_play", "paused": "media_pause", "idle": "media_stop"}
        if state in playback:
            call(playback[state])
            state = None
        if "media_title" in a:  # "play some jazz on the kitchen speaker": the query as the content id
            media_class = a.pop("media_class", "") or "music"
            calls.insert(0, ServiceCall(domain, "play_media", {"media_content_id": a.pop("media_title"),
                                                                "media_content_type": media_class}))
            calls[:] = [c for c in calls if c.service != "media_play"]
        if "volume_level" in a:
            call("volume_set", volume_level=a.pop("volume_level") / 100)
    elif domain == "vacuum":
        services = {"cleaning": "start", "on": "start", "docked": "return_to_base", "returning": "return_to_base",
                    "off": "return_to_base", "paused": "pause", "idle": "stop"}
        if state in services:
            call(services[state])
            state = None
    elif domain == "scene" and state in ("on", "activated") or domain == "script" and state in ("on", "running"):
        call("turn_on")
        state = None
    elif domain == "button" and state == "pressed":
        call("press")
        state = None
    elif domain == "todo":
        if "item" in a:
            call("add_item", item=a.pop("item"))
        if "complete" in a:
            call("update_item", item=a.pop("complete"), status="completed")
        if "remove" in a:
            call("remove_item", item=[a.pop("remove")])
    if domain == "humidifier" and "humidity" in a:
        call("set_humidity", humidity=a.pop("humidity"))
    if domain == "water_heater" and "temperature" in a:
        call("set_temperature", temperature=a.pop("temperature"))
    if state in ("on", "off") and domain in _SIMPLE_ON_OFF:
        calls.insert(0, ServiceCall(domain, "turn_on" if state == "on" else "turn_off", {}))
        state = None
    if state is not None or a:
        what = ", ".join([f"state={state!r}"] * (state is not None) + sorted(a))
        raise UnsupportedCommand(f"no Home Assistant service sets {what} on a {domain}")
    return calls


# ------------------------------------------------------------------------------------- the connection


def websocket_url(url: str) -> str:
    base = url.rstrip("/")
    scheme, rest = base.split("://", 1)
    return f"{'wss' if scheme == 'https' else 'ws'}://{rest}/api/websocket"


REGISTRY_EVENTS = ("entity_registry_updated", "device_registry_updated", "area_registry_updated",
                   "floor_registry_updated")
"""Home Assistant's events for a change of the home (an entity, device, area or floor added, renamed,
removed, or given aliases): the home is read again"""


class _Closed(Exception):
    """The connection ended while a request waited for its answer."""


class HomeAssistantBackend(RemoteConnection):
    """A ``DeviceBackend`` over Home Assistant's WebSocket API (see the module's docstring)."""

    def __init__(self, cfg: HomeAssistantConfig, token: str, store: StateStore | None = None) -> None:
        self.cfg = cfg
        self._token = token
        self._store = store
        self._url = websocket_url(cfg.url)
        self.imported: ImportedHome | None = None
        self.home: Home = Home()
        self._states: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._ws: Any = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._conversation_id = ""
        self.connections = 0
        """how many times a connection was made and the home synchronised (tests read it)"""
        self._label = f"Home Assistant at {cfg.url}"
        self._start("homeassistant")

    def __repr__(self) -> str:  # the token stays out of every repr and log line
        return f"HomeAssistantBackend(url={self.cfg.url!r}, connected={self.connected})"

    @classmethod
    def connect(cls, cfg: HomeAssistantConfig, store: StateStore | None = None, *,
                token: str | None = None) -> HomeAssistantBackend:
        """Connect, authenticate and import the home; the errors a user must fix are raised here.

        A refused token raises ``HomeAuthError``. An unreachable Home Assistant raises
        ``HomeUnavailable``, unless an earlier import is saved in ``store``: then that home is used and
        the connection keeps trying in the background.
        """
        if token is None:
            token = read_secret(cfg.token_file, "ASSISTANT_HA_TOKEN", "home.homeassistant.token_file")
        self = cls(cfg, token, store)
        self._first_try.wait(cfg.timeout_s * 4 + 1)
        if self.imported is not None:
            return self
        error = self._first_error
        if isinstance(error, HomeAuthError):
            self.close()
            raise error
        saved = store.load(_SNAPSHOT, {}) if store is not None else {}
        if saved.get("url") == cfg.url and isinstance(saved.get("table"), dict):
            _LOGGER.warning("Home Assistant at %s is not reachable (%s); using the home imported at %s",
                            cfg.url, error or "no answer", saved.get("imported_at", "?"))
            self._adopt(ImportedHome(saved["table"], dict(saved.get("entity_ids", {})), {}))
            return self
        self.close()
        raise HomeUnavailable(f"Home Assistant at {cfg.url} is not reachable: {error or 'no answer'}")

    # --------------------------------------------------------------------------------- DeviceBackend

    def entity_id(self, device: Device) -> str:
        try:
            return self.imported.entity_ids[device.name] if self.imported else ""
        except KeyError:
            raise HomeUnavailable(f"The {device.name} is not one of Home Assistant's devices.") from None

    def state(self, device: Device) -> dict[str, Any]:
        entity_id = self.entity_id(device)
        if not self.connected:
            raise HomeUnavailable(UNREACHABLE)
        with self._lock:
            st = self._states.get(entity_id)
        if st is None:
            return {"state": "unavailable"}
        return skill_state(device.domain, st)

    def set(self, device: Device, **attributes: Any) -> dict[str, Any]:
        self.set_entity(self.entity_id(device), device.domain, **attributes)
        return self.state(device)

    def set_entity(self, entity_id: str, domain: str, **attributes: Any) -> None:
        """Bring one entity to ``attributes`` (``service_calls``), waiting for Home Assistant's answer."""
        self.call(entity_id, service_calls(domain, attributes))

    def call(self, entity_id: str, calls: list[ServiceCall]) -> None:
        """Make ``calls`` on ``entity_id``, one after the other, all within ``timeout_s``."""
        if not self.connected:
            raise HomeUnavailable(UNREACHABLE)
        try:
            self._thread.call(self._call_services(entity_id, calls), self.cfg.timeout_s)
        except TimeoutError:
            raise HomeUnavailable(TOO_SLOW) from None
        except _HaError as e:
            _LOGGER.warning("Home Assistant refused %s on %s: %s", calls, entity_id, e)
            raise HomeUnavailable(f"Home Assistant could not do that: {e.message or e.code}.") from None

    async def converse(self, text: str) -> tuple[str, bool]:
        """Home Assistant's conversation agent's answer to ``text`` (``conversation/process``), and whether
        it understood and did it. Awaitable from any event loop; ``HomeUnavailable`` while it is away."""
        if not self.connected:
            raise HomeUnavailable(UNREACHABLE)
        message = {"type": "conversation/process", "text": text, "language": "en"}
        if self._conversation_id:
            message["conversation_id"] = self._conversation_id
        future = self._thread.submit(self._request(message))
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(future), self.cfg.timeout_s)
        except TimeoutError:
            raise HomeUnavailable(TOO_SLOW) from None
        except _HaError as e:
            _LOGGER.warning("Home Assistant's conversation agent failed on %r: %s", text, e)
            raise HomeUnavailable("Home Assistant could not answer that.") from None
        result = result or {}
        self._conversation_id = result.get("conversation_id") or ""
        response = result.get("response") or {}
        speech = ((response.get("speech") or {}).get("plain") or {}).get("speech") or ""
        return speech, response.get("response_type") in ("action_done", "query_answer")

    # ------------------------------------------------------------------------------- on the loop

    async def _call_services(self, entity_id: str, calls: list[ServiceCall]) -> None:
        for c in calls:
            target = {"target": {"entity_id": entity_id}} if entity_id else {}
            await self._request({"type": "call_service", "domain": c.domain, "service": c.service,
                                 "service_data": c.data, **target})

    async def _request(self, message: dict[str, Any]) -> Any:
        from websockets.exceptions import WebSocketException

        ws = self._ws
        if ws is None:
            raise HomeUnavailable(UNREACHABLE)
        msg_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        try:
            await ws.send(json.dumps({**message, "id": msg_id}))
            return await future
        except (_Closed, WebSocketException):  # the connection ended under the request
            raise HomeUnavailable(UNREACHABLE) from None
        finally:
            self._pending.pop(msg_id, None)

    async def _run(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, WebSocketException

        backoff = _BACKOFF_START_S
        while not self._stopping:
            try:
                async with connect(self._url, max_size=None, open_timeout=self.cfg.timeout_s,
                                   logger=_WS_LOGGER, ping_interval=20, ping_timeout=self.cfg.timeout_s * 2,
                                   close_timeout=1) as ws:
                    await self._authenticate(ws)
                    self._ws = ws
                    reader = asyncio.create_task(self._read(ws))
                    try:
                        await asyncio.wait_for(self._sync(), self.cfg.timeout_s * 3)
                        self._connected.set()
                        self.connections += 1
                        self._first_try.set()
                        backoff = _BACKOFF_START_S
                        _LOGGER.info("Home Assistant at %s: connected, %d devices", self.cfg.url,
                                     len(self.imported.entity_ids) if self.imported else 0)
                        await reader
                    finally:
                        reader.cancel()
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await reader
            except HomeAuthError as e:
                self._note_failure(e)
                _LOGGER.error("%s", e)
            except (OSError, TimeoutError, WebSocketException, InvalidHandshake, _Closed, HomeUnavailable) as e:
                self._note_failure(e)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a malformed answer: logged, and the connection is retried
                _LOGGER.exception("Home Assistant at %s: unexpected answer", self.cfg.url)
                self._note_failure(e)
            finally:
                was_connected = self._connected.is_set()
                self._connected.clear()
                self._ws = None
                for fut in self._pending.values():
                    if not fut.done():
                        fut.set_exception(_Closed())
                if was_connected and not self._stopping:
                    _LOGGER.warning("Home Assistant at %s: connection lost; reconnecting", self.cfg.url)
            if self._stopping:
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.cfg.reconnect_max_s)

    async def _authenticate(self, ws: Any) -> None:
        hello = json.loads(await asyncio.wait_for(ws.recv(), self.cfg.timeout_s))
        if hello.get("type") != "auth_required":
            raise _Closed(f"expected auth_required, got {hello.get('type')!r}")
        await ws.send(json.dumps({"type": "auth", "access_token": self._token}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), self.cfg.timeout_s))
        if answer.get("type") == "auth_invalid":
            raise HomeAuthError(
                f"home.homeassistant: Home Assistant at {self.cfg.url} refused the access token "
                f"({answer.get('message', 'auth_invalid')}); make a long-lived access token in your "
                "Home Assistant profile and put it in token_file or $ASSISTANT_HA_TOKEN"
            )
        if answer.get("type") != "auth_ok":
            raise _Closed(f"expected auth_ok, got {answer.get('type')!r}")

    async def _read(self, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in ws:
                self._dispatch(json.loads(raw))
        except ConnectionClosed:
            pass

    def _dispatch(self, msg: dict[str, Any]) -> None:
        if msg.get("type") == "event":
            event = msg.get("event") or {}
            data = event.get("data") or {}
            if event.get("event_type") == "state_changed" and data.get("entity_id"):
                with self._lock:
                    if data.get("new_state") is None:
                        self._states.pop(data["entity_id"], None)
                    else:
                        self._states[data["entity_id"]] = data["new_state"]
            elif event.get("event_type") in REGISTRY_EVENTS:
                self._refresh_soon()
            return
        future = self._pending.get(msg.get("id", -1))
        if future is None or future.done():
            return
        if msg.get("type") == "result" and not msg.get("success", False):
            err = msg.get("error") or {}
            future.set_exception(_HaError(err.get("code", "unknown_error"), err.get("message", "")))
        else:
            future.set_result(msg.get("result"))

    async def _sync(self) -> None:
        """Subscribe first (so no change falls between the two), then read the registry and states. Every
        connection reads the home again: it may have changed while Home Assistant was away."""
        await self._request({"type": "subscribe_events", "event_type": "state_changed"})
        for event_type in REGISTRY_EVENTS:
            await self._request({"type": "subscribe_events", "event_type": event_type})
        await self._import(await self._read_registry())

    async def _refresh(self) -> None:
        if self._ws is not None:
            await self._import(await self._read_registry())

    async def _import(self, registry: HaRegistry) -> None:
        with self._lock:
            self._states = {s["entity_id"]: s for s in registry.states}
        started = time.perf_counter()
        imported = import_home(registry)
        if self.imported is not None and imported.table == self.imported.table:
            return
        first = self.imported is None
        self._adopt(imported)
        _LOGGER.info("Home Assistant: %s %d devices in %.0f ms (%d exposed entities skipped)",
                     "imported" if first else "the home changed:", len(imported.entity_ids),
                     (time.perf_counter() - started) * 1000, len(imported.skipped))
        if self._store is not None:
            try:
                self._store.save(_SNAPSHOT, {"url": self.cfg.url, "table": imported.table,
                                             "entity_ids": imported.entity_ids,
                                             "imported_at": time.strftime("%Y-%m-%d %H:%M:%S")})
            except StateError as e:  # the home is in use all the same; only the offline copy is older
                _LOGGER.warning("Home Assistant: could not save the imported home: %s", e)
        if not first:
            self._changed(self.home)

    def _adopt(self, imported: ImportedHome) -> None:
        self.home = parse_home(imported.table, f"homeassistant {self.cfg.url}")
        self.imported = imported

    async def _read_registry(self) -> HaRegistry:
        async def optional(kind: str) -> Any:
            try:
                return await self._request({"type": kind})
            except _HaError as e:  # older Home Assistant (no floors), or a user who is not an admin
                _LOGGER.info("Home Assistant: %s unavailable (%s)", kind, e)
                return None

        floors = await optional("config/floor_registry/list") or []
        areas = await self._request({"type": "config/area_registry/list"})
        devices = await self._request({"type": "config/device_registry/list"})
        listing = await self._request({"type": "config/entity_registry/list"})
        exposed_raw = await optional("homeassistant/expose_entity/list")
        states = await self._request({"type": "get_states"})
        exposed = None
        if isinstance(exposed_raw, dict):
            exposed = frozenset(e for e, s in (exposed_raw.get("exposed_entities") or {}).items()
                                if (s or {}).get("conversation"))
        ids = [e["entity_id"] for e in listing if exposed is None or e["entity_id"] in exposed]
        entities = await self._request({"type": "config/entity_registry/get_entries", "entity_ids": ids}) if ids else {}
        return HaRegistry(floors, areas, devices, {k: v for k, v in (entities or {}).items() if v}, states,
                          exposed)


class _HaError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message.rstrip(".")
