import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time

from assistant.intent.parser import Intent
from assistant.skills.alarms import MISSED_AFTER_S, SNOOZE_S, AlarmSkill
from assistant.skills.state import StateStore

UTC = dt.UTC
# the FakeClock starts at 1_750_000_000: Sunday 2025-06-15, 15:06:40 UTC


def say(skill, name, **slots):
    return asyncio.run(skill.handle(Intent(name, slots, "")))


def at(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, UTC).strftime("%a %H:%M")


def test_alarms_set_listed_ring_snooze_and_stop(tmp_path, clock):
    skill = AlarmSkill(StateStore(tmp_path), clock, UTC)
    r = say(skill, "HassSetAlarm", hour=7, minute=30)  # no am/pm: the next time the clock shows 7:30
    assert r.text == "Alarm set for 7:30 PM today." and at(r.data["due_at"]) == "Sun 19:30"
    r = say(skill, "HassSetAlarm", hour=6, meridiem="am", days="weekdays")
    assert r.text == "Alarm set for 6:00 AM on weekdays." and at(r.data["due_at"]) == "Mon 06:00"
    assert say(skill, "HassListAlarms").text == "You have 2 alarms: 7:30 PM today and 6:00 AM on weekdays."
    assert skill.due() == []
    clock.t = skill.items[0]["due_at"] + 1  # Sunday 19:30
    (ring,) = skill.due()
    assert ring.kind == "alarm" and ring.text.startswith("It's 7:30 PM. Your alarm is ringing.")
    assert skill.due() == []  # said once
    assert say(skill, "HassSnoozeAlarm").text == "Snoozed for nine minutes."
    clock.advance(SNOOZE_S)
    assert [a.kind for a in skill.due()] == ["alarm"]
    assert say(skill, "HassStopAlarm").text == "Alarm stopped."
    assert say(skill, "HassStopAlarm").text == "No alarm is ringing."
    assert say(skill, "HassListAlarms").text == "You have 1 alarm: 6:00 AM on weekdays."
    # the repeating one rings on Monday and is then set for Tuesday
    clock.t = skill.items[0]["due_at"]
    assert [a.kind for a in skill.due()] == ["alarm"]
    say(skill, "HassStopAlarm")
    assert at(skill.items[0]["due_at"]) == "Tue 06:00"
    # off from Tuesday to Friday 06:00: Tuesday's is reported missed, and the next one is Monday's
    clock.t = skill.items[0]["due_at"] + 3 * 86400
    assert [a.kind for a in skill.due()] == ["missed"]
    assert at(skill.items[0]["due_at"]) == "Mon 06:00"


def test_cancel_alarms(tmp_path, clock):
    skill = AlarmSkill(StateStore(tmp_path), clock, UTC)
    assert say(skill, "HassCancelAlarm").text == "You have no alarms."
    say(skill, "HassSetAlarm", hour=6, meridiem="am")
    say(skill, "HassSetAlarm", hour=7, minute=15, meridiem="am")
    assert say(skill, "HassCancelAlarm").text.startswith("Which one?")
    assert say(skill, "HassCancelAlarm", hour=7, minute=15).text == "Cancelled your alarm 7:15 AM tomorrow."
    assert say(skill, "HassCancelAlarm", hour=9).text == "I can't find that alarm."
    assert say(skill, "HassCancelAlarm").text == "Cancelled your alarm 6:00 AM tomorrow."
    say(skill, "HassSetAlarm", hour=6, meridiem="am")
    say(skill, "HassSetAlarm", hour=8, meridiem="am")
    assert say(skill, "HassCancelAlarm", all=True).text == "Cancelled all 2 alarms."


def test_reminders(tmp_path, clock):
    skill = AlarmSkill(StateStore(tmp_path), clock, UTC)
    r = say(skill, "HassSetReminder", task="check the oven", minutes=20)
    assert r.text == "I'll remind you to check the oven in twenty minutes."
    r = say(skill, "HassSetReminder", task="call mom", hour=5)
    assert r.text == "I'll remind you to call mom at 5:00 PM today."
    assert say(skill, "HassListReminders").text == (
        "You have 2 reminders: to check the oven at 3:26 PM today and to call mom at 5:00 PM today.")
    clock.advance(20 * 60)
    assert [a.text for a in skill.due()] == ["Reminder: check the oven."]
    assert say(skill, "HassCancelReminder", task="mom").text == "Cancelled your reminder to call mom at 5:00 PM today."
    assert say(skill, "HassListReminders").text == "You have no reminders."


def test_bad_requests_get_answers(tmp_path, clock):
    skill = AlarmSkill(StateStore(tmp_path), clock, UTC)
    assert not say(skill, "HassSetAlarm").success
    assert say(skill, "HassSetAlarm", hour=13, meridiem="pm").text == "That is not a time on the clock."
    assert say(skill, "HassSetAlarm", hour=7, days="someday").text.startswith("On which days?")
    assert say(skill, "HassSetReminder", minutes=5).text == "What should I remind you of?"
    assert not say(skill, "HassSetReminder", task="x").success
    assert say(skill, "HassSnoozeAlarm").text == "No alarm is ringing."


