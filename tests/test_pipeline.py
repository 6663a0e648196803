"""The pipeline's state machine, event order, barge-in, follow-ups, timeouts, announcements, overload."""

from __future__ import annotations

import asyncio
import dataclasses

import numpy as np
import pytest

from assistant.config import PipelineConfig
from assistant.events import (
    AudioDropped,
    Error,
    SpeechEnded,
    SpeechSynthesized,
    State,
    StateChanged,
    TranscriptFinal,
    TranscriptPartial,
)
from assistant.pipeline import Assistant, AudioQueue, Pacing
from tests.pipeline_doubles import (
    RATE,
    ArraySource,
    EchoDialogue,
    PausingListener,
    RecordingSink,
    ScriptedListener,
    SlicedToneVoice,
    ToneRecognizer,
    ToneVoice,
    tone_audio,
)


def make(cfg=None, pacing=Pacing.STREAM, follow_up_s=2.0, **stages):
    stages.setdefault("recognizer", ToneRecognizer())
    stages.setdefault("dialogue", EchoDialogue(follow_up_s=follow_up_s))
    stages.setdefault("speaker", ToneVoice())
    stages.setdefault("sink", RecordingSink())
    a = Assistant(cfg or PipelineConfig(), sample_rate=RATE, pacing=pacing, **stages)
    events = []
    a.subscribe(events.append)
    return a, events


def run_file(a: Assistant, audio: np.ndarray):
    return asyncio.run(a.run(ArraySource(audio), live=False))


def kinds(events, skip=(TranscriptPartial,)):
    return [e.kind if not isinstance(e, StateChanged) else f"{e.old.value}->{e.new.value}"
            for e in events if not isinstance(e, skip)]


def states(events):
    return [(e.new, round(e.time_s, 2)) for e in events if isinstance(e, StateChanged)]


def test_one_turn_event_order_states_and_reply_audio():
    listener = ScriptedListener(wakes=[1.0], speech=[(1.5, 2.5)])
    a, events = make(listener=listener)
    stats = run_file(a, tone_audio(8.0, [(1.5, 2.5, 440)]))
    assert kinds(events) == [
        "wake-detected", "idle->listening", "speech-started", "speech-ended", "listening->thinking",
        "transcript-final", "intent-recognized", "skill-handled", "thinking->speaking", "speech-synthesized",
        "speaking->listening", "listening->idle",
    ]
    final = next(e for e in events if isinstance(e, TranscriptFinal))
    assert final.text == "what time is it"  # the right audio reached the recogniser
    assert any(isinstance(e, TranscriptPartial) for e in events)
    # Stream pacing: thinking takes no stream time, the reply (6 words x 0.2 s) takes 1.2 s of it,
    # then the follow-up window (2 s) closes with nothing said.
    assert [s for s, _ in states(events)] == [State.LISTENING, State.THINKING, State.SPEAKING,
                                              State.LISTENING, State.IDLE]
    # (times are chunk-granular: 20 ms)
    assert [t for _, t in states(events)] == pytest.approx([1.0, 2.8, 2.8, 4.0, 6.0], abs=0.025)
    assert ("listen", pytest.approx(4.0, abs=0.025)) in listener.calls
    assert a.sink.duration_s == pytest.approx(1.2, abs=0.01)
    assert stats.turns == 1 and stats.dropped_chunks == 0 and stats.errors == 0
    assert stats.audio_s == pytest.approx(8.0)
    assert len(stats.latencies_s) == 1


def test_follow_up_without_wake_word_inside_the_window_only():
    # Second request at 4.5 s, inside the 2 s window after the reply ends at 4.0 s. Its reply
    # ("You said set a timer", 1.0 s) ends at 6.0 s, the window closes at 8.0 s; the third, at 9.5 s
    # without the wake word, is not heard.
    listener = ScriptedListener(wakes=[1.0], speech=[(1.5, 2.5), (4.5, 5.2), (9.5, 10.0)])
    a, events = make(listener=listener)
    run_file(a, tone_audio(12.0, [(1.5, 2.5, 440), (4.5, 5.2, 660), (9.5, 10.0, 880)]))
    finals = [e.text for e in events if isinstance(e, TranscriptFinal)]
    assert finals == ["what time is it", "set a timer"]
    assert states(events)[-1][0] == State.IDLE
    assert a.stats.turns == 2


