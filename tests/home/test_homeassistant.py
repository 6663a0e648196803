"""The Home Assistant backend against a real Home Assistant 2024.3.3 (its demo integration), started by
the session fixture in conftest.py; and the pure parts (import, service mapping) on their own."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.config import ConfigError, HomeAssistantConfig, parse_config
from assistant.home import HomeAuthError, HomeUnavailable, read_secret
from assistant.home.homeassistant import (
    TOO_SLOW,
    UNREACHABLE,
    HaRegistry,
    HomeAssistantBackend,
    ServiceCall,
    UnsupportedCommand,
    import_home,
    service_calls,
    skill_state,
    websocket_url,
)
from assistant.intent.home import parse_home
from assistant.skills.state import StateStore

REPO = Path(__file__).resolve().parents[2]


def _cfg(ha, **kw) -> HomeAssistantConfig:
    return HomeAssistantConfig(url=ha.url, **{"reconnect_max_s": 1.0, **kw})


@pytest.fixture
def backend(home_assistant, tmp_path):
    b = HomeAssistantBackend.connect(_cfg(home_assistant), StateStore(tmp_path), token=home_assistant.token)
    try:
        yield b
    finally:
        b.close()


_OPENED = []


@pytest.fixture(autouse=True)
def _close_dialogues():
    yield
    while _OPENED:
        _OPENED.pop().skills.skill_for("HassTurnOn").backend.close()


def _dialogue(ha, tmp_path, token: str | None = None):
    from assistant.dialogue import build_dialogue

    token_file = tmp_path / "ha-token"
    token_file.write_text((token or ha.token) + "\n")
    cfg = parse_config({
        "runtime": {"state_dir": str(tmp_path / "state")},
        "home": {"backend": "homeassistant",
                 "homeassistant": {"url": ha.url, "token_file": str(token_file), "reconnect_max_s": 1.0}},
    })
    dm = build_dialogue(cfg)
    _OPENED.append(dm)
    return dm


def _say(dm, text):
    return asyncio.run(dm.respond(text))


# ------------------------------------------------------------------------------------- the real thing


def test_import_reads_areas_aliases_and_only_exposed_entities(backend, home_assistant):
    home = backend.home
    assert {a.name for a in home.areas} >= {"Living Room", "Kitchen", "Bedroom"}
    kitchen = home.device("Kitchen Lights")
    assert (kitchen.area, kitchen.domain, kitchen.aliases) == ("Kitchen", "light", ("cooker light",))
    assert home.device("Ecobee").aliases == ("thermostat",)
    assert home.device("Outside Temperature").unit == "°C"
    assert home.device("Outside Temperature").device_class == "temperature"
    ids = backend.imported.entity_ids
    assert ids["Kitchen Lights"] == "light.kitchen_lights"
    # the demo's energy sensors and media players are not exposed to Assist: not imported
    assert "sensor.power_consumption" not in ids.values()
    assert "media_player.living_room" not in ids.values()
    # entities without an area are devices too (the demo's locks and vacuums have none)
    assert (home.device("Front Door").domain, home.device("Front Door").area) == ("lock", "")
    assert home.device("0_Ground_floor").domain == "vacuum"
    # and the home is one the parser reads like a file
    assert parse_home(backend.imported.table).device("Kitchen Lights") == kitchen


def test_turn_on_through_the_dialogue_changes_the_real_light(home_assistant, tmp_path):
    ha = home_assistant
    ha.ensure_running()
    ha.call("light", "turn_on", entity_id="light.kitchen_lights")
    dm = _dialogue(ha, tmp_path)
    turn = _say(dm, "turn off the kitchen lights")
    assert turn.success, turn.text
    assert ha.wait_for_state("light.kitchen_lights", "off")["state"] == "off"
    turn = _say(dm, "turn on the cooker light")  # an alias set in Home Assistant
    assert turn.success, turn.text
    assert ha.wait_for_state("light.kitchen_lights", "on")["state"] == "on"
    turn = _say(dm, "set the kitchen lights to 40 percent")
    assert turn.success, turn.text
    assert ha.state("light.kitchen_lights")["attributes"]["brightness"] == round(255 * 0.4)
    turn = _say(dm, "make the kitchen lights red")
    assert turn.success, turn.text
    assert tuple(ha.state("light.kitchen_lights")["attributes"]["rgb_color"]) == (255, 0, 0)


def test_a_lock_and_a_cover_through_the_dialogue(home_assistant, tmp_path):
    ha = home_assistant
    ha.ensure_running()
    ha.call("lock", "lock", entity_id="lock.front_door")
    dm = _dialogue(ha, tmp_path)
    turn = _say(dm, "unlock the front door")
    assert turn.success, turn.text
    assert ha.wait_for_state("lock.front_door", "unlocked")["state"] == "unlocked"
    assert _eventually(lambda: "unlocked" in _say(dm, "is the front door locked").text)
    turn = _say(dm, "open the kitchen window")
    assert turn.success, turn.text
    assert ha.wait_for_state("cover.kitchen_window", "open", timeout_s=20)["state"] in ("opening", "open")


def test_climate_and_positions_through_the_dialogue(home_assistant, tmp_path):
    ha = home_assistant
    ha.ensure_running()
    dm = _dialogue(ha, tmp_path)
    turn = _say(dm, "set the heatpump to 22 degrees")
    assert turn.success, turn.text
    assert ha.state("climate.heatpump")["attributes"]["temperature"] == 22
    turn = _say(dm, "set the big window to 40 percent")  # an alias of the living room window
    assert turn.success, turn.text
    deadline = time.monotonic() + 20  # the demo's cover moves 10 % a second
    while ha.state("cover.living_room_window")["attributes"]["current_position"] != 40:
        assert time.monotonic() < deadline, ha.state("cover.living_room_window")
        time.sleep(0.2)


def test_a_state_question_reads_the_real_state(home_assistant, tmp_path):
    ha = home_assistant
    ha.ensure_running()
    dm = _dialogue(ha, tmp_path)
    ha.call("light", "turn_off", entity_id="light.bed_light")
    assert _eventually(lambda: _say(dm, "is the bed light on").text.startswith("No"))
    ha.call("light", "turn_on", entity_id="light.bed_light", brightness_pct=60)
    assert _eventually(lambda: _say(dm, "is the bed light on").text.startswith("Yes"))
    assert "60 percent" in _say(dm, "is the bed light on").text


def _eventually(predicate, timeout_s: float = 5.0) -> bool:
    """The state_changed event reaches the backend a moment after the REST call returns."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize(
    ("entity_id", "domain", "attributes", "expect"),
    [
        ("cover.kitchen_window", "cover", {"state": "open"}, ("state", "opening", "open")),
        ("lock.front_door", "lock", {"state": "unlocked"}, ("state", "unlocked")),
        ("lock.front_door", "lock", {"state": "locked"}, ("state", "locked")),
        ("climate.heatpump", "climate", {"temperature": 23}, ("temperature", 23)),
        ("climate.hvac", "climate", {"hvac_mode": "heat"}, ("state", "heat")),
        ("fan.living_room_fan", "fan", {"percentage": 66}, ("percentage", 66)),
        ("media_player.living_room", "media_player", {"state": "paused"}, ("state", "paused")),
        ("media_player.living_room", "media_player", {"volume_level": 30}, ("volume_level", 0.3)),
        ("vacuum.0_ground_floor", "vacuum", {"state": "cleaning"}, ("state", "cleaning")),
        ("switch.ac", "switch", {"state": "on"}, ("state", "on")),
    ],
)
def test_service_calls_on_real_entities(backend, home_assistant, entity_id, domain, attributes, expect):
    backend.set_entity(entity_id, domain, **attributes)
    key, *values = expect
    st = home_assistant.state(entity_id)
    got = st["state"] if key == "state" else st["attributes"].get(key)
    assert got in values, st


