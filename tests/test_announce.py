"""The bounded announcement queue (assistant/announce.py)."""

import asyncio

import pytest

from assistant.announce import AnnouncementQueue, Priority


def test_timers_come_first_and_are_never_refused():
    q = AnnouncementQueue(max_entries=3, max_chars=100)
    for i in range(3):
        assert q.put(f"client {i}", Priority.CLIENT, source="a")
    assert not q.put("one too many", Priority.CLIENT, source="a") and q.refused == 1
    for i in range(5):  # a flood of client speech never keeps a timer waiting, nor refuses it
        assert q.put(f"timer {i}", Priority.ALARM)
    order = [q.get_nowait().text for _ in range(len(q))]
    assert order == [f"timer {i}" for i in range(5)] + [f"client {i}" for i in range(3)]
    assert q.get_nowait() is None and q.client_chars == 0


def test_bounded_in_characters():
    q = AnnouncementQueue(max_entries=100, max_chars=10)
    assert q.put("12345", Priority.CLIENT) and q.put("67890", Priority.CLIENT)
    assert not q.put("x", Priority.CLIENT)
    q.get_nowait()
    assert q.put("abcde", Priority.CLIENT)


def test_a_client_s_speech_is_dropped_when_it_leaves():
    q = AnnouncementQueue()
    q.put("from a", Priority.CLIENT, source="a")
    q.put("from b", Priority.CLIENT, source="b")
    q.put("ring", Priority.ALARM)
    assert q.drop_source("a") == 1 and q.drop_source("a") == 0
    assert [q.get_nowait().text for _ in range(len(q))] == ["ring", "from b"]


def test_get_waits_for_the_next():
    async def scenario():
        q = AnnouncementQueue()
        waiter = asyncio.create_task(q.get())
        await asyncio.sleep(0)
        assert not waiter.done()
        q.put("later", Priority.CLIENT)
        q.put("now", Priority.ALARM)
        first = await asyncio.wait_for(waiter, 1)
        return first.text, (await q.get()).text

    assert asyncio.run(scenario()) == ("now", "later")


def test_bad_bounds():
    with pytest.raises(ValueError):
        AnnouncementQueue(max_entries=0)
