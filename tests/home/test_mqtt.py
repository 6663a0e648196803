"""The MQTT backend against a real Mosquitto started by the tests, with real MQTT clients (paho) playing
the devices: discovery, commands, states, retained states at start, a broker restart, credentials."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest

from assistant.config import MqttConfig
from assistant.home import HomeAuthError, HomeUnavailable
from assistant.home.homeassistant import UnsupportedCommand
from assistant.home.mqtt import UNREACHABLE, MqttBackend, apply_message, commands, parse_discovery

from .conftest import make_broker

PREFIX = "homeassistant"


class FakeDevice:
    """Not a mock: a real MQTT client on the broker, behaving as a Home Assistant-discoverable device does.

    It announces itself with retained discovery messages, keeps a persistent session (QoS 1: commands
    sent while it is briefly away are delivered when it is back), obeys commands and reports its state.
    """

    def __init__(self, broker, client_id: str = "fake-device", username: str = "", password: str = "") -> None:
        import paho.mqtt.client as mqtt

        self.received: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        if username:
            self.client.username_pw_set(username, password)
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.connected = threading.Event()
        self.client.connect("127.0.0.1", broker.port, keepalive=10)
        self.client.loop_start()
        assert self.connected.wait(5), "fake device could not connect"

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        client.subscribe([("kitchen/light/set", 1), ("kitchen/light/brightness/set", 1), ("hall/lock/set", 1),
                          ("blind/set", 1), ("blind/position/set", 1)])
        self.connected.set()

    def _on_message(self, client, userdata, msg) -> None:
        payload = msg.payload.decode()
        replies = {"kitchen/light/set": "kitchen/light/state", "hall/lock/set": "hall/lock/state",
                   "kitchen/light/brightness/set": "kitchen/light/brightness"}
        if msg.topic in replies:
            state = {"LOCK": "LOCKED", "UNLOCK": "UNLOCKED"}.get(payload, payload)
            client.publish(replies[msg.topic], state, qos=1, retain=True)
        with self.lock:  # recorded after the reply went out, so a test that saw it can rely on the order
            self.received.append((msg.topic, payload))

    def announce(self) -> None:
        device = {"identifiers": ["kitchen-1"], "name": "Kitchen", "suggested_area": "Kitchen"}
        self.publish(f"{PREFIX}/light/kitchen_ceiling/config", {
            "name": "Ceiling Light", "unique_id": "k1", "command_topic": "kitchen/light/set",
            "state_topic": "kitchen/light/state", "brightness_command_topic": "kitchen/light/brightness/set",
            "brightness_state_topic": "kitchen/light/brightness", "device": device})
        self.publish(f"{PREFIX}/lock/hall_door/config", {  # abbreviated keys and a base topic, as devices send
            "name": "Hall Door", "~": "hall/lock", "cmd_t": "~/set", "stat_t": "~/state",
            "dev": {"ids": ["hall-1"], "sa": "Hall"}})
        self.publish(f"{PREFIX}/sensor/kitchen_temp/config", {
            "name": "Kitchen Temperature", "state_topic": "kitchen/climate", "device_class": "temperature",
            "unit_of_measurement": "°C", "value_template": "{{ value_json.temperature }}",
            "device": {"identifiers": ["kitchen-2"], "suggested_area": "Kitchen"}})
        self.publish(f"{PREFIX}/cover/blind/config", {
            "name": "Blind", "command_topic": "blind/set", "set_position_topic": "blind/position/set",
            "position_topic": "blind/position", "device": {"identifiers": ["b"], "suggested_area": "Hall"}})
        self.publish(f"{PREFIX}/camera/cam/config", {"name": "Camera", "topic": "cam/image"})  # not understood
        # retained states, there before the assistant starts
        self.publish("kitchen/light/state", "OFF")
        self.publish("hall/lock/state", "UNLOCKED")
        self.publish("kitchen/climate", json.dumps({"temperature": 21.5, "humidity": 40}))
        self.publish("blind/position", "30")

    def publish(self, topic: str, payload, retain: bool = True) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self.client.publish(topic, text, qos=1, retain=retain).wait_for_publish(5)

    def got(self, topic: str) -> list[str]:
        with self.lock:
            return [p for t, p in self.received if t == topic]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _cfg(broker, **kw) -> MqttConfig:
    return MqttConfig(url=broker.url, **{"discovery_wait_s": 0.5, "reconnect_max_s": 1.0, **kw})


@pytest.fixture
def device(broker):
    pytest.importorskip("paho.mqtt")
    d = FakeDevice(broker)
    d.announce()
    try:
        yield d
    finally:
        d.close()


@pytest.fixture
def backend(broker, device):
    b = MqttBackend.connect(_cfg(broker))
    try:
        yield b
    finally:
        b.close()


def _wait(predicate, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_discovery_builds_the_home_and_retained_states_are_read_at_start(backend):
    home = backend.home
    assert {a.name for a in home.areas} == {"Kitchen", "Hall"}
    names = {d.name: (d.domain, d.area) for d in home.devices}
    assert names == {"Kitchen Ceiling Light": ("light", "Kitchen"), "Hall Door": ("lock", "Hall"),
                     "Kitchen Temperature": ("sensor", "Kitchen"), "Blind": ("cover", "Hall")}
    assert home.device("Kitchen Temperature").unit == "°C"
    assert backend.state(home.device("Hall Door"))["state"] == "unlocked"
    assert backend.state(home.device("Kitchen Ceiling Light"))["state"] == "off"
    assert backend.state(home.device("Kitchen Temperature"))["state"] == "21.5"  # value_json.temperature
    assert backend.state(home.device("Blind"))["position"] == 30


def test_commands_are_published_and_states_follow_the_device(backend, device):
    home = backend.home
    light = home.device("Kitchen Ceiling Light")
    backend.set(light, state="on", brightness=40)
    assert _wait(lambda: device.got("kitchen/light/set") == ["ON"])
    assert _wait(lambda: device.got("kitchen/light/brightness/set") == [str(round(255 * 0.4))])
    assert _wait(lambda: backend.state(light) == {"state": "on", "brightness": 40})
    assert backend.set(home.device("Hall Door"), state="locked")["state"] == "locked"  # optimistic at once
    assert _wait(lambda: device.got("hall/lock/set") == ["LOCK"])
    device.publish("hall/lock/state", "UNLOCKED")  # then the lock reports (jammed, turned by hand)
    assert _wait(lambda: backend.state(home.device("Hall Door"))["state"] == "unlocked")
    backend.set(home.device("Blind"), position=75)
    assert _wait(lambda: device.got("blind/position/set") == ["75"])
    # a state the device reports on its own (someone used the wall switch)
    device.publish("kitchen/light/state", "OFF")
    assert _wait(lambda: backend.state(light)["state"] == "off")


def test_through_the_dialogue(broker, device, tmp_path):
    import asyncio

    from assistant.config import parse_config
    from assistant.dialogue import build_dialogue

    cfg = parse_config({"runtime": {"state_dir": str(tmp_path)},
                        "home": {"backend": "mqtt", "mqtt": {"url": broker.url, "discovery_wait_s": 0.5}}})
    dm = build_dialogue(cfg)
    try:
        turn = asyncio.run(dm.respond("lock the hall door"))
        assert turn.success, turn.text
        assert _wait(lambda: device.got("hall/lock/set") == ["LOCK"])
        assert _wait(lambda: "locked" in asyncio.run(dm.respond("is the hall door locked")).text)
        assert asyncio.run(dm.respond("is the hall door locked")).text.startswith("Yes")
    finally:
        dm.skills.skill_for("HassTurnOn").backend.close()


def test_a_broker_restart_loses_no_acknowledged_command(broker, device):
    b = MqttBackend.connect(_cfg(broker, timeout_s=1.0))
    light = b.home.device("Kitchen Ceiling Light")
    acknowledged, refused = [], []
    try:
        for i in range(1, 61):
            if i == 15:
                broker.stop()
            if i == 25:
                broker.start()
            try:
                b.set(light, state="on", brightness=i)
                acknowledged.append(round(i * 255 / 100))
            except HomeUnavailable as e:
                assert str(e) in (UNREACHABLE, "The MQTT broker did not confirm the command in time.")
                refused.append(i)
            time.sleep(0.05)
        assert refused, "the broker was down: some commands must have been refused"
        assert acknowledged[-1] == round(60 * 255 / 100), "commands work again after the restart"
        assert b.connections >= 2
        got = lambda: {int(p) for p in device.got("kitchen/light/brightness/set")}  # noqa: E731
        assert _wait(lambda: set(acknowledged) <= got(), 15), sorted(set(acknowledged) - got())
    finally:
        b.close()


def test_an_unreachable_broker_is_a_clear_error(tmp_path):
    from .conftest import free_port

    with pytest.raises(HomeUnavailable, match="is not reachable"):
        MqttBackend.connect(MqttConfig(url=f"mqtt://127.0.0.1:{free_port()}", timeout_s=0.5))


def test_credentials(tmp_path, caplog):
    pytest.importorskip("paho.mqtt")
    broker = make_broker(tmp_path, users={"assistant": "s3cret-pass", "device": "dev-pass"})
    broker.start()
    try:
        device = FakeDevice(broker, username="device", password="dev-pass")
        device.announce()
        password_file = tmp_path / "mqtt-password"
        password_file.write_text("s3cret-pass\n")
        caplog.set_level(logging.DEBUG)
        b = MqttBackend.connect(_cfg(broker, username="assistant", password_file=password_file))
        try:
            b.set(b.home.device("Hall Door"), state="locked")
            assert _wait(lambda: device.got("hall/lock/set") == ["LOCK"])
        finally:
            b.close()
        assert all("s3cret-pass" not in r.getMessage() for r in caplog.records)
        password_file.write_text("wrong\n")
        with pytest.raises(HomeAuthError, match="refused the login"):
            MqttBackend.connect(_cfg(broker, username="assistant", password_file=password_file))
        device.close()
    finally:
        broker.stop()


# ------------------------------------------------------------------------------------------ pure parts


def test_discovery_parsing():
    e = parse_discovery("homeassistant/switch/node1/plug/config",
                        b'{"~": "p/1", "cmd_t": "~/set", "stat_t": "~/st", "pl_on": "1", "pl_off": "0",'
                        b' "name": "Plug", "dev": {"name": "Desk", "sa": "Office"}}', "homeassistant")
    assert (e.component, e.object_id, e.name, e.area) == ("switch", "plug", "Desk Plug", "Office")
    assert e.get("command_topic") == "p/1/set" and e.state_topics == ["p/1/st"]
    assert commands(e, {"state": "on"}) == [("p/1/set", "1")]
    st: dict = {}
    apply_message(e, "p/1/st", "0", st)
    assert st == {"state": "off"}
    assert parse_discovery("homeassistant/switch/plug/config", b"", "homeassistant") is None  # removed
    assert parse_discovery("homeassistant/switch/plug/config", b"{not json", "homeassistant") is None
    assert parse_discovery("other/switch/plug/config", b"{}", "homeassistant") is None
    assert parse_discovery("homeassistant/switch/plug/config", b'{"name": "x"}', "homeassistant") is None


def test_json_schema_light_and_refusals():
    e = parse_discovery("homeassistant/light/l/config",
                        b'{"name": "L", "schema": "json", "command_topic": "l/set", "state_topic": "l/state"}',
                        "homeassistant")
    ((topic, payload),) = commands(e, {"state": "on", "brightness": 50, "color": "red"})
    assert topic == "l/set"
    assert json.loads(payload) == {"state": "ON", "brightness": 128, "color": {"r": 255, "g": 0, "b": 0}}
    st: dict = {}
    apply_message(e, "l/state", '{"state": "ON", "brightness": 255}', st)
    assert st == {"state": "on", "brightness": 100}
    with pytest.raises(UnsupportedCommand):
        commands(e, {"state": "locked"})
    cover = parse_discovery("homeassistant/cover/c/config", b'{"name": "C", "command_topic": "c/set"}',
                            "homeassistant")
    assert commands(cover, {"state": "open", "position": 100}) == [("c/set", "OPEN")]  # as the skill sends it
    assert commands(cover, {"state": "closed", "position": 0}) == [("c/set", "CLOSE")]
    with pytest.raises(UnsupportedCommand, match="set_position_topic"):
        commands(cover, {"state": "open", "position": 40})


def test_mqtts_with_the_broker_certificate_checked(tmp_path, broker):
    """TLS: the broker's certificate is checked against ca_file (a CA made here with openssl)."""
    import shutil
    import subprocess

    from .conftest import free_port

    if not shutil.which("openssl"):
        pytest.skip("openssl makes the test CA")
    pytest.importorskip("paho.mqtt")

    def ssl_cmd(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=tmp_path)

    ssl_cmd("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=test CA")
    ssl_cmd("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1")
    (tmp_path / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    ssl_cmd("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    tls_port = free_port()
    conf = broker.config_dir / "mosquitto.conf"
    conf.write_text(conf.read_text() + f"listener {tls_port} 127.0.0.1\ncafile {tmp_path}/ca.crt\n"
                    f"certfile {tmp_path}/server.crt\nkeyfile {tmp_path}/server.key\n")
    (tmp_path / "server.key").chmod(0o644)
    broker.stop()
    broker.start()
    device = FakeDevice(broker)
    device.announce()
    try:
        b = MqttBackend.connect(MqttConfig(url=f"mqtts://127.0.0.1:{tls_port}", ca_file=tmp_path / "ca.crt",
                                           discovery_wait_s=0.5))
        try:
            b.set(b.home.device("Hall Door"), state="locked")
            assert _wait(lambda: device.got("hall/lock/set") == ["LOCK"])
        finally:
            b.close()
        # a broker whose certificate the CA did not sign is refused
        ssl_cmd("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "o.key", "-out", "other-ca.crt",
                "-days", "2", "-subj", "/CN=other CA")
        with pytest.raises(HomeAuthError, match="ca_file: the certificate of the broker .* is not trusted"):
            MqttBackend.connect(MqttConfig(url=f"mqtts://127.0.0.1:{tls_port}", ca_file=tmp_path / "other-ca.crt",
                                           discovery_wait_s=0.5, timeout_s=1.0))
    finally:
        device.close()


HOME_FILE = """
[[area]]
name = "Office"

[[area]]
name = "Kitchen"

[[device]]
name = "Desk Lamp"
domain = "light"
area = "Office"
mqtt = { command_topic = "office/desk/set", state_topic = "office/desk/state" }

[[device]]
name = "Kitchen Ceiling Light"
domain = "light"
area = "Kitchen"
aliases = ["big light"]
mqtt = { "~" = "kitchen/light", cmd_t = "~/set", stat_t = "~/state", payload_on = "ON", payload_off = "OFF" }
"""


def test_devices_from_the_home_file_beside_discovered_ones(broker, device, tmp_path):
    """A device that does not announce itself is described in the home file by its topics; one the home
    file also describes (same name and topics) is the home file's, with its aliases; the rest come from
    discovery. Commands and states go through the same broker."""
    import asyncio

    import paho.mqtt.client as mqtt

    from assistant.config import parse_config
    from assistant.dialogue import build_dialogue

    lamp_commands: list[str] = []
    lamp = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="desk-lamp")
    lamp.on_connect = lambda c, *_: c.subscribe("office/desk/set", 1)
    lamp.on_message = lambda c, u, m: (lamp_commands.append(m.payload.decode()),
                                       c.publish("office/desk/state", m.payload.decode(), qos=1, retain=True))
    lamp.connect("127.0.0.1", broker.port)
    lamp.loop_start()
    lamp.publish("office/desk/state", "OFF", qos=1, retain=True).wait_for_publish(5)
    home = tmp_path / "home.toml"
    home.write_text(HOME_FILE)
    cfg = parse_config({"runtime": {"state_dir": str(tmp_path / "state")},
                        "home": {"backend": "mqtt", "path": str(home), "area": "Office",
                                 "mqtt": {"url": broker.url, "discovery_wait_s": 0.5}}})
    dm = build_dialogue(cfg)
    backend = dm.skills.skill_for("HassTurnOn").backend
    try:
        names = {d.name for d in backend.home.devices}
        assert {"Desk Lamp", "Kitchen Ceiling Light", "Hall Door", "Blind", "Kitchen Temperature"} <= names
        assert len([d for d in backend.home.devices if d.name.startswith("Kitchen Ceiling Light")]) == 1
        assert backend.state(backend.home.device("Desk Lamp"))["state"] == "off"  # its retained state
        assert asyncio.run(dm.respond("turn on the desk lamp")).success
        assert _wait(lambda: lamp_commands == ["ON"])
        assert _wait(lambda: backend.state(backend.home.device("Desk Lamp"))["state"] == "on")
        assert asyncio.run(dm.respond("turn on the big light")).success  # the home file's alias
        assert _wait(lambda: device.got("kitchen/light/set") == ["ON"])
        assert asyncio.run(dm.respond("lock the hall door")).success  # a discovered device
        assert _wait(lambda: device.got("hall/lock/set") == ["LOCK"])
    finally:
        backend.close()
        lamp.loop_stop()
        lamp.disconnect()


@pytest.mark.parametrize(("device_toml", "message"), [
    ('name = "Desk Lamp"\ndomain = "light"', "needs an mqtt table"),
    ('name = "Desk Lamp"\ndomain = "light"\nmqtt = { state_topic = "x" }', "home.device[0].mqtt: has no command_topic"),
    ('name = "Radio"\ndomain = "media_player"\nmqtt = { command_topic = "x" }',
     "home.device[0].domain: an MQTT device"),
    ('name = "Desk Lamp"\ndomain = "light"\nmqtt = "office/desk"', "home.device[0].mqtt: must be a table"),
    ('name = "Desk Lamp"\ndomain = "light"\ncolour = "red"\nmqtt = { command_topic = "x" }', "unknown key"),
])
def test_a_bad_home_file_is_a_clear_error_before_connecting(tmp_path, device_toml, message):
    from assistant.config import ConfigError
    from assistant.home import open_home
    from assistant.skills import StateStore

    home = tmp_path / "home.toml"
    home.write_text(f"[[device]]\n{device_toml}\n")
    cfg = MqttConfig(url="mqtt://127.0.0.1:9", timeout_s=0.5)  # nothing listens: the file fails first
    from assistant.config import HomeConfig

    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        open_home(HomeConfig(path=home, backend="mqtt", mqtt=cfg), StateStore(tmp_path / "state"))


def test_a_device_that_announces_itself_later_is_known_at_once(broker, device, tmp_path):
    """A discovery message after the start makes the home again: the new device is understood and its
    retained state read, without a restart; a removal (an empty config) takes it away again."""
    import asyncio

    from assistant.config import parse_config
    from assistant.dialogue import build_dialogue

    cfg = parse_config({"runtime": {"state_dir": str(tmp_path)},
                        "home": {"backend": "mqtt", "mqtt": {"url": broker.url, "discovery_wait_s": 0.5}}})
    dm = build_dialogue(cfg)
    backend = dm.skills.skill_for("HassTurnOn").backend
    try:
        assert not asyncio.run(dm.respond("is the porch light on")).success
        device.publish("porch/light/state", "ON")
        device.publish(f"{PREFIX}/switch/porch/config", {
            "name": "Porch Light", "command_topic": "porch/light/set", "state_topic": "porch/light/state",
            "device": {"identifiers": ["porch-1"], "suggested_area": "Porch"}})
        assert _wait(lambda: dm.parser.home.device("Porch Light") is not None, 10)
        assert _wait(lambda: backend.state(backend.home.device("Porch Light"))["state"] == "on")
        assert asyncio.run(dm.respond("is the porch light on")).text.startswith("Yes")
        device.client.publish(f"{PREFIX}/switch/porch/config", b"", qos=1, retain=True).wait_for_publish(5)
        assert _wait(lambda: dm.parser.home.device("Porch Light") is None, 10)
    finally:
        backend.close()


def test_the_whole_device_follows_the_home(broker, device, tmp_path):
    """Through the composition root: a new device reaches the parser and the recogniser (its LM and
    hotwords) of a running device."""
    from assistant.app import load_stages
    from assistant.config import parse_config

    cfg = parse_config({"runtime": {"state_dir": str(tmp_path)},
                        "home": {"backend": "mqtt", "mqtt": {"url": broker.url, "discovery_wait_s": 0.5}}})
    stages = load_stages(cfg)
    try:
        first_pass = stages.recognizer.transducer
        device.publish(f"{PREFIX}/switch/porch/config", {
            "name": "Porch Light", "command_topic": "porch/light/set", "state_topic": "porch/light/state"})
        assert _wait(lambda: stages.recognizer.transducer is not first_pass, 30)
        assert stages.dialogue.parser.home.device("Porch Light") is not None
        assert stages.recognizer.transducer.encoder is first_pass.encoder
    finally:
        stages.dialogue.skills.skill_for("HassTurnOn").backend.close()
