"""State that validates and heals, and nothing confirmed then lost (issue 34).

Valid JSON of the wrong shape crash-looped the service or answered "something went wrong" forever;
skills changed memory before saving; a timer whose save failed when it ended was dropped unrung; two
processes on one state directory lost each other's updates."""

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import Config, RuntimeConfig
from assistant.dialogue import build_dialogue
from assistant.intent.parser import Intent
from assistant.skills import StateStore
from assistant.skills.lists import ListSkill
from assistant.skills.media import MediaSkill
from assistant.skills.registry import NOT_SAVED_REPLY
from assistant.skills.state import MAX_DEPTH, StateLocked
from assistant.skills.timers import RING_FORGET_S, TimerSkill


class Clock:
    def __init__(self):
        self.t = 1_750_000_000.0

    def __call__(self):
        return self.t


def _config(state_dir: Path) -> Config:
    return dataclasses.replace(Config(), runtime=RuntimeConfig(state_dir=state_dir))


@pytest.mark.parametrize(
    "name, content",
    [
        ("timers", '{"next_id": "x"}'),
        ("timers", '{"next_id": 3, "timers": [{"id": 1, "start_s": 60, "remaining_s": 60, "ends_at": Infinity}]}'),
        ("timers", '{"next_id": 3, "timers": [{"id": 1, "start_s": 60, "remaining_s": 60, "ends_at": NaN}]}'),
        ("timers", '{"next_id": 2, "timers": [{"id": "1", "start_s": 60, "remaining_s": 60, "ends_at": null}]}'),
        ("dialogue", '{"pending": 5}'),
        ("dialogue", '{"rewrites": {"kill": {"to": 3}}}'),
        ("dialogue", '{"last_failure": {"text": "x", "at": "yesterday"}}'),
        ("lists", '{"Shopping List": [1, 2]}'),
        ("lists", '{"Shopping List": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        ("media", '{"volume": "loud"}'),
        ("devices", '{"Kitchen Light": {"state": ["on"]}}'),
    ],
)
def test_a_document_of_the_wrong_shape_is_set_aside_and_the_device_answers(tmp_path, name, content):
    (tmp_path / f"{name}.json").write_text(content)
    dm = build_dialogue(_config(tmp_path), clock=Clock())
    assert (tmp_path / f"{name}.json.corrupt").read_text() == content
    assert len(dm.store.problems) == 1 and f"{name}.json" in dm.store.problems[0]
    for text in ("set a timer for 5 minutes", "add milk to my shopping list", "turn on the kitchen light"):
        turn = asyncio.run(dm.respond(text))
        assert turn.success and "wrong" not in turn.text, (text, turn.text)
    assert json.loads((tmp_path / "timers.json").read_text())["timers"]  # saved afresh


def test_nesting_deeper_than_the_limit(tmp_path):
    deep = {"a": 1}
    for _ in range(MAX_DEPTH + 2):
        deep = {"k": deep}
    (tmp_path / "dialogue.json").write_text(json.dumps({"concepts": {"x": deep}}))
    store = StateStore(tmp_path)
    assert store.load("dialogue", {}) == {} and "deeper" in store.problems[0]


def _blocked(tmp_path: Path) -> Path:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    return blocker / "state"  # any write there fails


def test_a_list_item_is_not_confirmed_when_it_cannot_be_saved(tmp_path):
    dm = build_dialogue(_config(tmp_path), clock=Clock())
    lists = dm.skills.skill_for("HassListAddItem")
    assert isinstance(lists, ListSkill)
    lists.store = StateStore(_blocked(tmp_path))
    turn = asyncio.run(dm.respond("add milk to my shopping list"))
    assert not turn.success and NOT_SAVED_REPLY in turn.text
    assert lists.lists == {}  # memory as it was
    assert "empty" in asyncio.run(dm.respond("what's on my shopping list")).text


def test_media_rolls_back_when_the_save_fails(tmp_path):
    skill = MediaSkill(StateStore(_blocked(tmp_path)))
    with pytest.raises(Exception, match="cannot write"):
        asyncio.run(skill.handle(Intent("HassSetVolume", {"volume_level": 30}, "")))
    assert skill.volume == 50


def test_a_timer_rings_even_when_its_end_cannot_be_saved_and_is_forgotten_only_once_rung(tmp_path):
    clock = Clock()
    skill = TimerSkill(StateStore(tmp_path), clock)
    asyncio.run(skill.handle(Intent("HassStartTimer", {"minutes": 1, "name": "pasta"}, "")))
    skill.store = StateStore(_blocked(tmp_path))  # the disk fails just as it ends
    clock.t += 61
    due = skill.due()
    assert [r.text for r in due] == ["Your pasta timer is done."]
    assert skill.due() == []  # handed out once
    # a restart before it was spoken: it rings again (the saved state still has it)
    again = TimerSkill(StateStore(tmp_path), clock)
    assert [r.text for r in again.due()] == ["Your pasta timer is done."]
    again.rang(due[0].timer_id)
    assert TimerSkill(StateStore(tmp_path), clock).due() == []  # rung: forgotten, on disk too


def test_a_ringing_timer_is_forgotten_after_the_grace_time_without_rang(tmp_path):
    clock = Clock()
    skill = TimerSkill(StateStore(tmp_path), clock)
    asyncio.run(skill.handle(Intent("HassStartTimer", {"seconds": 5}, "")))
    clock.t += 6
    assert len(skill.due()) == 1 and skill.timers == []  # ringing: not offered to the user
    clock.t += RING_FORGET_S
    assert skill.due() == [] and json.loads((tmp_path / "timers.json").read_text())["timers"] == []


def test_the_dialogue_confirms_announcements(tmp_path):
    clock = Clock()
    dm = build_dialogue(_config(tmp_path), clock=clock)
    asyncio.run(dm.respond("set a timer for 10 seconds"))
    clock.t += 11
    (text,) = dm.ringing()
    assert json.loads((tmp_path / "timers.json").read_text())["timers"][0]["ringing"] is True
    dm.announced(text)
    assert json.loads((tmp_path / "timers.json").read_text())["timers"] == []


_HOLDER = """
import sys, time
from assistant.skills.state import StateStore
StateStore(sys.argv[1]).lock()
print("locked", flush=True)
time.sleep(30)
"""


def test_a_second_process_on_the_state_directory_is_refused(tmp_path, capsys):
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"locked"
        with pytest.raises(StateLocked, match=f"pid {holder.pid}"):
            StateStore(tmp_path).lock(wait_s=0.2)
        code = main(["chat", "--state-dir", str(tmp_path)])
        err = capsys.readouterr().err
        assert code == 1 and "in use by another assistant process" in err and "Traceback" not in err
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    StateStore(tmp_path).lock()  # free again once it has gone


_ADDER = """
import asyncio, sys
from assistant.intent.parser import Intent
from assistant.skills import StateStore
from assistant.skills.lists import ListSkill
store = StateStore(sys.argv[1])
store.lock(wait_s=5)
skill = ListSkill(store)
i = int(sys.argv[2])
while True:
    reply = asyncio.run(skill.handle(Intent("HassListAddItem", {"item": f"item {i}", "name": f"L{i // 100}"}, "")))
    print(f"ack {i}" if reply.success else f"nack {i}", flush=True)
    i += 1
"""


def test_kill_loop_loses_no_acknowledged_item(tmp_path):
    """10 SIGKILLs at random moments while items are added and acknowledged: every acknowledged item
    is on the list afterwards (bounded: a few seconds)."""
    acked: list[str] = []
    start = 0
    rng = __import__("random").Random(34)
    for _ in range(10):
        proc = subprocess.Popen([sys.executable, "-c", _ADDER, str(tmp_path), str(start)],
                                stdout=subprocess.PIPE, text=True)
        deadline = time.monotonic() + rng.uniform(0.05, 0.4)
        lines = []
        while True:  # at least one answer, then until the moment drawn
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.split())
            if time.monotonic() >= deadline:
                break
        proc.send_signal(signal.SIGKILL)
        lines += [line.split() for line in proc.stdout]  # anything answered before the kill landed
        proc.wait()
        proc.stdout.close()
        assert all(word == "ack" for word, _ in lines)
        acked += [int(i) for _, i in lines]
        start = acked[-1] + 1 if acked else start
    store = StateStore(tmp_path)
    lists = store.load("lists", {})
    assert store.problems == [] and len(acked) >= 10
    assert all(f"item {i}" in lists.get(f"L{i // 100}", []) for i in acked)


def test_a_full_disk_says_so_and_keeps_the_old_state(tmp_path):
    """A tiny tmpfs filled up: the save fails, the reply says nothing was changed, the document on disk
    is whole, and memory matches it."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.decode().strip() or r.returncode})")
    try:
        dm = build_dialogue(_config(mnt / "state"), clock=Clock())
        assert asyncio.run(dm.respond("add milk to my shopping list")).success
        fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        turn = asyncio.run(dm.respond("add eggs to my shopping list"))
        assert not turn.success and NOT_SAVED_REPLY in turn.text
        on_disk = json.loads((mnt / "state" / "lists.json").read_text())
        assert on_disk == {"Shopping List": ["milk"]} == dm.skills.skill_for("HassListAddItem").lists
        (mnt / "filler").unlink()
        assert asyncio.run(dm.respond("add eggs to my shopping list")).success
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