def test_barge_in_stops_the_reply_and_listens():
    listener = ScriptedListener(wakes=[1.0, 3.3], speech=[(1.5, 2.5), (3.8, 4.6)])
    long_reply = "One two three. Four five six. Seven eight nine. Ten eleven twelve."  # 4 x 0.6 s
    dialogue = EchoDialogue(replies={"what time is it": long_reply})
    a, events = make(listener=listener, dialogue=dialogue)
    run_file(a, tone_audio(10.0, [(1.5, 2.5, 440), (3.8, 4.6, 660)]))
    assert kinds(events)[:14] == [
        "wake-detected", "idle->listening", "speech-started", "speech-ended", "listening->thinking",
        "transcript-final", "intent-recognized", "skill-handled", "thinking->speaking", "speech-synthesized",
        "wake-detected", "speaking->listening", "speech-started", "speech-ended",
    ]
    # The reply started at 2.8 s; the wake word at 3.3 s stopped it inside its first sentence.
    assert [e.text for e in events if isinstance(e, SpeechSynthesized)][:1] == ["One two three"]
    assert not any(isinstance(e, SpeechSynthesized) and e.text == "Four five six" for e in events)
    assert a.sink.stops >= 1
    finals = [e.text for e in events if isinstance(e, TranscriptFinal)]
    assert finals == ["what time is it", "set a timer"]
    assert (State.LISTENING, pytest.approx(3.3, abs=0.025)) in states(events)


def test_no_barge_in_when_disabled():
    listener = ScriptedListener(wakes=[1.0, 3.3], speech=[(1.5, 2.5)])
    a, events = make(PipelineConfig(barge_in=False), follow_up_s=0.0, listener=listener)
    run_file(a, tone_audio(8.0, [(1.5, 2.5, 440)]))
    assert [s for s, _ in states(events)] == [State.LISTENING, State.THINKING, State.SPEAKING, State.IDLE]
    assert ("reset", pytest.approx(3.32, abs=0.03)) in listener.calls


def test_nothing_said_after_the_wake_word_goes_back_to_idle():
    listener = ScriptedListener(wakes=[1.0], leading_s=2.0)
    a, events = make(listener=listener)
    run_file(a, tone_audio(5.0, []))
    assert states(events) == [(State.LISTENING, 1.0), (State.IDLE, 3.0)]
    ended = [e for e in events if isinstance(e, SpeechEnded)]
    assert ended[0].reason == "leading-silence" and a.stats.turns == 0


def test_hanging_skill_times_out_with_a_spoken_apology():
    listener = ScriptedListener(wakes=[1.0], speech=[(1.5, 2.5)])
    cfg = PipelineConfig(turn_timeout_s=0.2)
    a, events = make(cfg, listener=listener, dialogue=EchoDialogue(hang=True))
    run_file(a, tone_audio(6.0, [(1.5, 2.5, 440)]))
    errors = [e for e in events if isinstance(e, Error)]
    assert [e.stage for e in errors] == ["skills"]
    assert a.speaker.synthesized == ["Sorry, that is taking too long"]
    assert states(events)[-1][0] == State.IDLE


def test_failing_skill_gives_the_error_reply_and_keeps_running():
    listener = ScriptedListener(wakes=[1.0, 5.0], speech=[(1.5, 2.5), (5.5, 6.0)])
    a, events = make(follow_up_s=0.0, listener=listener, dialogue=EchoDialogue(fail=True))
    run_file(a, tone_audio(8.0, [(1.5, 2.5, 440), (5.5, 6.0, 660)]))
    assert [e.stage for e in events if isinstance(e, Error)] == ["understanding", "understanding"]
    assert a.speaker.synthesized == ["Sorry, something went wrong"] * 2


def test_missing_stages_are_reported_and_the_rest_runs():
    listener = ScriptedListener(wakes=[1.0], speech=[(1.5, 2.5)])
    a, events = make(listener=listener, recognizer=None)
    run_file(a, tone_audio(4.0, [(1.5, 2.5, 440)]))
    assert [e.stage for e in events if isinstance(e, Error)] == ["recognition"]
    assert states(events)[-1][0] == State.IDLE
    b, events = make(listener=None, recognizer=None, dialogue=None, speaker=None, sink=None)
    stats = run_file(b, tone_audio(2.0, []))
    assert stats.audio_s == pytest.approx(2.0) and events == []


