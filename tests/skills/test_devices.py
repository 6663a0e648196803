import asyncio

from assistant.intent.parser import Intent
from assistant.skills.devices import DeviceSkill, LocalBackend
from assistant.skills.state import StateStore


def make(tmp_path, home):
    return DeviceSkill(home, LocalBackend(home, StateStore(tmp_path)))


def say(skill, parser, text):
    return asyncio.run(skill.handle(parser.parse(text)))


def test_switching_and_states_persist(tmp_path, home, parser):
    skill = make(tmp_path, home)
    assert say(skill, parser, "turn on the kitchen light").text == "Turned on the Kitchen Light."
    assert (
        say(skill, parser, "set the kitchen light to 40 percent").text
        == "Set the Kitchen Light to 40 percent."
    )
    assert say(skill, parser, "is the kitchen light on").text == "Yes, the Kitchen Light is on at 40 percent."
    assert say(skill, parser, "turn off the lights upstairs").text == "Turned off 4 lights."
    assert say(skill, parser, "lock the front door").text == "Locked the Front Door."
    assert say(skill, parser, "open the garage door").text == "Opened the Garage Door."
    assert say(skill, parser, "make the bedroom lamp blue").text == "Set the Bedroom Lamp to blue."
    again = make(tmp_path, home)  # restart
    assert say(again, parser, "is the garage door open").text == "Yes, the Garage Door is open."
    assert (
        say(again, parser, "which lights are on").text
        == "Yes, the Kitchen Light and the Bedroom Lamp are on."
    )
    assert (
        say(again, parser, "what is the temperature in the kitchen").text
        == "It is 21.5 degrees in the Kitchen."
    )


def test_honest_answers_for_what_cannot_be_done(tmp_path, home, parser):
    skill = make(tmp_path, home)
    assert say(skill, parser, "turn on the garage light").text == "There are no lights in the Garage."
    assert say(skill, parser, "turn on the garden light").text == "I don't know a device called garden light."
    assert (
        say(skill, parser, "set the kitchen light to 150 percent").text
        == "Brightness goes from 0 to 100 percent."
    )
    assert (
        say(skill, parser, "turn on the kitchen light in the bedroom").text
        == "The Kitchen Light is in the Kitchen, not the Bedroom."
    )
    r = asyncio.run(skill.handle(Intent("HassLightSet", {"name": "Coffee Maker", "brightness": 5}, "")))
    assert r.text == "The Coffee Maker is not a light." and not r.success
    r = asyncio.run(skill.handle(Intent("HassTurnOn", {"name": "Kitchen Temperature"}, "")))
    assert not r.success
    assert (
        say(skill, parser, "are any lights on in the kitchen").text == "No, no lights in the Kitchen are on."
    )
