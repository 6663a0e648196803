import asyncio

from assistant.intent.parser import Intent
from assistant.skills.state import StateStore
from assistant.skills.timers import TimerSkill


def run(skill, parser, text):
    intent = parser.parse(text)
    assert intent is not None and intent.name in skill.intents, text
    return asyncio.run(skill.handle(intent))


def test_several_named_timers_pause_resume_extend_and_ring(tmp_path, clock, parser):
    skill = TimerSkill(StateStore(tmp_path), clock)
    assert run(skill, parser, "set a pasta timer for 10 minutes").text == "Pasta timer set for ten minutes."
    assert (
        run(skill, parser, "set a timer for five and a half minutes").text
        == "Timer set for five minutes and thirty seconds."
    )
    assert run(skill, parser, "how much time is left").text.startswith("You have 2 timers")
    clock.advance(60)
    assert (
        run(skill, parser, "how long is left on the pasta timer").text
        == "The pasta timer has nine minutes left."
    )
    assert run(skill, parser, "pause the pasta timer").text == "Paused the pasta timer."
    clock.advance(600)
    rung = skill.due()
    assert [r.text for r in rung] == ["Your five minutes and thirty seconds timer is done."]
    assert (
        run(skill, parser, "how much time is left on the pasta timer").text
        == "The pasta timer has nine minutes left (paused)."
    )
    assert run(skill, parser, "resume the pasta timer").text == "Resumed the pasta timer."
    assert (
        run(skill, parser, "add 5 minutes to the pasta timer").text
        == "Added five minutes to the pasta timer. Fourteen minutes left."
    )
    assert (
        run(skill, parser, "take two minutes off the timer").text
        == "Took two minutes off the pasta timer. Twelve minutes left."
    )
    clock.advance(12 * 60)
    assert [r.text for r in skill.due()] == ["Your pasta timer is done."]
    assert skill.due() == []


def test_timers_survive_a_restart_and_ring_after_it(tmp_path, clock, parser):
    skill = TimerSkill(StateStore(tmp_path), clock)
    run(skill, parser, "set an egg timer for six minutes")
    run(skill, parser, "set a timer for 1 hour")
    run(skill, parser, "pause the 1 hour timer")
    clock.advance(400)  # the device was off while the egg timer ended
    again = TimerSkill(StateStore(tmp_path), clock)
    assert [r.text for r in again.due()] == ["Your egg timer is done."]
    assert again.timers[0]["remaining_s"] == 3600 and again.timers[0]["ends_at"] is None


def test_finding_timers(tmp_path, clock, parser):
    skill = TimerSkill(StateStore(tmp_path), clock)
    assert run(skill, parser, "cancel the timer").text == "You have no timers running."
    run(skill, parser, "set a 10 minute timer")
    run(skill, parser, "set a timer for 20 minutes called laundry")
    assert (
        run(skill, parser, "cancel the timer").text
        == "Which one? You have the ten minutes timer and the laundry timer."
    )
    assert run(skill, parser, "cancel the pizza timer").text == "You have no pizza timer."
    assert run(skill, parser, "cancel the 3 minute timer").text == "You have no three minutes timer."
    assert run(skill, parser, "cancel the 10 minute timer").text == "Cancelled the ten minutes timer."
    assert run(skill, parser, "cancel all timers").text == "Cancelled your timer."


def test_bad_requests_get_answers(tmp_path, clock, parser):
    skill = TimerSkill(StateStore(tmp_path), clock)
    assert not asyncio.run(skill.handle(Intent("HassStartTimer", {}, ""))).success
    assert (
        asyncio.run(skill.handle(Intent("HassStartTimer", {"hours": 30}, ""))).text
        == "Timers can run for at most a day."
    )
    run(skill, parser, "set a timer for 1 minute")
    r = run(skill, parser, "remove 5 minutes from the timer")
    assert not r.success and "left" in r.text


def test_corrupt_timer_state_starts_afresh(tmp_path, clock, parser):
    (tmp_path / "timers.json").write_text('{"next_id": 3, "timers": [{"id": "x"}, 5]}')
    skill = TimerSkill(StateStore(tmp_path), clock)
    assert skill.timers == []
    (tmp_path / "timers.json").write_text("{not json")
    store = StateStore(tmp_path)
    skill = TimerSkill(store, clock)
    assert skill.timers == [] and store.problems
