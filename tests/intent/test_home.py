import pytest

from assistant.config import ConfigError, HomeConfig
from assistant.intent.home import load_home, parse_home


def test_demo_home_loads():
    home = load_home(HomeConfig())
    assert {a.name for a in home.areas} >= {"Living Room", "Kitchen", "Bedroom"}
    assert home.device("Bedroom Lamp").area == "Bedroom"
    assert [d.name for d in home.devices_in(area="Office", domain="light")] == ["Desk Lamp", "Office Light"]
    assert {d.name for d in home.devices_in(floor="Upstairs", domain="light")} == {
        "Bedroom Lamp",
        "Desk Lamp",
        "Office Light",
        "Bathroom Light",
    }


def test_names_for_hotwords():
    names = load_home(HomeConfig()).names()
    assert {"living room", "lounge", "bedroom lamp", "bedside lamp", "upstairs"} <= set(names)
    assert len(names) == len(set(names)) and all(n == n.lower() for n in names)


def test_names_heard_with_errors():
    home = load_home(HomeConfig())
    assert home.match("device", "bed room lamp", 0.75).canonical == "Bedroom Lamp"
    assert home.match("device", "kitchen lite", 0.75).canonical == "Kitchen Light"
    assert home.match("device", "the telly", 0.75).canonical == "TV"
    assert home.match("device", "garden gnome", 0.75) is None
    assert home.match("area", "lounge", 0.75).canonical == "Living Room"
    exact, plural = home.match("device", "kitchen lights", 0.75), home.match("device", "office lights", 0.75)
    assert exact.score == 1.0 and plural.score < 1.0  # an alias vs a guessed plural


def test_home_file_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match="home.path: home file not found"):
        load_home(HomeConfig(path=tmp_path / "nope.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("[[area]\nname=", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_home(HomeConfig(path=bad))
    cases = [
        (
            {"device": [{"name": "Lamp", "area": "Nowhere", "domain": "light"}]},
            r"home.device\[0\].area: unknown area",
        ),
        (
            {"area": [{"name": "A"}], "device": [{"name": "Lamp", "area": "A", "domain": "toaster"}]},
            r"home.device\[0\].domain: must be one of",
        ),
        (
            {"area": [{"name": "A", "flor": "x"}]},
            r"home.area\[0\].flor: unknown key \(did you mean floor\?\)",
        ),
        ({"area": [{"name": "A"}, {"name": "a"}]}, r"already used"),
        ({"area": [{"name": ""}]}, r"home.area\[0\].name: missing"),
        ({"area": [{"name": "A", "floor": "Attic"}]}, r"unknown floor"),
        ({"rooms": []}, r"unknown table"),
        ({"area": [{"name": "A", "aliases": "x"}]}, r"aliases: must be an array"),
        ({"area": [{"name": 3}]}, r"must be a string"),
        (
            {"device": [{"name": "Lamp", "domain": "light"}, {"name": "lamp", "domain": "light"}]},
            r"home.device\[1\]: name 'lamp' is already used by device 'Lamp'",
        ),
        ({"device": [{"name": "Lamp", "domain": "light", "attributes": [1]}]}, r"attributes: must be a table"),
        ({"device": [{"name": "Lamp", "domain": "light", "attributes": {"a": [1]}}]}, r"attributes: must be"),
        ({"device": [{"name": "Lamp"}]}, r"home.device\[0\].domain: must be one of"),
    ]
    for table, pattern in cases:
        with pytest.raises(ConfigError, match=pattern):
            parse_home(table)


def test_what_a_real_home_has():
    """Devices with no area, one name in several domains and classes, attributes, to-do lists."""
    home = parse_home(
        {
            "floor": [{"name": "Ground"}],
            "area": [{"name": "Kitchen", "floor": "Ground"}],
            "device": [
                {"name": "Phone", "domain": "sensor", "device_class": "battery", "state": "80", "unit": "%"},
                {"name": "Phone", "domain": "binary_sensor", "device_class": "battery_charging"},
                {"name": "Phone", "domain": "binary_sensor", "device_class": "plug"},
                {"name": "Thermostat", "area": "Kitchen", "domain": "climate",
                 "attributes": {"current_temperature": 19.5}},
                {"name": "Chores", "domain": "todo"},
                {"name": "Rover", "domain": "vacuum"},
            ],
        }
    )
    assert [d.domain for d in home.devices_named("Phone")] == ["sensor", "binary_sensor", "binary_sensor"]
    assert [d.device_class for d in home.devices_named("Phone", "binary_sensor")] == ["battery_charging", "plug"]
    assert home.device("Thermostat").attribute("current_temperature") == 19.5
    assert home.device("Chores").area == "" and home.device("Rover").area == ""
    keys = {home.key(d) for d in home.devices}
    assert len(keys) == len(home.devices)  # each keeps its own state
    assert home.key(home.device("Rover")) == "Rover"


def test_non_ascii_names_work():
    from assistant.config import IntentConfig
    from assistant.intent.parser import IntentParser

    home = parse_home(
        {
            "area": [{"name": "Küche"}],
            "device": [
                {"name": "Lámpara de la cocina", "area": "Küche", "domain": "light"},
                {"name": "電気", "domain": "light"},
            ],
        }
    )
    parser = IntentParser(IntentConfig(), home)
    assert parser.parse("turn on the lámpara de la cocina").slots == {"name": "Lámpara de la cocina"}
    assert parser.parse("turn off the lights in the küche").slots == {"area": "Küche", "domain": "light"}
    assert parser.parse("turn on 電気").slots == {"name": "電気"}


def test_ten_thousand_devices_load_and_parse():
    from assistant.config import IntentConfig
    from assistant.intent.parser import IntentParser

    areas = [{"name": f"Room {i}"} for i in range(100)]
    devices = [{"name": f"Lamp {i}", "area": f"Room {i % 100}", "domain": "light"} for i in range(10_000)]
    home = parse_home({"area": areas, "device": devices})
    assert len(home.devices) == 10_000
    intent = IntentParser(IntentConfig(), home).parse("turn on lamp 5000")
    assert (intent.name, intent.slots) == ("HassTurnOn", {"name": "Lamp 5000"})
    with pytest.raises(ConfigError, match="more than 100000 devices"):
        parse_home({"device": [{"name": f"L{i}", "domain": "light"} for i in range(100_001)]})


def test_the_devices_own_area_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="home.area: unknown area 'Attic'"):
        load_home(HomeConfig(area="Attic"))
    assert load_home(HomeConfig(area="Kitchen")).area("Kitchen") is not None
