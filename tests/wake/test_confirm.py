"""The wake word's second look (assistant/wake/confirm.py): the recogniser's Whisper confirms what a head
heard, on the demo recording and real recorded speech, through the listener as the device runs it."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.asr.whisper import WhisperModel
from assistant.audio.io import read_audio, write_audio
from assistant.config import (
    ConfigError,
    EndpointConfig,
    RuntimeConfig,
    VadConfig,
    WakeConfig,
    WakeConfirmConfig,
    WakeWordConfig,
    WhisperConfig,
    load_config,
)
from assistant.events import SpeechEnded, SpeechStarted, WakeDetected
from assistant.listener import Listener
from assistant.wake.confirm import WakeConfirm, spellings
from assistant.wake.evaluate import evaluate_confirmed
from assistant.wake.wakeset import WakeSet
from tests.conftest import DEMO_WAV, librivox_wavs

RATE = 16000


@pytest.fixture(scope="module")
def whisper(registry) -> WhisperModel:
    return WhisperModel.load(WhisperConfig(), RuntimeConfig(), registry)


@pytest.fixture(scope="module")
def demo() -> np.ndarray:
    return read_audio(DEMO_WAV, RATE).samples


def run(listener, x, chunk):
    listener.reset()
    events, utterances = [], []
    for i in range(0, len(x), chunk):
        events += listener.feed(x[i : i + chunk])
        while (u := listener.take_utterance()) is not None:
            utterances.append(u)
    events += listener.finish()
    while (u := listener.take_utterance()) is not None:
        utterances.append(u)
    return events, utterances


def test_spellings_cover_how_whisper_writes_a_phrase():
    assert spellings("hey jarvis") == ("Hey Jarvis", "Hey, Jarvis", "Hey jarvis", "Hi Jarvis", "Hi, Jarvis",
                                       "Hi jarvis")
    assert "OK Nabu" in spellings("okay nabu") and "Okay, Nabu" in spellings("okay nabu")
    assert spellings("alexa") == ("Alexa",)
    with pytest.raises(ValueError):
        spellings("  ")


def test_the_phrase_opens_the_demo_and_other_phrases_do_not(whisper, demo):
    wake = demo[: int(1.6 * RATE)]  # "Hey Jarvis."
    confirm = WakeConfirm(WakeConfirmConfig(), whisper, {"hey_jarvis": "hey jarvis", "alexa": "alexa",
                                                         "hey_mycroft": "hey mycroft"})
    said = confirm.check("hey_jarvis", wake)
    assert said.accepted and said.logprob > -2.0
    for other in ("alexa", "hey_mycroft"):
        c = confirm.check(other, wake)
        assert not c.accepted and c.logprob < said.logprob - 3
    assert whisper.opening_logprob(np.zeros(RATE, np.float32), ["Hey Jarvis"]) == float("-inf")


def test_the_listener_hears_the_same_request_with_the_second_look(registry, whisper, demo):
    """The detection is decided ``delay_s`` after the candidate but keeps its time, and the listener hears
    again what followed: the same events and utterances whatever the chunk size, and the requests the
    heads alone give."""
    alone = Listener.load(WakeConfig(), VadConfig(), EndpointConfig(), RuntimeConfig(), registry)
    staged = Listener.load(WakeConfig(), VadConfig(), EndpointConfig(), RuntimeConfig(), registry, whisper)
    assert staged.wake.confirm is not None and alone.wake.confirm is None
    assert staged.wake.heads[0].threshold < alone.wake.heads[0].threshold  # the head's candidate threshold
    x = np.concatenate([demo, np.zeros(RATE, np.float32), demo])
    ref_events, ref_utts = run(staged, x, 1280)
    assert [type(e) for e in ref_events] == [WakeDetected, SpeechStarted, SpeechEnded] * 2
    for chunk in (160, 777, 16000, len(x)):
        events, utts = run(staged, x, chunk)
        assert events == ref_events
        assert len(utts) == 2 and all(np.array_equal(u, r) for u, r in zip(utts, ref_utts, strict=True))
    alone_events, alone_utts = run(alone, x, 1280)
    assert [type(e) for e in alone_events] == [type(e) for e in ref_events]
    for u, r in zip(alone_utts, ref_utts, strict=True):
        assert abs(len(u) - len(r)) <= 0.3 * RATE


def test_speech_that_fires_a_head_is_not_taken_for_the_wake_word(registry, whisper):
    """Real read speech (the LibriVox recordings, 25 s) with the head's candidate threshold at almost
    nothing: it fires now and then, and Whisper confirms none of it."""
    speech = np.concatenate([read_audio(p, RATE).samples for p in librivox_wavs()])
    cfg = WakeConfig(words={"wake/own/hey_jarvis": WakeWordConfig(threshold=0.0005)}, refractory_s=0.5)
    listener = Listener.load(cfg, VadConfig(), EndpointConfig(), RuntimeConfig(), registry, whisper)
    events, _ = run(listener, speech, 1280)
    stream = listener._wake_stream
    assert stream.looks >= 2
    assert not [e for e in events if isinstance(e, WakeDetected)]
    assert all(not c.accepted for c in stream.confirmations)


def test_the_whole_stage_is_evaluated_as_the_device_runs_it(registry, whisper, demo, speech, tmp_path):
    pos, neg = tmp_path / "pos", tmp_path / "neg"
    pos.mkdir()
    neg.mkdir()
    write_audio(pos / "a.wav", demo, RATE)
    write_audio(pos / "b.wav", demo[: int(1.6 * RATE)], RATE)
    write_audio(neg / "speech.wav", speech[: 20 * RATE], RATE)
    wake = WakeSet.load(WakeConfig(), RuntimeConfig(), registry, whisper)
    (r,) = evaluate_confirmed(wake, pos, [neg], RATE, hard_negatives=[neg])
    s = r.summary()
    assert s["recall"] == 1.0 and s["candidate_recall"] == 1.0 and s["positives"] == 2
    assert s["false_accepts"] == 0 and s["negative_hours"] == pytest.approx(len(speech[: 20 * RATE]) / RATE / 3600, abs=1e-4)
    assert s["hard_negatives"][str(neg)] == {"clips": 1, "accepted": 0, "accept_rate": 0.0}
    assert s["second_look_cpu_ms"] is not None and s["second_look_cpu_ms"] > 0
    with pytest.raises(ValueError, match="second look"):
        evaluate_confirmed(WakeSet.load(WakeConfig(), RuntimeConfig(), registry), pos, [neg])


def test_bad_second_look_settings_are_config_errors(tmp_path):
    for key, value in (("min_logprob", "0.5"), ("threshold", "1.5"), ("window_s", "0.1"), ("delay_s", "3"),
                       ("surprise", "1")):
        path = tmp_path / f"{key}.toml"
        path.write_text(f"[wake.confirm]\n{key} = {value}\n")
        with pytest.raises(ConfigError, match=f"wake.confirm.{key}"):
            load_config(path)


def test_samples_that_are_not_finite_reach_the_second_look_as_the_heads_hear_them(registry, whisper, demo):
    wake = WakeSet.load(WakeConfig(), RuntimeConfig(), registry, whisper)
    stream = wake.stream()
    x = np.concatenate([demo[: int(1.6 * RATE)], np.zeros(RATE, np.float32)])
    x[100:200] = np.nan
    x[300] = np.inf
    events = [e for i in range(0, len(x), 1280) for e in stream.feed(x[i : i + 1280])]
    assert [e.name for e in events] == ["hey_jarvis"] and stream.looks >= 1
