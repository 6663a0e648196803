"""Home Assistant's intents in conversation: every new intent through the whole dialogue manager (as
`assistant chat` runs it) on the demo home, acting on the local backend; teaching that does not swallow
requests; multi-action definitions; the confidence floor on learned rewrites."""

import asyncio
import dataclasses
import io
import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import HomeConfig
from tests.dialogue.test_conversations import Conversation as BaseConversation


class Conversation(BaseConversation):
    """The conversations' helper, in a home whose device stands in ``area``; ``say`` takes the
    recogniser's confidence."""

    def __init__(self, state_dir: Path, area: str = ""):
        self.area = area
        super().__init__(state_dir)

    def restart(self):
        self.cfg = dataclasses.replace(self.cfg, home=HomeConfig(area=self.area))
        super().restart()

    def say(self, text, confidence=1.0):
        return asyncio.run(self.dm.respond(text, confidence=confidence))


@pytest.fixture
def conv(tmp_path):
    return Conversation(tmp_path / "state")


CONVERSATION = [
    # HassTurnOn / HassTurnOff by area, floor, domain, name=all, device class
    ("turn on the lights in the living room", "Turned on the Living Room Light and the Floor Lamp."),
    ("turn everything off in the kitchen", "Turned off the Kitchen Light and the Coffee Maker."),
    ("turn off all the lights upstairs", "Turned off 4 lights."),
    ("turn off the fans in the bedroom", "Turned off the Ceiling Fan."),
    # HassLightSet, relative
    ("set the living room light to 60 percent", "Set the Living Room Light to 60 percent."),
    ("dim the living room light a bit", "Set the Living Room Light to 35 percent."),
    ("make the living room light brighter", "Set the Living Room Light to 60 percent."),
    # HassGetState: binary sensors in their class's words, a shared name, a person, a sensor
    ("is the bedroom window open", "Yes, the Bedroom Window is open."),
    ("are any windows open", "Yes, the Bedroom Window is open."),
    ("is the phone charging", "No, the Phone is not charging."),
    ("what is the phone battery", "The Phone is 80 percent."),
    ("where is alex", "Alex is at home."),
    ("which lights are on", "Yes, the Living Room Light and the Floor Lamp are on."),
    # climate
    ("what is the temperature in the living room", "It is 20.5 degrees in the Living Room."),
    ("set the thermostat to 22 degrees", "Set the Thermostat to 22 degrees."),
    # covers, valves, locks, positions
    ("open the living room blinds to 50 percent", "Set the Window Blinds to 50 percent open."),
    ("close the blinds", "Closed the Window Blinds."),
    ("open the sprinkler", "Opened the Garden Sprinkler."),
    ("lock the front door", "Locked the Front Door."),
    # scenes, scripts, vacuum
    ("activate movie time", "Activated the Movie Time."),
    ("run good night", "Started the Good Night."),
    ("start the vacuum", "Started the Rover."),
    # media on a named player
    ("play the beatles on the tv", "Playing the beatles on the TV."),
    ("set the tv volume to 30", "Set the TV volume to thirty percent."),
    ("pause the tv", "Paused the TV."),
    # shopping list and to-do lists
    ("add milk to the shopping list", "Added milk to your shopping list."),
    ("check milk off my shopping list", "Checked off milk from your shopping list."),
    ("add clean the garage to my chores list", "Added clean the garage to your chores list."),
    ("check clean the garage off my chores list", "Checked off clean the garage from your chores list."),
    # timers by name and by starting length
    ("set a 5 minute timer for pasta", "Pasta timer set for five minutes."),
    ("how much time is left on the pasta timer", "The pasta timer has five minutes left."),
    ("cancel the 5 minute timer", "Cancelled the pasta timer."),
    # the volume, up and down; the home's weather entity
    ("turn up the volume", "Volume set to sixty percent."),
    ("quieter", "Volume set to fifty percent."),
    ("what's the weather", "The weather is sunny."),
    # HassBroadcast, HassRespond, HassNevermind, stop
    ("broadcast dinner is ready", "Announcement: dinner is ready."),
    ("hello", "Hello!"),
    ("never mind", "Okay."),
    ("stop", ""),
]


