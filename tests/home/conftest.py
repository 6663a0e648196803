"""A real Home Assistant and a real Mosquitto, started by the tests on free loopback ports.

Home Assistant 2024.3.3 runs from its own virtual environment (tools/ha/setup_venv.sh builds it, .ci/run
calls that); its ``demo`` integration provides real lights, covers, climates, fans, locks, media players
and vacuums. The fixture onboards it (the first user), asks for a long-lived access token the way a user
would in their profile, puts some entities in areas with aliases (the demo leaves every entity without
an area), and stops it at the end. Mosquitto is Debian's (tools/system_deps.sh). Without either the tests
that need it skip, saying what is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HA_VERSION = "2024.3.3"
HA_VENV = Path(os.environ.get("ASSISTANT_HA_VENV", Path.home() / ".cache" / "assistant-test" / "ha-venv"))
MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else "")
START_TIMEOUT_S = 180.0
CUSTOM_COMPONENTS = Path(__file__).parent / "ha_custom_components"

# What the tests give areas and aliases to (entity id -> (area id, aliases)); areas are the demo's own.
AREAS = {
    "light.kitchen_lights": ("kitchen", ["cooker light"]),
    "light.bed_light": ("bedroom", []),
    "light.ceiling_lights": ("living_room", []),
    "cover.kitchen_window": ("kitchen", []),
    "cover.living_room_window": ("living_room", ["big window"]),
    "climate.ecobee": ("living_room", ["thermostat"]),
    "fan.living_room_fan": ("living_room", []),
    "switch.decorative_lights": ("living_room", []),
    "sensor.outside_temperature": ("living_room", []),
}
CONFIGURATION = """\
demo:
http:
  server_host: 127.0.0.1
  server_port: {port}
logger:
  default: warning
assist_pipeline:
config:
media_source:
satellite_stt:
script:
  slow:
    sequence:
      - delay: 4
conversation:
  intents:
    PartyTime:
      - "it is party time"
