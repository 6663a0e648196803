import asyncio
import datetime as dt

import pytest

from assistant.config import Config, IntentConfig
from assistant.intent.parser import Intent
from assistant.skills import build_registry
from assistant.skills.clock import ClockSkill
from assistant.skills.cooking import CookingSkill
from assistant.skills.lists import ListSkill
from assistant.skills.media import MediaSkill
from assistant.skills.registry import Reply, SkillRegistry
from assistant.skills.state import StateStore


def test_clock(parser):
    t = dt.datetime(2026, 11, 25, 17, 5, tzinfo=dt.UTC).timestamp()
    skill = ClockSkill(lambda: t, dt.UTC)
    assert asyncio.run(skill.handle(parser.parse("what time is it"))).text == "It's 5:05 PM."
    assert (
        asyncio.run(skill.handle(parser.parse("whats the date today"))).text
        == "Today is Wednesday, November 25th, 2026."
    )


def test_media_and_volume_persist(tmp_path, parser):
    skill = MediaSkill(StateStore(tmp_path))
    assert (
        asyncio.run(skill.handle(parser.parse("set the volume to 30"))).text
        == "Volume set to thirty percent."
    )
    assert asyncio.run(skill.handle(parser.parse("pause the music"))).text == "Nothing is playing."
    assert MediaSkill(StateStore(tmp_path)).volume == 30
    r = asyncio.run(skill.handle(Intent("HassSetVolume", {"volume_level": 130}, "")))
    assert not r.success and "0 to 100" in r.text
    skill.state["status"] = "playing"
    assert asyncio.run(skill.handle(parser.parse("pause"))).text == "Paused."
    assert asyncio.run(skill.handle(parser.parse("resume"))).text == "Resuming."
    assert asyncio.run(skill.handle(parser.parse("next song"))).data == {"track": 1}


def test_lists(tmp_path, parser):
    skill = ListSkill(StateStore(tmp_path))
    assert (
        asyncio.run(skill.handle(parser.parse("what is on my shopping list"))).text
        == "Your shopping list is empty."
    )
    assert (
        asyncio.run(skill.handle(parser.parse("add milk to my shopping list"))).text
        == "Added milk to your shopping list."
    )
    assert (
        asyncio.run(skill.handle(parser.parse("add Milk to the shopping list"))).text
        == "Milk is already on your shopping list."
    )
    asyncio.run(skill.handle(parser.parse("we need toilet paper")))
    again = ListSkill(StateStore(tmp_path))
    assert (
        asyncio.run(again.handle(parser.parse("whats on the shopping list"))).text
        == "On your shopping list: milk and toilet paper."
    )


def test_cooking_offers_a_timer(parser):
    r = asyncio.run(CookingSkill().handle(parser.parse("how long should green tea steep")))
    assert r.text == "Green tea should steep for about three minutes."
    assert r.offer.question == "Would you like a timer for three minutes?"
    assert r.offer.intent.name == "HassStartTimer" and r.offer.intent.slots["minutes"] == 3


class _Slow:
    name = "slow"
    intents = frozenset({"HassGetWeather"})

    async def handle(self, intent):
        await asyncio.sleep(10)
        return Reply("late")


class _Broken:
    name = "broken"
    intents = frozenset({"HassNevermind"})

    async def handle(self, intent):
        raise RuntimeError("bug")


def test_registry_turns_failures_into_answers(caplog):
    reg = SkillRegistry(IntentConfig(skill_timeout_s=0.05), [_Slow(), _Broken()])
    reply, event = asyncio.run(reg.handle(Intent("HassGetWeather", {}, "")))
    assert "too long" in reply.text and not event.success
    reply, event = asyncio.run(reg.handle(Intent("HassNevermind", {}, "")))
    assert "went wrong" in reply.text and event.skill == "broken"
    reply, event = asyncio.run(reg.handle(Intent("HassUnknownThing", {}, "")))
    assert "can't do that" in reply.text
    with pytest.raises(ValueError, match="served by both"):
        SkillRegistry(IntentConfig(), [_Slow(), _Slow()])


def test_every_parsed_intent_has_a_skill(tmp_path, home):
    from assistant.intent.grammar import load_intents
    from assistant.intent.parser import _TEMPLATES

    reg = build_registry(Config(), home, StateStore(tmp_path))
    served = reg.intents | {"HassNevermind", "AssistantStop"}  # the dialogue's own
    assert set(_TEMPLATES) <= served
    assert set(load_intents().intents) <= served  # every intent of Home Assistant's grammar


def test_weather_without_a_weather_entity_is_said_plainly():
    import asyncio

    from assistant.intent.home import parse_home
    from assistant.intent.parser import Intent
    from assistant.skills.weather import WeatherSkill

    reply = asyncio.run(WeatherSkill(parse_home({}), None).handle(Intent("HassGetWeather", {}, "weather")))
    assert not reply.success and reply.text.startswith("I can't tell you the weather")
