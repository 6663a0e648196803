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
    hours = len(speech[: 20 * RATE]) / RATE / 3600
    assert s["false_accepts"] == 0 and s["negative_hours"] == pytest.approx(hours, abs=1e-4)
    assert s["hard_negatives"][str(neg)] == {"clips": 1, "accepted": 0, "accept_rate": 0.0}
    assert s["second_look_cpu_ms"] is not None and s["second_look_cpu_ms"] > 0
    with pytest.raises(ValueError, match="second look"):
        evaluate_confirmed(WakeSet.load(WakeConfig(), RuntimeConfig(), registry), pos, [neg])


def test_the_spellings_tree_scores_each_spelling_as_teacher_forcing_it_alone_does(whisper, demo):
    """The look decodes the spellings a level at a time, in batches; the oracle feeds one spelling's
    tokens one step at a time. They agree to the int8 decoder's batch-dependent rounding."""
    from assistant.asr.search import log_softmax
    from assistant.asr.whisper_mel import log_mel

    x = demo[: 2 * RATE]
    for min_s, prompt in ((4.0, False), (15.0, True)):
        mel = log_mel(x)
        cross = whisper._encode(mel[:, : whisper._utterance_frames(len(x), mel.shape[1], min_s)])
        start = whisper._prompt() if prompt else [whisper.tokenizer.sot, whisper.tokenizer.no_timestamps]
        for phrase in ("hey jarvis", "okay nabu", "alexa"):
            alone = []
            for text in spellings(phrase):
                logits, kv = whisper._step(np.array([start], np.int64), 0, whisper._empty_kv(1), cross)
                body, total = whisper.tokenizer.encode(" " + text), 0.0
                for i, t in enumerate(body):
                    total += float(log_softmax(whisper._mask(logits.copy(), i == 0).astype(np.float64))[0, t])
                    logits, kv = whisper._step(np.array([[t]], np.int64), len(start) + i, kv, cross)
                alone.append(total / len(body))
            tree = whisper.opening_logprob(x, spellings(phrase), min_s=min_s, prompt=prompt)
            assert tree == pytest.approx(max(alone), abs=0.05), (phrase, min_s, prompt)


def test_the_look_needs_no_recogniser_prompt(registry, demo):
    """The look's spellings are encoded with the tokenizer's merges, which load whatever the prompt."""
    bare = WhisperModel.load(WhisperConfig(prompt=""), RuntimeConfig(), registry)
    confirm = WakeConfirm(WakeConfirmConfig(), bare, {"hey_jarvis": "hey jarvis"})
    assert confirm.check("hey_jarvis", demo[: int(1.6 * RATE)]).accepted


def test_bad_second_look_settings_are_config_errors(tmp_path):
    for key, value in (("min_logprob", "0.5"), ("threshold", "1.5"), ("window_s", "0.1"), ("delay_s", "3"),
                       ("encode_s", "1.0"), ("encode_s", "31"), ("prompt", "\"yes\""), ("surprise", "1")):
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


def test_a_look_that_fails_drops_its_candidate_and_the_stream_goes_on(registry, whisper, demo, caplog):
    """A Whisper session that cannot run (here: the wake front end's embedding model in the encoder's
    place, a real onnxruntime error) is logged; the stream keeps listening and looks again at the next
    candidate."""
    import dataclasses

    embedding = WakeSet.load(WakeConfig(), RuntimeConfig(), registry).models[0].embedding_session
    wake = WakeSet.load(WakeConfig(), RuntimeConfig(), registry, dataclasses.replace(whisper, encoder=embedding))
    stream = wake.stream()
    x = np.concatenate([demo[: int(1.6 * RATE)], np.zeros(3 * RATE, np.float32)])
    x = np.concatenate([x, x])
    with caplog.at_level("ERROR"):
        events = [e for i in range(0, len(x), 1280) for e in stream.feed(x[i : i + 1280])]
    assert events == [] and stream.look_errors >= 2 and stream.looks == 0
    assert "second look failed" in caplog.text


def test_a_wake_word_at_the_very_end_of_the_input_still_gets_its_look(registry, whisper, demo, tmp_path, capsys):
    """A recording that ends just after "Hey Jarvis" (less than ``delay_s`` after the candidate): the
    look is taken at the end of input, by the wake stream, the listener and `assistant wake FILE`."""
    from assistant.cli import main

    said = demo[: int(1.6 * RATE)]
    wake = WakeSet.load(WakeConfig(), RuntimeConfig(), registry, whisper)
    stream = wake.stream()
    fed = [e for i in range(0, len(said), 1280) for e in stream.feed(said[i : i + 1280])]
    assert fed == [] and [e.name for e in stream.finish()] == ["hey_jarvis"] and stream.finish() == []
    listener = Listener.load(WakeConfig(), VadConfig(), EndpointConfig(), RuntimeConfig(), registry, whisper)
    events, _ = run(listener, said, 1280)
    assert [type(e) for e in events][:1] == [WakeDetected]
    path = tmp_path / "hey_jarvis.wav"
    write_audio(path, said, RATE)
    assert main(["wake", str(path), "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert '"name": "hey_jarvis"' in lines[0] and '"detections": 1' in lines[-1]


def test_each_head_waits_its_own_delay(registry, whisper, tmp_path):
    """The shipped "stop" is looked at 0.24 s after its candidate (its manifest entry's confirm_delay_s),
    the wake words 0.8 s after theirs: a stop is acted on at once. A bad delay is a clear error."""
    from assistant.config import ModelsConfig
    from assistant.models import ModelError, ModelRegistry
    from assistant.wake.detector import delay_of

    cfg = WakeConfig(stop_model="wake/own/stop")
    wake = WakeSet.load(cfg, RuntimeConfig(), registry, whisper)
    assert wake.confirm.delay_samples == {"hey_jarvis": int(0.8 * RATE), "stop": int(0.24 * RATE)}
    assert wake.confirm.max_delay_samples == int(0.8 * RATE)
    entry = registry.entry("wake/own/stop")
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(f'[[model]]\nname = "w/stop"\nfile = "{registry.path("wake/own/stop")}"\nlicence = "x"\n'
                        f'contract = "{entry.contract}"\ndecoding = {{ confirm_delay_s = 2.5 }}\n')
    bad = ModelRegistry.load(ModelsConfig(manifest=manifest))
    with pytest.raises(ModelError, match="w/stop: decoding confirm_delay_s must be in"):
        delay_of(WakeConfig(models=("w/stop",)), "w/stop", bad)


def test_the_device_announces_its_wake_words_with_their_phrases(registry):
    """``Stages.wake_words`` (what Wyoming clients are told): each wake head's name and phrase, whatever
    its kind, a ``[wake.words]`` phrase first; the stop head is no wake word."""
    from assistant.app import Stages

    cfg = WakeConfig(models=("wake/own/hey_jarvis", "wake/micro/okay_nabu"), stop_model="wake/own/stop",
                     words={"wake/own/hey_jarvis": WakeWordConfig(phrase="hey jarvis please")})
    listener = Listener.load(cfg, VadConfig(), EndpointConfig(), RuntimeConfig(), registry)
    assert Stages(listener, None, None, None).wake_words == {"hey_jarvis": "hey jarvis please",
                                                            "micro/okay_nabu": "okay nabu"}