def test_injected_text_is_answered_then_announcement_waits_for_idle():
    async def scenario():
        a, events = make(follow_up_s=0.0, pacing=Pacing.REALTIME,
                         listener=ScriptedListener(), dialogue=EchoDialogue(delay_s=0.1, follow_up_s=0.0),
                         speaker=ToneVoice(word_s=0.02))
        task = asyncio.create_task(a.run())
        await asyncio.sleep(0.05)
        a.inject_text("set a timer")
        await asyncio.sleep(0.02)
        a.announce("Your timer is done.")  # arrives while thinking: spoken after the reply
        for _ in range(200):
            await asyncio.sleep(0.01)
            if len(a.speaker.synthesized) == 2 and a.state == State.IDLE:
                break
        a.end_of_input()
        await asyncio.wait_for(task, 2)
        return a, events

    a, events = asyncio.run(scenario())
    assert a.speaker.synthesized == ["You said set a timer", "Your timer is done"]
    assert [s for s, _ in states(events)] == [State.THINKING, State.SPEAKING, State.IDLE,
                                              State.THINKING, State.SPEAKING, State.IDLE]
    final = next(e for e in events if isinstance(e, TranscriptFinal))
    assert final.engine == "injected"


def test_overload_drops_the_oldest_audio_and_counts_it():
    async def scenario():
        listener = ScriptedListener(feed_delay_s=0.002)
        a, events = make(PipelineConfig(queue_s=0.1), pacing=Pacing.REALTIME, listener=listener)
        task = asyncio.create_task(a.run())
        await asyncio.sleep(0.01)
        chunk = RATE // 50
        for i in range(200):  # 4 s of audio arrives at once; the queue holds 0.1 s
            a.push_audio(np.full(chunk, i / 1000, np.float32))
        a.end_of_input()
        stats = await asyncio.wait_for(task, 5)
        return listener, events, stats

    listener, events, stats = asyncio.run(scenario())
    processed = len(listener.first_samples)
    assert stats.dropped_chunks == 200 - processed > 150
    assert stats.dropped_s == pytest.approx(stats.dropped_chunks * 0.02)
    # What survived is in order and ends with the newest audio (the oldest was dropped).
    seen = [round(x * 1000) for x in listener.first_samples]
    assert seen == sorted(seen) and seen[-1] == 199 and len(set(seen)) == processed
    drops = [e for e in events if isinstance(e, AudioDropped)]
    assert drops and drops[-1].total_chunks == stats.dropped_chunks


def test_files_are_never_dropped_however_slow_listening_is():
    listener = ScriptedListener(feed_delay_s=0.001)
    a, _ = make(PipelineConfig(queue_s=0.1), listener=listener)
    stats = run_file(a, tone_audio(3.0, []))
    assert stats.dropped_chunks == 0 and len(listener.first_samples) == 150


def test_audio_queue_bounds():
    q = AudioQueue(max_samples=100)
    for i in range(5):
        q.push(np.full(40, i, np.float32))
    assert q.dropped_chunks == 3 and len(q) == 2
    assert q.try_put(np.full(40, 5, np.float32))  # 80 of 100 samples: room
    assert not q.try_put(np.zeros(40, np.float32))  # full: a file source waits instead of dropping
    assert not q.put(np.zeros(40, np.float32), timeout=0.01)
    assert [int(q.get()[0]) for _ in range(3)] == [3, 4, 5]
    with pytest.raises(TimeoutError):
        q.get(timeout=0.01)
    q.close()
    assert q.get() is None


def test_stop_ends_run_promptly_mid_turn():
    async def scenario():
        a, events = make(pacing=Pacing.REALTIME, listener=ScriptedListener(),
                         dialogue=EchoDialogue(hang=True))
        task = asyncio.create_task(a.run())
        await asyncio.sleep(0.05)
        a.inject_text("tell me a story")
        await asyncio.sleep(0.05)
        assert a.state == State.THINKING
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        a.stop()
        await asyncio.wait_for(task, 2)
        return loop.time() - t0

    assert asyncio.run(scenario()) < 0.5


def test_config_checks():
    from assistant.config import ConfigError, parse_config

    with pytest.raises(ConfigError, match="pipeline.queue_s"):
        parse_config({"pipeline": {"queue_s": 0}})
    with pytest.raises(ConfigError, match="pipeline.input"):
        parse_config({"pipeline": {"input": "telepathy"}})
    with pytest.raises(ConfigError, match=r"pipeline.follow_up_s: moved to dialogue.follow_up_s"):
        parse_config({"pipeline": {"follow_up_s": 0}})  # one follow-up window: the dialogue's