def test_a_wrong_token_is_a_clear_error_before_ready(home_assistant, tmp_path):
    home_assistant.ensure_running()
    with pytest.raises(HomeAuthError, match="refused the access token"):
        HomeAssistantBackend.connect(_cfg(home_assistant), token="not-a-token")
    # the whole device: `assistant chat` exits 1 with the reason, before reading a line
    token_file = tmp_path / "token"
    token_file.write_text("wrong-token-0123456789")
    config = tmp_path / "assistant.toml"
    config.write_text(
        f'[runtime]\nstate_dir = "{tmp_path / "state"}"\n'
        f'[home]\nbackend = "homeassistant"\n'
        f'[home.homeassistant]\nurl = "{home_assistant.url}"\ntoken_file = "{token_file}"\n'
    )
    run = subprocess.run([sys.executable, "-m", "assistant", "-vv", "chat", "--config", str(config)],
                         input="what time is it\n", capture_output=True, text=True, cwd=REPO, timeout=60)
    assert run.returncode == 1, run.stderr
    assert "refused the access token" in run.stderr
    assert "wrong-token-0123456789" not in run.stderr + run.stdout
    assert run.stdout == ""


def test_the_token_is_never_logged(home_assistant, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    b = HomeAssistantBackend.connect(_cfg(home_assistant), token=home_assistant.token)
    try:
        b.set_entity("switch.ac", "switch", state="off")
    finally:
        b.close()
    assert caplog.records, "expected some log lines at DEBUG"
    assert all(home_assistant.token not in r.getMessage() for r in caplog.records)
    assert home_assistant.token not in repr(b)


def test_home_assistant_stopped_mid_conversation_then_back(home_assistant, tmp_path):
    ha = home_assistant
    ha.ensure_running()
    dm = _dialogue(ha, tmp_path)
    assert _say(dm, "turn on the bed light").success
    ha.stop()
    try:
        turn = _say(dm, "turn off the bed light")
        assert (turn.text, turn.success) == (UNREACHABLE, False)
        turn = _say(dm, "is the kitchen window open")
        assert (turn.text, turn.success) == (UNREACHABLE, False)
        # the rest of the device goes on: timers and the clock need no Home Assistant
        assert _say(dm, "set a timer for 5 minutes").success
        assert _say(dm, "what time is it").success
    finally:
        ha.start()
    ha.wait_for_entity("light.bed_light")
    deadline = time.monotonic() + 30
    turn = _say(dm, "turn off the bed light")
    while not turn.success and time.monotonic() < deadline:
        time.sleep(0.5)
        turn = _say(dm, "turn off the bed light")
    assert turn.success, turn.text
    assert ha.wait_for_state("light.bed_light", "off")["state"] == "off"


def test_a_restart_while_home_assistant_is_away_uses_the_saved_home(home_assistant, tmp_path):
    ha = home_assistant
    ha.ensure_running()
    store = StateStore(tmp_path)
    HomeAssistantBackend.connect(_cfg(ha), store, token=ha.token).close()
    ha.stop()
    try:
        b = HomeAssistantBackend.connect(_cfg(ha, timeout_s=0.5), store, token=ha.token)
        try:
            assert b.home.device("Kitchen Lights") is not None and not b.connected
            with pytest.raises(HomeUnavailable, match=UNREACHABLE):
                b.set(b.home.device("Kitchen Lights"), state="on")
        finally:
            b.close()
        with pytest.raises(HomeUnavailable, match="is not reachable"):  # nothing saved: a start error
            HomeAssistantBackend.connect(_cfg(ha, timeout_s=0.5), StateStore(tmp_path / "empty"), token=ha.token)
    finally:
        ha.ensure_running()


def test_a_slow_home_assistant_is_a_spoken_apology(backend):
    started = time.monotonic()
    with pytest.raises(HomeUnavailable, match=TOO_SLOW):  # script.slow runs for 4 s; the timeout is 3 s
        backend.call("", [ServiceCall("script", "slow")])
    assert time.monotonic() - started < 3.5
    backend.set_entity("switch.ac", "switch", state="on")  # the connection is still good


# ------------------------------------------------------------------------------------------ pure parts


def _synthetic(n_entities: int, n_areas: int = 50) -> HaRegistry:
    floors = [{"floor_id": f"f{i}", "name": f"Floor {i}", "aliases": [f"level {i}"]} for i in range(3)]
    areas = [{"area_id": f"a{i}", "name": f"Room {i}", "aliases": [], "floor_id": f"f{i % 3}"}
             for i in range(n_areas)]
    devices = [{"id": f"d{i}", "area_id": f"a{i % n_areas}"} for i in range(n_entities // 2)]
    domains = ["light", "switch", "cover", "sensor", "lock", "fan"]
    entities, states = {}, []
    for i in range(n_entities):
        eid = f"{domains[i % len(domains)]}.thing_{i}"
        entities[eid] = {"entity_id": eid, "device_id": f"d{i // 2}", "area_id": None,
                         "aliases": [f"alias {i}"], "device_class": None, "original_device_class": None,
                         "options": {"conversation": {"should_expose": True}}}
        states.append({"entity_id": eid, "state": "on", "attributes": {"friendly_name": f"Thing {i}"}})
    return HaRegistry(floors, areas, devices, entities, states, None)


def test_importing_1000_entities_takes_under_a_second():
    reg = _synthetic(1000)
    started = time.perf_counter()
    imported = import_home(reg)
    home = parse_home(imported.table)
    elapsed = time.perf_counter() - started
    assert len(home.devices) == 1000 and len(home.areas) == 50 and len(home.floors) == 3
    assert home.area("Room 4").floor == "Floor 1"
    assert home.device("Thing 7").aliases == ("alias 7",)
    assert elapsed < 1.0, f"{elapsed:.3f} s"


def test_import_names_collisions_exposure_and_unknown_domains():
    reg = HaRegistry(
        areas=[{"area_id": "k", "name": "Kitchen"}, {"area_id": "b", "name": "Bedroom"}],
        entities={
            "light.a": {"area_id": "k", "aliases": ["lamp", "Lamp"]},
            "light.b": {"area_id": "b", "aliases": ["lamp"]},
            "light.hidden": {"area_id": "k"},
        },
        states=[
            {"entity_id": "light.a", "state": "on", "attributes": {"friendly_name": "Ceiling"}},
            {"entity_id": "light.b", "state": "off", "attributes": {"friendly_name": "Ceiling"}},
            {"entity_id": "light.hidden", "state": "off", "attributes": {"friendly_name": "Hidden"}},
            {"entity_id": "calendar.x", "state": "off", "attributes": {"friendly_name": "Calendar"}},
        ],
        exposed=frozenset({"light.a", "light.b", "calendar.x"}),
    )
    imported = import_home(reg)
    names = {d["name"]: d for d in imported.table["device"]}
    assert set(names) == {"Ceiling", "Ceiling Bedroom"}  # the second one gets its area
    assert names["Ceiling"]["aliases"] == ["lamp"] and "aliases" not in names["Ceiling Bedroom"]
    assert imported.entity_ids == {"Ceiling": "light.a", "Ceiling Bedroom": "light.b"}
    assert "calendar.x" in imported.skipped
    parse_home(imported.table)


@pytest.mark.parametrize(
    ("domain", "attributes", "calls"),
    [
        ("light", {"state": "on", "brightness": 40}, [("turn_on", {"brightness_pct": 40})]),
        ("light", {"state": "off", "brightness": 0}, [("turn_off", {})]),
        ("light", {"color": "red", "state": "on"}, [("turn_on", {"color_name": "red"})]),
        ("cover", {"state": "open"}, [("open_cover", {})]),
        ("cover", {"position": 30, "state": "open"}, [("set_cover_position", {"position": 30})]),
        ("lock", {"state": "locked"}, [("lock", {})]),
        ("climate", {"temperature": 21.5}, [("set_temperature", {"temperature": 21.5})]),
        ("fan", {"state": "on", "percentage": 50}, [("set_percentage", {"percentage": 50})]),
        ("media_player", {"volume_level": 25}, [("volume_set", {"volume_level": 0.25})]),
        ("media_player", {"state": "playing", "media_title": "jazz", "media_class": ""},
         [("play_media", {"media_content_id": "jazz", "media_content_type": "music"})]),
        ("cover", {"state": "open", "position": 100}, [("open_cover", {})]),
        ("cover", {"state": "open", "position": 40}, [("set_cover_position", {"position": 40})]),
        ("light", {"temperature": 2700, "state": "on"}, [("turn_on", {"color_temp_kelvin": 2700})]),
        ("script", {"state": "running"}, [("turn_on", {})]),
        ("vacuum", {"state": "returning"}, [("return_to_base", {})]),
        ("vacuum", {"state": "docked"}, [("return_to_base", {})]),
        ("scene", {"state": "on"}, [("turn_on", {})]),
        ("script", {"state": "on"}, [("turn_on", {})]),
        ("todo", {"item": "milk"}, [("add_item", {"item": "milk"})]),
    ],
)
def test_service_mapping(domain, attributes, calls):
    assert [(c.service, c.data) for c in service_calls(domain, attributes)] == calls


def test_service_mapping_refuses_what_it_cannot_do():
    with pytest.raises(UnsupportedCommand, match="locked"):
        service_calls("light", {"state": "locked"})
    with pytest.raises(UnsupportedCommand, match="position"):
        service_calls("lock", {"position": 3})


def test_skill_state_converts_brightness_and_position():
    st = skill_state("light", {"state": "on", "attributes": {"brightness": 102, "friendly_name": "x"}})
    assert (st["state"], st["brightness"]) == ("on", 40) and "friendly_name" not in st
    assert skill_state("light", {"state": "off", "attributes": {}})["brightness"] == 0
    assert skill_state("cover", {"state": "open", "attributes": {"current_position": 70}})["position"] == 70


def test_urls_and_secrets(tmp_path, monkeypatch):
    assert websocket_url("http://h:8123/") == "ws://h:8123/api/websocket"
    assert websocket_url("https://h") == "wss://h/api/websocket"
    with pytest.raises(ConfigError, match="must start with http"):
        parse_config({"home": {"homeassistant": {"url": "ws://h"}}})
    with pytest.raises(ConfigError, match="home.backend"):
        parse_config({"home": {"backend": "zigbee"}})
    monkeypatch.delenv("ASSISTANT_HA_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="ASSISTANT_HA_TOKEN is not set"):
        read_secret(Path(""), "ASSISTANT_HA_TOKEN", "home.homeassistant.token_file")
    monkeypatch.setenv("ASSISTANT_HA_TOKEN", " abc \n")
    assert read_secret(Path(""), "ASSISTANT_HA_TOKEN", "k") == "abc"
    (tmp_path / "t").write_text("secret-value\n")
    assert read_secret(tmp_path / "t", "", "k") == "secret-value"
    with pytest.raises(ConfigError) as e:
        read_secret(tmp_path / "missing", "", "home.mqtt.password_file")
    assert "home.mqtt.password_file: cannot read" in str(e.value)


def _agent_dialogue(ha, tmp_path, requests: str):
    from assistant.dialogue import build_dialogue

    token_file = tmp_path / "ha-token"
    token_file.write_text(ha.token)
    cfg = parse_config({
        "runtime": {"state_dir": str(tmp_path / "state")},
        "home": {"backend": "homeassistant",
                 "homeassistant": {"url": ha.url, "token_file": str(token_file), "requests": requests}},
    })
    dm = build_dialogue(cfg)
    _OPENED.append(dm)
    return dm


def test_what_the_device_does_not_understand_goes_to_home_assistant(home_assistant, tmp_path):
    ha = home_assistant
    ha.ensure_running()
    ha.call("switch", "turn_off", entity_id="switch.decorative_lights")
    (tmp_path / "a").mkdir()
    assert not _say(_dialogue(ha, tmp_path / "a"), "it is party time").success  # "device": not understood
    (tmp_path / "b").mkdir()
    dm = _agent_dialogue(ha, tmp_path / "b", "device-then-homeassistant")
    turn = _say(dm, "it is party time")  # a custom sentence of this Home Assistant (conftest.py)
    assert (turn.text, turn.success, turn.intent) == ("Let's party", True, None)
    assert ha.wait_for_state("switch.decorative_lights", "on")["state"] == "on"
    assert _say(dm, "set a timer for 3 minutes").success  # the device's own skills still come first
    assert not _say(dm, "blah blah wibble").success  # neither understands: the device's own answer


def test_every_request_to_home_assistant(home_assistant, tmp_path):
    ha = home_assistant
    ha.ensure_running()
    ha.call("cover", "open_cover", entity_id="cover.hall_window")
    dm = _agent_dialogue(ha, tmp_path, "homeassistant")
    turn = _say(dm, "close the hall window")
    assert turn.success and turn.intent is None, turn.text
    assert ha.wait_for_state("cover.hall_window", "closed", timeout_s=20)["state"] in ("closing", "closed")


def test_a_device_renamed_in_home_assistant_is_known_without_a_restart(home_assistant, tmp_path):
    """The registry's change events make the device read the home again: an alias given in Home
    Assistant while the device runs is understood at once, and the saved copy of the home follows."""
    ha = home_assistant
    ha.ensure_running()
    ha.call("light", "turn_on", entity_id="light.ceiling_lights")
    dm = _dialogue(ha, tmp_path)
    assert not _say(dm, "turn off the reading lamp").success
    (entry,) = ha.websocket({"type": "config/entity_registry/get", "entity_id": "light.ceiling_lights"})
    try:
        ha.websocket({"type": "config/entity_registry/update", "entity_id": "light.ceiling_lights",
                      "aliases": [*entry["aliases"], "reading lamp"]})
        assert _eventually(lambda: dm.parser.home.device("Ceiling Lights").aliases == ("reading lamp",), 10)
        turn = _say(dm, "turn off the reading lamp")
        assert turn.success, turn.text
        assert ha.wait_for_state("light.ceiling_lights", "off")["state"] == "off"
        saved = StateStore(tmp_path / "state").load("homeassistant-home", {})
        assert any("reading lamp" in d.get("aliases", []) for d in saved["table"]["device"])
    finally:
        ha.websocket({"type": "config/entity_registry/update", "entity_id": "light.ceiling_lights",
                      "aliases": entry["aliases"]})