intent_script:
  PartyTime:
    speech:
      text: "Let's party"
    action:
      - service: switch.turn_on
        target:
          entity_id: switch.decorative_lights
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(url: str, data: dict[str, Any] | None = None, token: str = "", form: bool = False,
          method: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = None
    if data is not None:
        if form:
            body = "&".join(f"{k}={v}" for k, v in data.items()).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, body, headers, method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


@dataclass
class HomeAssistantServer:
    config_dir: Path
    port: int
    token: str = ""
    process: subprocess.Popen | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.config_dir / "hass.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start Home Assistant and wait until its HTTP API answers (offline: --skip-pip)."""
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(HA_VENV / "bin" / "hass"), "-c", str(self.config_dir), "--skip-pip"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Home Assistant exited ({self.process.returncode}); see {self.log}")
            try:
                _http(f"{self.url}/api/onboarding")
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"Home Assistant did not answer in {START_TIMEOUT_S:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ensure_running(self) -> None:
        if not self.running:
            self.start()
            self.wait_for_entity("light.kitchen_lights")

    def states(self) -> dict[str, dict[str, Any]]:
        return {s["entity_id"]: s for s in _http(f"{self.url}/api/states", token=self.token)}

    def state(self, entity_id: str) -> dict[str, Any]:
        return _http(f"{self.url}/api/states/{entity_id}", token=self.token)

    def call(self, domain: str, service: str, **data: Any) -> None:
        _http(f"{self.url}/api/services/{domain}/{service}", data, token=self.token)

    def wait_for_entity(self, entity_id: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                self.state(entity_id)
                return
            time.sleep(0.3)
        raise RuntimeError(f"{entity_id} did not appear in {timeout_s} s")

    def wait_for_state(self, entity_id: str, expected: str, timeout_s: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        st = self.state(entity_id)
        while st["state"] != expected and time.monotonic() < deadline:
            time.sleep(0.1)
            st = self.state(entity_id)
        return st

    def websocket(self, *messages: dict[str, Any]) -> list[Any]:
        """Send admin commands over the WebSocket API; the results, in order (an error raises)."""
        from websockets.asyncio.client import connect

        async def run() -> list[Any]:
            async with connect(f"ws://127.0.0.1:{self.port}/api/websocket") as ws:
                await ws.recv()
                await ws.send(json.dumps({"type": "auth", "access_token": self.token}))
                assert json.loads(await ws.recv())["type"] == "auth_ok"
                out = []
                for i, m in enumerate(messages, 1):
                    await ws.send(json.dumps({**m, "id": i}))
                    while True:
                        r = json.loads(await ws.recv())
                        if r.get("id") == i:
                            break
                    if not r.get("success"):
                        raise RuntimeError(f"{m['type']}: {r.get('error')}")
                    out.append(r.get("result"))
                return out

        return asyncio.run(run())


def _onboard(ha: HomeAssistantServer) -> None:
    client = f"{ha.url}/"
    user = _http(f"{ha.url}/api/onboarding/users",
                 {"client_id": client, "name": "Test", "username": "test", "password": "test-password-1",
                  "language": "en"})
    tokens = _http(f"{ha.url}/auth/token",
                   {"grant_type": "authorization_code", "code": user["auth_code"], "client_id": client}, form=True)
    ha.token = tokens["access_token"]
    (long_lived,) = ha.websocket({"type": "auth/long_lived_access_token", "client_name": "assistant tests",
                                  "lifespan": 30})
    ha.token = long_lived


@pytest.fixture(scope="session")
def home_assistant(tmp_path_factory) -> Iterator[HomeAssistantServer]:
    if not (HA_VENV / f".installed-{HA_VERSION}").exists():
        pytest.skip(f"no Home Assistant {HA_VERSION} venv at {HA_VENV} (build it with tools/ha/setup_venv.sh)")
    pytest.importorskip("websockets")
    config_dir = tmp_path_factory.mktemp("homeassistant")
    ha = HomeAssistantServer(config_dir, free_port())
    (config_dir / "configuration.yaml").write_text(CONFIGURATION.format(port=ha.port))
    # the satellite tests' speech-to-text (the demo's accepts only stereo; a satellite's audio is mono)
    shutil.copytree(CUSTOM_COMPONENTS, config_dir / "custom_components")
    started = time.monotonic()
    ha.start()
    try:
        _onboard(ha)
        ha.wait_for_entity("light.kitchen_lights")
        ha.wait_for_entity("lock.front_door")
        ha.websocket(*[
            {"type": "config/entity_registry/update", "entity_id": e, "area_id": area, "aliases": aliases}
            for e, (area, aliases) in AREAS.items()
        ])
        ha.startup_s = time.monotonic() - started  # type: ignore[attr-defined]
        yield ha
    finally:
        ha.stop()


# ------------------------------------------------------------------------------------------- Mosquitto


@dataclass
class Broker:
    config_dir: Path
    port: int
    process: subprocess.Popen | None = None
    password_file: Path | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.config_dir / "mosquitto.log", "ab")  # noqa: SIM115 - kept open by the child
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config_dir / "mosquitto.conf")],
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not start; see {self.config_dir / 'mosquitto.log'}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def make_broker(directory: Path, users: dict[str, str] | None = None) -> Broker:
    """A mosquitto on a free loopback port, with persistence (retained messages survive a restart) and,
    with ``users``, a password file (no anonymous access)."""
    if not MOSQUITTO:
        pytest.skip("no mosquitto (Debian's mosquitto package: tools/system_deps.sh)")
    broker = Broker(directory, free_port())
    lines = [f"listener {broker.port} 127.0.0.1", f"user {getpass.getuser()}", "persistence true",
             f"persistence_location {directory}/",
             "autosave_interval 1"]
    if users:
        pw = directory / "passwords"
        pw.write_text("")
        for user, password in users.items():
            subprocess.run(["mosquitto_passwd", "-b", str(pw), user, password], check=True,
                           capture_output=True)
        pw.chmod(0o600)
        lines += ["allow_anonymous false", f"password_file {pw}"]
    else:
        lines += ["allow_anonymous true"]
    (directory / "mosquitto.conf").write_text("\n".join(lines) + "\n")
    return broker


@pytest.fixture
def broker(tmp_path) -> Iterator[Broker]:
    b = make_broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()