def test_restart_and_downtime(tmp_path, clock):
    store_dir = tmp_path / "state"
    skill = AlarmSkill(StateStore(store_dir), clock, UTC)
    soon = say(skill, "HassSetAlarm", hour=15, minute=30).data["due_at"]  # Sunday 15:30
    say(skill, "HassSetReminder", task="water the plants", hour=16)
    say(skill, "HassSetAlarm", hour=6, meridiem="am", days="daily")
    # the device is off from 15:10 to 15:40: the alarm due at 15:30 rings when it is back (10 min late)
    clock.t = soon + 10 * 60
    back = AlarmSkill(StateStore(store_dir), clock, UTC)
    assert [a.kind for a in back.due()] == ["alarm"]
    back = AlarmSkill(StateStore(store_dir), clock, UTC)  # restarted while it rings: still ringing, stoppable
    assert back.due() == [] and say(back, "HassStopAlarm").text == "Alarm stopped."
    # off again until Monday 09:00: the 16:00 reminder and the 06:00 alarm are reported as missed, once
    clock.t = soon + 17.5 * 3600
    back = AlarmSkill(StateStore(store_dir), clock, UTC)
    said = [a.text for a in back.due()]
    assert said == ["While I was off, I missed reminding you to water the plants at 4:00 PM on Sunday.",
                    "While I was off, I missed your alarm at 6:00 AM today."]
    assert back.due() == []
    assert say(back, "HassListAlarms").text == "You have 1 alarm: 6:00 AM every day."  # the daily one goes on
    assert MISSED_AFTER_S < 17.5 * 3600


_WRITER = r"""
import sys
from assistant.skills.alarms import AlarmSkill
from assistant.skills.state import StateStore
from assistant.intent.parser import Intent
import asyncio
skill = AlarmSkill(StateStore(sys.argv[1]))
print("ready", flush=True)
i = 0
while True:
    i += 1
    asyncio.run(skill.handle(Intent("HassSetReminder", {"task": f"task {i}", "minutes": 5}, "")))
    if len(skill.items) > 40:
        asyncio.run(skill.handle(Intent("HassCancelReminder", {"all": True}, "")))
"""


def test_killed_while_saving_keeps_every_alarm_whole(tmp_path):
    """A power cut while alarms are being written: kill -9 the writer; what is read back is whole."""
    store_dir = tmp_path / "state"
    for attempt in range(3):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(store_dir)], stdout=subprocess.PIPE,
                                cwd=os.getcwd())
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.2 + 0.1 * attempt)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        store = StateStore(store_dir)
        skill = AlarmSkill(store)
        assert store.problems == []
        assert all(i["kind"] == "reminder" and i["task"].startswith("task ") for i in skill.items)
        assert len(skill.items) == len(store.load("alarms", {})["items"])


def test_the_dialogue_announces_reminders_with_timers(tmp_path, clock):
    from assistant.config import parse_config
    from assistant.dialogue import build_dialogue

    dm = build_dialogue(parse_config({"runtime": {"state_dir": str(tmp_path)}}), clock)
    asyncio.run(dm.respond("set a timer for 5 minutes"))
    say(dm.skills.skill_for("HassSetReminder"), "HassSetReminder", task="stir the soup", minutes=5)
    clock.advance(5 * 60)
    assert dm.ringing() == ["Your five minutes timer is done.", "Reminder: stir the soup."]
    assert dm.ringing() == []


def test_clock_times_and_days_as_said():
    from assistant.skills.alarms import parse_clock_time, parse_days

    cases = {
        "seven thirty": {"hour": 7, "minute": 30},
        "six am": {"hour": 6, "minute": 0, "meridiem": "am"},
        "5:30 p.m.": {"hour": 5, "minute": 30, "meridiem": "pm"},
        "half past seven": {"hour": 7, "minute": 30},
        "quarter to eight in the evening": {"hour": 7, "minute": 45, "meridiem": "pm"},
        "seven oh five": {"hour": 7, "minute": 5},
        "twenty past six in the morning": {"hour": 6, "minute": 20, "meridiem": "am"},
        "eighteen hundred": None,
        "five o'clock": {"hour": 5, "minute": 0},
        "noon": {"hour": 12, "minute": 0, "meridiem": "pm"},
        "at 21 15": {"hour": 21, "minute": 15},
        "thirteen pm": None,
        "the kitchen": None,
    }
    assert {t: parse_clock_time(t) for t in cases} == cases
    assert parse_days("on weekdays") == "weekdays"
    assert parse_days("every monday and friday") == "monday and friday"
    assert parse_days("on the moon") is None


def test_a_change_that_cannot_be_saved_is_not_made(tmp_path, clock):
    """Save, then change: when the state cannot be written (here alarms.json is a directory, so the
    atomic rename fails for real), the request fails and memory is as before; what rings still rings."""
    from assistant.skills.state import StateError

    skill = AlarmSkill(StateStore(tmp_path), clock, UTC)
    say(skill, "HassSetAlarm", hour=6, meridiem="am")
    (tmp_path / "alarms.json").unlink()
    (tmp_path / "alarms.json").mkdir()
    for name, slots in (("HassSetAlarm", {"hour": 7, "meridiem": "am"}), ("HassCancelAlarm", {}),
                        ("HassSetReminder", {"task": "call mom", "minutes": 5})):
        try:
            say(skill, name, **slots)
        except StateError:
            pass
        else:
            raise AssertionError(f"{name} reported success without saving")
        assert [(i["hour"], i["kind"]) for i in skill.items] == [(6, "alarm")]
    clock.t = skill.items[0]["due_at"] + 1
    assert [a.kind for a in skill.due()] == ["alarm"]  # rings though it cannot record that it did
    (tmp_path / "alarms.json").rmdir()
    assert say(skill, "HassSetAlarm", hour=8, meridiem="am").text == "Alarm set for 8:00 AM today."  # it is 6 am now
    assert len(AlarmSkill(StateStore(tmp_path), clock, UTC).items) == 2
