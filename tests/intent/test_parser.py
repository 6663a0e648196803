import importlib.util
import os
import sys
from pathlib import Path

import pytest

from assistant.config import HomeConfig, IntentConfig
from assistant.intent.home import load_home
from assistant.intent.parser import IntentParser, normalize_text

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"


def _eval_module():
    spec = importlib.util.spec_from_file_location("eval_intent", REPO / "tools" / "eval_intent.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["eval_intent"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def parser():
    return IntentParser(IntentConfig(), load_home(HomeConfig()))


@pytest.mark.parametrize(
    "name, least, size",
    [("utterances.txt", 0.95, 300), ("heldout.txt", 0.95, 50), ("fresh.txt", 0.9, 40)],  # fresh: never tuned on
)
def test_accuracy_on_the_test_sets(parser, name, least, size):
    ev = _eval_module()
    cases = ev.read_cases(DATA / name)
    result = ev.evaluate(cases, parser)
    assert result["accuracy"] >= least, result["misses"]
    assert len(cases) >= size
    assert sum(c.intent is None for c in cases) >= 4  # sentences that must get no intent are in the set


def test_test_set_covers_the_catalogue():
    ev = _eval_module()
    intents = {c.intent for c in ev.read_cases(DATA / "utterances.txt")}
    catalogue = {
        "HassTurnOn",
        "HassTurnOff",
        "HassLightSet",
        "HassGetState",
        "HassStartTimer",
        "HassCancelTimer",
        "HassCancelAllTimers",
        "HassPauseTimer",
        "HassUnpauseTimer",
        "HassTimerStatus",
        "HassIncreaseTimer",
        "HassDecreaseTimer",
        "HassGetCurrentTime",
        "HassGetCurrentDate",
        "HassGetWeather",
        "HassSetVolume",
        "HassMediaPause",
        "HassMediaUnpause",
        "HassMediaNext",
        "HassMediaPrevious",
        "HassListAddItem",
        "HassNevermind",
        None,
    }
    assert catalogue <= intents


def test_normalize_text():
    assert (
        normalize_text("Hey, could you Turn OFF the Kitchen-Light, please?!") == "turn off the kitchen light"
    )
    assert normalize_text("What's the time?") == "what is the time"
    assert normalize_text("Set it to 40%.") == "set it to 40 percent"
    assert normalize_text("   ") == ""


def test_unknown_value_is_reported_for_teaching(parser):
    i = parser.parse("set the living room light to study mode")
    assert (i.name, i.slots, i.unknown, i.unknown_slot) == (
        "HassLightSet",
        {"name": "Living Room Light"},
        "study mode",
        "value",
    )


def test_unknown_device_name_is_kept_raw(parser):
    i = parser.parse("turn on the garden light")
    assert (i.name, i.slots, i.unknown_slot) == ("HassTurnOn", {"name": "garden light"}, "name")


def test_area_without_such_devices_still_parses(parser):
    i = parser.parse("turn on the garage light")
    assert i.slots == {"area": "Garage", "domain": "light"}


@pytest.mark.parametrize("text", ["", "   ", "?!.,", "x" * 10_000, "turn on the " * 900, "\x00\x01 turn"])
def test_malformed_input_gives_none_not_a_crash(parser, text):
    assert parser.parse(text) is None


def test_contradictory_slots_are_kept_for_the_skill_to_answer(parser):
    # the device skill answers "The Kitchen Light is in the Kitchen, not the Bedroom." (tests/skills)
    i = parser.parse("turn on the kitchen light in the bedroom")
    assert i.slots == {"name": "Kitchen Light", "area": "Bedroom"}


def test_parse_is_fast_enough(parser):
    import time

    t0 = time.perf_counter()
    for _ in range(20):
        parser.parse("set a timer for five and a half minutes")
    assert (time.perf_counter() - t0) / 20 < 0.05  # generous: ~1 ms here


HA_INTENTS = Path(os.environ.get("HA_INTENTS_DIR", REPO.parent / "shared" / "ha-intents"))


@pytest.mark.skipif(
    not (HA_INTENTS / "tests" / "en" / "_fixtures.yaml").is_file(),
    reason=f"Home Assistant's intents suite not at {HA_INTENTS} (set HA_INTENTS_DIR to a checkout)",
)
def test_home_assistant_suite_recogniser_text():
    """Home Assistant's English test sentences, as a recogniser writes them (numbers as digits and as
    words), on the suite's own home: intent and every expected slot on at least 99% of them."""
    ev = _eval_module()
    result = ev.evaluate_suite(HA_INTENTS, with_reference=False, variants=("digits", "words"))
    assert result["sentences"] >= 1000 and result["intents"] >= 33
    for variant in ("digits", "words"):
        assert result["accuracy"][f"ours/{variant}"] >= 0.99, [
            m for m in result["misses"] if m["variant"] == variant
        ]
