"""assistant.home: choosing the backend, and an away home spoken by the skill registry."""

from __future__ import annotations

import asyncio

from assistant.config import HomeConfig, IntentConfig
from assistant.home import HomeUnavailable, open_home
from assistant.home.homefile import dump_home
from assistant.intent.home import parse_home
from assistant.intent.parser import Intent
from assistant.skills.devices import LocalBackend
from assistant.skills.registry import Reply, SkillRegistry
from assistant.skills.state import StateStore


def test_the_local_backend_is_the_default(tmp_path):
    link = open_home(HomeConfig(), StateStore(tmp_path))
    assert isinstance(link.backend, LocalBackend) and link.home.devices
    link.close()


class _AwaySkill:
    name = "away"
    intents = frozenset({"HassTurnOn"})

    async def handle(self, intent: Intent) -> Reply:
        raise HomeUnavailable("Home Assistant is not reachable right now.")


def test_an_away_home_is_said_not_a_generic_failure():
    registry = SkillRegistry(IntentConfig(), [_AwaySkill()])
    reply, handled = asyncio.run(registry.handle(Intent("HassTurnOn", {}, "")))
    assert (reply.text, reply.success) == ("Home Assistant is not reachable right now.", False)
    assert handled.success is False


def test_a_home_file_written_is_read_back():
    table = {"floor": [{"name": "Up", "aliases": ["upstairs"]}],
             "area": [{"name": "Kid's \"Room\"", "floor": "Up"}],
             "device": [{"name": "Lamp", "area": "Kid's \"Room\"", "domain": "light", "aliases": ["night light"]}]}
    import tomllib

    text = dump_home(table, "a header")
    assert text.startswith("# a header\n")
    home = parse_home(tomllib.loads(text))
    assert home.device("Lamp").area == "Kid's \"Room\"" and home.floors[0].aliases == ("upstairs",)