def test_every_new_intent_in_conversation(conv):
    intents = set()
    for said, answer in CONVERSATION:
        turn = conv.say(said)
        assert turn.text == answer, said
        intents.add(turn.intent.name)
    assert intents >= {
        "HassTurnOn",
        "HassTurnOff",
        "HassLightSet",
        "HassGetState",
        "HassClimateGetTemperature",
        "HassClimateSetTemperature",
        "HassSetPosition",
        "HassVacuumStart",
        "HassMediaSearchAndPlay",
        "HassSetVolume",
        "HassMediaPause",
        "HassShoppingListAddItem",
        "HassShoppingListCompleteItem",
        "HassListAddItem",
        "HassListCompleteItem",
        "HassStartTimer",
        "HassTimerStatus",
        "HassCancelTimer",
        "HassBroadcast",
        "HassRespond",
        "HassNevermind",
        "AssistantStop",
        "HassSetVolumeRelative",
        "HassGetWeather",
    }
    conv.restart()  # the local backend kept every state
    assert conv.say("is the front door locked").text == "Yes, the Front Door is locked."
    assert conv.say("is the tv paused").text == "Yes, the TV is paused."


def test_in_here_without_a_known_area_is_said_plainly(conv):
    t = conv.say("turn on the lights in here")
    assert not t.success and t.text.startswith("I don't know which room I'm in.")


def test_the_devices_own_area(tmp_path):
    conv = Conversation(tmp_path / "state", area="Office")
    assert conv.say("turn on the lights in here").text == "Turned on the Desk Lamp and the Office Light."
    assert conv.say("dim the lights a bit").text == "Set the Desk Lamp and the Office Light to 75 percent."
    assert conv.say("turn off the lights").text == "Turned off the Desk Lamp and the Office Light."


def test_a_multi_action_definition(conv):
    t = conv.say("movie mode means turn off the bedroom lamp and set the tv volume to ten")
    assert t.learned == "concept: movie mode"
    assert t.text.startswith("Got it, movie mode means turn off the bedroom lamp and set the tv volume to")
    conv.restart()
    t = conv.say("movie mode")
    assert t.text == "Turned off the Bedroom Lamp. Set the TV volume to ten percent."
    assert conv.say("what is the state of the bedroom lamp").text == "The Bedroom Lamp is off."


def test_a_request_after_a_teaching_question_is_served_not_learned(conv):
    assert conv.say("set the living room light to study mode").expects == "teach"
    t = conv.say("how long should I steep green tea")
    assert t.intent.name == "AssistantCookingTime" and not t.learned
    assert "study mode" not in conv.dm.concepts


def test_a_request_after_a_failed_teaching_answer_is_served_not_learned(conv):
    assert conv.say("set the living room light to study mode").expects == "teach"
    assert conv.say("hmm something like the old one").text.startswith("Sorry, I still don't know")
    t = conv.say("how long should I steep green tea")
    assert t.intent.name == "AssistantCookingTime" and not t.learned
    assert conv.dm.concepts == {}


def test_bright_and_cool_white_keeps_both_parts(conv):
    conv.say("set the living room light to reading mode")
    t = conv.say("bright and cool white")
    assert t.learned == "concept: reading mode"
    assert conv.dm.concepts["reading mode"]["slots"] == {"color": "cool white", "brightness": 100}


def test_a_misheard_transcript_does_not_teach_a_rewrite(conv):
    conv.say("kill the kitchen light", confidence=0.3)  # misheard, not a way of saying things
    t = conv.say("turn off the kitchen light")
    assert t.success and not t.learned and conv.dm.rewrites == {}
    conv.say("kill the kitchen light")  # heard surely: a phrasing the device learns
    assert conv.say("turn off the kitchen light").learned == "rewrite: kill -> turn off"


def test_parse_reads_stdin_lines_with_an_area(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("turn on the lights in here\n\nwhat is the temperature\n"))
    assert main(["parse", "--area", "Kitchen", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["intent"], r["slots"]) for r in rows] == [
        ("HassTurnOn", {"domain": "light", "area": "Kitchen"}),
        ("HassClimateGetTemperature", {"area": "Kitchen"}),
    ]
    assert main(["parse", "--area", "Attic", "hello"]) == 1
    assert "home.area: unknown area 'Attic'" in capsys.readouterr().err


def test_chat_serves_home_assistant_intents(tmp_path, capsys, monkeypatch):
    said = "start the vacuum\nare any windows open\nturn off the lights in here\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(said))
    assert main(["chat", "--state-dir", str(tmp_path), "--area", "Bathroom", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["reply"] for r in rows] == [
        "Started the Rover.",
        "Yes, the Bedroom Window is open.",
        "Turned off the Bathroom Light.",
    ]
