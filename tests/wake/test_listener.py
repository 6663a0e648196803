"""The listener: wake word -> endpointing -> utterance, on the demo recording and real speech."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio.io import read_audio
from assistant.config import EndpointConfig, RuntimeConfig, VadConfig, WakeConfig
from assistant.events import SpeechEnded, SpeechStarted, WakeDetected
from assistant.listener import Listener, ListenState
from assistant.vad.endpointer import Endpointer
from assistant.vad.speech_prob import load_speech_prob
from assistant.wake.detector import WakeWordModel
from tests.conftest import DEMO_WAV

RATE = 16000


@pytest.fixture(scope="module")
def listener(registry):
    from assistant.config import WakeConfig

    wake = WakeWordModel.load(WakeConfig(), RuntimeConfig(), registry)
    vad = load_speech_prob(VadConfig(), RuntimeConfig(), registry)
    return Listener(wake, Endpointer(EndpointConfig(), vad))


def run(listener, x, chunk):
    listener.reset()
    events, utterances = [], []
    for i in range(0, len(x), chunk):
        events += listener.feed(x[i : i + chunk])
        u = listener.take_utterance()
        if u is not None:
            utterances.append(u)
    events += listener.finish()
    u = listener.take_utterance()
    if u is not None:
        utterances.append(u)
    return events, utterances


def test_demo_wake_then_utterance(listener):
    demo = read_audio(DEMO_WAV, RATE).samples
    events, utterances = run(listener, demo, 320)
    assert [type(e) for e in events] == [WakeDetected, SpeechStarted, SpeechEnded]
    wake, started, ended = events
    assert wake.name == "hey_jarvis"
    assert wake.time_s < started.time_s < ended.time_s
    assert ended.reason == "trailing-silence"
    assert ended.start_s == started.time_s
    (audio,) = utterances
    # "Set a timer for five minutes." with pre-roll: between 1.2 and 3 s of audio, taken from the demo
    assert 1.2 < len(audio) / RATE < 3.0
    start = round((started.time_s - listener.endpointer.cfg.pre_roll_s) * RATE)
    np.testing.assert_array_equal(audio, demo[start : start + len(audio)])
    assert listener.state == ListenState.IDLE


def test_chunk_size_does_not_change_what_is_heard(listener):
    demo = read_audio(DEMO_WAV, RATE).samples
    x = np.concatenate([demo, np.zeros(RATE, np.float32), demo])
    ref_events, ref_utts = run(listener, x, 1280)
    assert [e.kind for e in ref_events].count("wake-detected") == 2
    for chunk in (160, 777, 16000, len(x)):
        events, utts = run(listener, x, chunk)
        assert events == ref_events
        assert [len(u) for u in utts] == [len(u) for u in ref_utts]


def test_push_to_talk_and_end_of_input(listener, speech):
    listener.reset()
    listener.listen()
    events = listener.feed(speech[: RATE * 3])  # read speech that has not ended yet
    events += listener.finish()
    assert [type(e) for e in events] == [SpeechStarted, SpeechEnded]
    assert events[-1].reason in ("end-of-input", "trailing-silence")
    assert listener.take_utterance().size > RATE


def test_no_speech_after_wake_times_out(listener):
    demo = read_audio(DEMO_WAV, RATE).samples
    wake_only = demo[: int(1.6 * RATE)]  # "Hey Jarvis." then silence
    x = np.concatenate([wake_only, np.zeros(RATE * 5, np.float32)])
    events, utterances = run(listener, x, 320)
    assert [type(e) for e in events] == [WakeDetected, SpeechEnded]
    assert events[1].reason == "leading-silence"
    assert utterances[0].size == 0


def test_load_from_config(registry):
    lst = Listener.load(WakeConfig(), VadConfig(), EndpointConfig(), RuntimeConfig(), registry)
    assert lst.wake.heads[0].name == "hey_jarvis" and lst.endpointer.vad.name == "silero"


def test_a_stop_head_is_heard_without_waking(registry):
    """``[wake] stop_model``: its head runs beside the wake words on the same front end, and what it hears
    is ``StopHeard``; the listener does not start listening (here the demo's "hey jarvis" stands in for
    "stop")."""
    from assistant.events import StopHeard

    cfg = WakeConfig(models=("wake/alexa",), stop_model="wake/hey_jarvis")
    wake = WakeWordModel.load(cfg, RuntimeConfig(), registry)
    assert [(h.name, h.stop) for h in wake.heads] == [("alexa", False), ("hey_jarvis", True)]
    listener = Listener(wake, Endpointer(EndpointConfig(), load_speech_prob(VadConfig(), RuntimeConfig(), registry)))
    events, utterances = run(listener, read_audio(DEMO_WAV, RATE).samples, 320)
    assert [type(e) for e in events] == [StopHeard] and utterances == []
    assert listener.state == ListenState.IDLE


def test_the_stop_model_is_checked_at_load():
    from assistant.config import ConfigError

    with pytest.raises(ConfigError, match="wake.stop_model"):
        WakeConfig(models=("wake/alexa",), stop_model="wake/alexa")