class FlakySource:
    """A live source that delivers ``n`` chunks of value ``v`` and then fails (a microphone unplugged)."""

    sample_rate = RATE

    def __init__(self, v: float, n: int, fail: bool = True) -> None:
        self.v, self.n, self.fail = v, n, fail
        self.closed = False

    def chunks(self):
        for _ in range(self.n):
            yield np.full(RATE // 50, self.v, np.float32)
        if self.fail:
            raise OSError("device unplugged")

    def close(self) -> None:
        self.closed = True


def test_live_source_that_disappears_is_reopened(monkeypatch):
    import assistant.pipeline.sources as sources

    monkeypatch.setattr(sources, "REOPEN_MIN_S", 0.01)
    attempts = []

    def reopen():
        attempts.append(len(attempts))
        if len(attempts) == 1:
            raise OSError("no such device")  # still gone on the first try
        return FlakySource(0.5, 10, fail=False)

    async def scenario():
        listener = ScriptedListener()
        a, events = make(pacing=Pacing.REALTIME, listener=listener)
        task = asyncio.create_task(a.run(FlakySource(0.25, 10), live=True, reopen=reopen))
        for _ in range(300):
            await asyncio.sleep(0.01)
            if len(listener.first_samples) == 20:
                break
        a.stop()
        await asyncio.wait_for(task, 2)
        return listener, events

    listener, events = asyncio.run(scenario())
    # audio before and after the outage (a live source that ends is reopened too, so more may follow)
    assert listener.first_samples[:20] == [0.25] * 10 + [0.5] * 10
    assert attempts[:2] == [0, 1]
    errors = [e for e in events if isinstance(e, Error)]
    assert errors and errors[0].stage == "audio" and "device unplugged" in errors[0].message


def test_a_file_source_that_fails_ends_the_input_with_an_error():
    a, events = make(listener=ScriptedListener())
    stats = asyncio.run(a.run(FlakySource(0.1, 5), live=False))
    assert stats.chunks == 5
    assert [e.stage for e in events if isinstance(e, Error)] == ["audio"]


def test_watchdog_pings_from_the_loop_and_stops_when_listening_wedges():
    class WedgingListener(ScriptedListener):
        def feed(self, samples):
            if len(self.first_samples) == 5:
                wedged.wait(5)  # a model stuck in a call
            return super().feed(samples)

    import threading

    wedged = threading.Event()
    pings: list[float] = []

    async def scenario():
        loop = asyncio.get_running_loop()
        a, _ = make(pacing=Pacing.REALTIME, listener=WedgingListener())
        task = asyncio.create_task(a.run(watchdog=lambda: pings.append(loop.time()),
                                         watchdog_interval_s=0.05))
        for _ in range(5):
            a.push_audio(np.zeros(320, np.float32))
        await asyncio.sleep(0.3)
        healthy = len(pings)
        for _ in range(20):  # audio keeps coming; listening is stuck on the sixth chunk
            a.push_audio(np.zeros(320, np.float32))
            await asyncio.sleep(0.02)
        stuck_pings = len(pings) - healthy
        wedged.set()
        await asyncio.sleep(0.2)
        a.stop()
        await asyncio.wait_for(task, 2)
        return healthy, stuck_pings, pings

    healthy, stuck_pings, pings = asyncio.run(scenario())
    assert healthy >= 4           # every 50 ms while healthy
    assert stuck_pings <= 3       # only until the stuck call has lasted about one interval
    gaps = [b - a for a, b in zip(pings, pings[1:], strict=False)]
    assert max(gaps) > 0.25  # then silence: systemd would restart it
    assert len(pings) > healthy + stuck_pings  # pings resume once listening catches up


def test_an_hour_of_audio_as_fast_as_possible_loses_nothing_and_stays_bounded():
    """Two minutes here (an hour: tools/bench_runtime.py --hour); a wake word every 10 s, nothing said."""
    minutes = 2
    wakes = [5.0 + 10 * i for i in range(6 * minutes)]
    listener = ScriptedListener(wakes=wakes, leading_s=2.0)
    a, events = make(PipelineConfig(queue_s=0.2), listener=listener)
    stats = run_file(a, np.zeros(60 * minutes * RATE, np.float32))
    assert stats.dropped_chunks == 0 and stats.chunks == 60 * minutes * 50
    assert len([e for e in events if e.kind == "wake-detected"]) == len(wakes)
    assert [s for s, _ in states(events)] == [State.LISTENING, State.IDLE] * len(wakes)


def test_timers_ring_while_idle_through_the_dialogues_ringing(monkeypatch):
    import assistant.pipeline.announcements as announcements

    monkeypatch.setattr(announcements, "RING_POLL_S", 0.01)

    class RingingDialogue(EchoDialogue):
        due: list[str] = ["Your five minute timer is done."]

        def ringing(self) -> list[str]:
            out, self.due = self.due, []
            return out

    async def scenario():
        a, events = make(pacing=Pacing.REALTIME, listener=ScriptedListener(), dialogue=RingingDialogue(),
                         speaker=ToneVoice(word_s=0.01))
        task = asyncio.create_task(a.run())
        for _ in range(200):
            await asyncio.sleep(0.01)
            if a.speaker.synthesized and a.state == State.IDLE:
                break
        a.stop()
        await asyncio.wait_for(task, 2)
        return a, events

    a, events = asyncio.run(scenario())
    assert a.speaker.synthesized == ["Your five minute timer is done"]
    assert a.dialogue.spoken_announcements == ["Your five minute timer is done."]  # it rang: forgettable
    assert [s for s, _ in states(events)] == [State.THINKING, State.SPEAKING, State.IDLE]


def test_a_turn_may_set_its_own_follow_up_window():
    listener = ScriptedListener(wakes=[1.0], speech=[(1.5, 2.5)])

    class QuickFollowUp(EchoDialogue):
        async def respond(self, text, alternatives=(), confidence=1.0):
            turn = await super().respond(text)
            return dataclasses.replace(turn, follow_up_s=0.5)

    a, events = make(listener=listener, dialogue=QuickFollowUp())
    run_file(a, tone_audio(6.0, [(1.5, 2.5, 440)]))
    assert [t for _, t in states(events)][-2:] == pytest.approx([4.0, 4.5], abs=0.025)


def test_nothing_heard_reaches_the_log_at_the_default_level(caplog):
    import logging

    caplog.set_level(logging.WARNING)
    listener = ScriptedListener(wakes=[1.0], speech=[(1.5, 2.5)])
    a, _ = make(PipelineConfig(turn_timeout_s=0.1), follow_up_s=0.0, listener=listener,
                dialogue=EchoDialogue(hang=True), speaker=None)
    run_file(a, tone_audio(4.0, [(1.5, 2.5, 440)]))
    assert caplog.records  # the timeout and the missing voice are logged...
    assert "what time is it" not in caplog.text  # ...without the transcript


def test_a_speaker_that_streams_slices_plays_them_all_with_one_event_a_sentence():
    listener = ScriptedListener(wakes=[1.0], speech=[(1.5, 2.5)])
    voice = SlicedToneVoice(slices=3)
    dialogue = EchoDialogue(replies={"what time is it": "One two three. Four five."})
    a, events = make(listener=listener, speaker=voice, dialogue=dialogue)
    run_file(a, tone_audio(8.0, [(1.5, 2.5, 440)]))
    synthesized = [e for e in events if isinstance(e, SpeechSynthesized)]
    assert [e.text for e in synthesized] == ["One two three", "Four five"]
    assert [e.duration_s for e in synthesized] == pytest.approx([0.6, 0.4], abs=1e-3)  # whole sentences
    assert len(a.sink.played) == 6 and a.sink.duration_s == pytest.approx(1.0, abs=1e-3)
    assert len(a.stats.latencies_s) == 1


def test_barge_in_during_a_sliced_reply_closes_the_stream():
    listener = ScriptedListener(wakes=[1.0, 3.3], speech=[(1.5, 2.5), (3.8, 4.6)])
    voice = SlicedToneVoice(slices=4)
    long_reply = "One two three. Four five six. Seven eight nine. Ten eleven twelve."
    a, events = make(listener=listener, speaker=voice, dialogue=EchoDialogue(replies={"what time is it": long_reply}))
    run_file(a, tone_audio(10.0, [(1.5, 2.5, 440), (3.8, 4.6, 660)]))
    assert a.sink.stops >= 1
    assert [e.text for e in events if isinstance(e, TranscriptFinal)] == ["what time is it", "set a timer"]
    assert not any(isinstance(e, SpeechSynthesized) and e.text == "Seven eight nine" for e in events)
    assert a.stats.errors == 0


def test_the_transcript_is_decoded_at_the_pause_and_used_when_nothing_more_is_said():
    listener = PausingListener(wakes=[1.0], speech=[(1.5, 2.5)], trailing_s=0.5)
    recognizer = ToneRecognizer()
    a, events = make(listener=listener, recognizer=recognizer)
    run_file(a, tone_audio(8.0, [(1.5, 2.5, 440)]))
    assert recognizer.heard == ["what time is it"]  # one decode: the early one was used
    assert a.stats.early_decodes == 1
    assert [e.text for e in events if isinstance(e, TranscriptFinal)] == ["what time is it"]
    assert kinds(events)[:6] == ["wake-detected", "idle->listening", "speech-started", "speech-ended",
                                 "listening->thinking", "transcript-final"]


def test_an_early_decode_is_dropped_when_speech_resumes_after_the_pause():
    # a 0.3 s pause (longer than the 0.1 s pre-roll, shorter than the 0.5 s trailing silence)
    listener = PausingListener(wakes=[1.0], speech=[(1.5, 2.0)], trailing_s=0.5)
    recognizer = ToneRecognizer()
    a, events = make(listener=listener, recognizer=recognizer)

    real_feed = PausingListener.feed

    def feed(samples):  # the speaker goes on after the pause: the span grows to 2.8 s
        if listener._current == (1.5, 2.0) and listener._t >= 2.3:
            listener._current = (1.5, 2.8)
        return real_feed(listener, samples)

    listener.feed = feed
    run_file(a, tone_audio(8.0, [(1.5, 2.0, 440), (2.3, 2.8, 440)]))
    # decoded at the first pause (dropped: the audio went on), then at the second (used)
    assert len(recognizer.heard) == 2 and a.stats.early_decodes == 1
    assert recognizer.lengths == [int(0.7 * RATE), int(1.5 * RATE)]  # 1.4..2.1 s, then 1.4..2.9 s
    assert [e.text for e in events if isinstance(e, TranscriptFinal)] == ["what time is it"]


def test_stop_without_the_wake_word_cuts_the_reply_and_does_not_listen():
    listener = ScriptedListener(wakes=[1.0], speech=[(1.5, 2.5)], stops=[3.3])
    long_reply = "One two three. Four five six. Seven eight nine. Ten eleven twelve."  # 4 x 0.6 s
    a, events = make(listener=listener, dialogue=EchoDialogue(replies={"what time is it": long_reply}))
    run_file(a, tone_audio(8.0, [(1.5, 2.5, 440)]))
    assert [e.text for e in events if isinstance(e, SpeechSynthesized)] == ["One two three"]
    assert a.sink.stops >= 1
    assert [s for s, _ in states(events)] == [State.LISTENING, State.THINKING, State.SPEAKING, State.IDLE]
    assert (State.IDLE, pytest.approx(3.3, abs=0.025)) in states(events)
    assert "stop-heard" in kinds(events)


def test_stop_while_idle_is_nothing_unless_something_rings():
    dialogue = EchoDialogue()
    a, events = make(listener=ScriptedListener(stops=[0.5]), dialogue=dialogue)
    run_file(a, tone_audio(2.0, []))
    assert states(events) == [] and dialogue.stopped == 0 and "stop-heard" in kinds(events)
    # an alarm that has been announced rings on until it is stopped: "stop" stops it
    dialogue = EchoDialogue(rings=["Your alarm is ringing. Say stop, or snooze."])
    a, events = make(listener=ScriptedListener(stops=[0.5]), dialogue=dialogue)
    run_file(a, tone_audio(2.0, []))
    assert dialogue.stopped == 1 and not dialogue.is_ringing() and states(events) == []


def test_the_recognisers_confidence_reaches_the_dialogue():
    """The dialogue learns rephrasings only from what was heard surely: it is told how surely."""
    dialogue = EchoDialogue()
    a, _ = make(listener=ScriptedListener(wakes=[1.0], speech=[(1.5, 2.5)]),
                recognizer=ToneRecognizer(confidence=0.42), dialogue=dialogue)
    run_file(a, tone_audio(5.0, [(1.5, 2.5, 440)]))
    assert dialogue.handled == ["what time is it"] and dialogue.confidences == [0.42]
