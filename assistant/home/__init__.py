"""Who keeps the home: the device itself, a Home Assistant, or an MQTT broker.

``open_home(cfg.home, store)`` is the one entry point. It returns a ``HomeLink``: the ``Home`` the intent
parser matches names against, and the ``DeviceBackend`` the device skill reads and sets states through.

- ``local``: the home file (``[home] path``) and ``LocalBackend`` (states persisted in the state dir).
- ``homeassistant``: Home Assistant's registry is the home (floors, areas, exposed entities with their
  aliases and device classes), states follow its event stream, and commands are its service calls
  (``assistant.home.homeassistant``).
- ``mqtt``: the devices described by Home Assistant's MQTT discovery messages on a broker, commands
  published to their command topics, states read from their state topics (``assistant.home.mqtt``).

While a remote home is away, reading or setting a device raises ``HomeUnavailable``, whose message is
what the device says; the skill registry speaks it, and every other skill goes on working.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from assistant.config import ConfigError, HomeConfig
from assistant.intent.home import Home
from assistant.skills.devices import DeviceBackend
from assistant.skills.registry import Unavailable
from assistant.skills.state import StateStore

__all__ = ["HomeAuthError", "HomeLink", "HomeUnavailable", "open_home", "read_secret"]


class HomeUnavailable(Unavailable):
    """The remote home (Home Assistant, the MQTT broker) cannot be reached or did not answer in time."""


class HomeAuthError(ConfigError):
    """The remote home refused the credentials: a configuration error, reported before READY."""


@dataclass(frozen=True)
class HomeLink:
    home: Home
    backend: DeviceBackend
    close: Callable[[], None]
    """stops the connection's thread (a no-op for the local backend)"""
    watch: Callable[[Callable[[Home], None]], None]
    """``watch(callback)``: ``callback(home)`` with each new home, when the remote home changes while the
    device runs (a device added or renamed in Home Assistant, an MQTT device announcing itself); called on
    the connection's thread. The home file is read at start only."""


def _no_close() -> None:
    return None


def _no_watch(callback: Callable[[Home], None]) -> None:
    return None


def read_secret(path: Path, env: str, key: str) -> str:
    """A token or password from ``path`` (or, when the path is empty, the environment variable ``env``).

    The value is never put in an error message or a log line; only where it was looked for is.
    """
    if str(path) not in ("", "."):
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"{key}: cannot read {path}: {e.strerror or e}") from None
        if not value:
            raise ConfigError(f"{key}: {path} is empty")
        return value
    value = os.environ.get(env, "").strip() if env else ""
    if not value:
        raise ConfigError(f"{key}: empty, and {env} is not set" if env else f"{key}: empty")
    return value


def open_home(cfg: HomeConfig, store: StateStore) -> HomeLink:
    """The home and its backend for ``[home] backend``; a remote one is connected and imported here.

    Raises ``ConfigError`` (``HomeAuthError`` for refused credentials) or ``HomeUnavailable`` when the
    remote home cannot be reached and no earlier import of it is saved in the state directory.
    """
    if cfg.backend == "homeassistant":
        from assistant.home.homeassistant import HomeAssistantBackend

        ha = HomeAssistantBackend.connect(cfg.homeassistant, store)
        return HomeLink(ha.home, ha, ha.close, ha.watch)
    if cfg.backend == "mqtt":
        from assistant.home.mqtt import MqttBackend
        from assistant.intent.home import check_area, read_home_table

        # [home] path, if set, describes devices by their mqtt tables, beside the discovered ones
        table = read_home_table(cfg.path) if str(cfg.path) not in ("", ".") else None
        mq = MqttBackend.connect(cfg.mqtt, store, home_file=table)
        try:
            check_area(cfg, mq.home)
        except ConfigError:
            mq.close()
            raise
        return HomeLink(mq.home, mq, mq.close, mq.watch)
    from assistant.intent.home import load_home
    from assistant.skills.devices import LocalBackend

    home = load_home(cfg)
    return HomeLink(home, LocalBackend(home, store), _no_close, _no_watch)
