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
    ]
    for table, pattern in cases:
        with pytest.raises(ConfigError, match=pattern):
            parse_home(table)
