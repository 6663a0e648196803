"""A home that changes while the device runs: the recogniser takes the new home's LM and names without
reloading its sessions, and an utterance already started finishes with what it started with."""

from __future__ import annotations

import dataclasses

import numpy as np

from assistant.app import load_recognizer
from assistant.asr.recognizer import asr_word_lm
from assistant.config import load_config
from assistant.intent.home import Device, load_home
from assistant.models import ModelRegistry, default_cache_dir


def test_rehome_swaps_lm_and_hotwords_and_keeps_the_sessions():
    cfg = load_config()
    registry = ModelRegistry.load(cfg.models)
    home = load_home(cfg.home)
    recognizer = load_recognizer(cfg, registry, home)
    before = recognizer.transducer
    assert recognizer.home_hotwords and before.context is not None
    started = recognizer.stream()  # an utterance under way when the home changes

    bigger = dataclasses.replace(home, devices=(*home.devices, Device("Xylophone Lamp", "light")))
    lm = asr_word_lm(cfg.asr, bigger, default_cache_dir(cfg.models.cache_dir), registry)
    recognizer.rehome(lm, bigger.names())

    after = recognizer.transducer
    assert after.encoder is before.encoder and after.joiner is before.joiner  # no model reloaded
    assert after.context.num_nodes > before.context.num_nodes  # "xylophone lamp" is biased now
    assert recognizer.lm is lm and after.lm is lm
    # the domain LM knows the new name: it scores a request naming it higher than the old LM did
    request = "turn on the xylophone lamp"
    assert lm.score(request) > before.lm.score(request)
    assert started._first.model is before  # the started utterance keeps its first pass
    assert recognizer.stream()._first.model is after
    silence = np.zeros(16000, np.float32)
    assert started.finish(silence).text == recognizer.transcribe(silence).text


def test_confidence_is_the_mean_token_probability():
    from assistant.asr.recognizer import token_confidence
    from assistant.asr.search import Hypothesis

    assert token_confidence(None) == 0.0
    assert token_confidence(Hypothesis((), "", (), 0.0)) == 1.0  # silence heard as silence
    sure = Hypothesis((1, 2, 3, 4), "turn on the light", (), am_logprob=4 * np.log(0.9))
    unsure = Hypothesis((1, 2, 3, 4), "turn on the light", (), am_logprob=4 * np.log(0.3))
    assert abs(token_confidence(sure) - 0.9) < 1e-9
    assert abs(token_confidence(unsure) - 0.3) < 1e-9
    # through the device's path: the demo request is heard surely, noise is not
    from assistant.app import load_recognizer
    from assistant.audio.io import read_audio
    from assistant.config import load_config
    from tests.conftest import DEMO_WAV

    recognizer = load_recognizer(load_config())
    demo = read_audio(DEMO_WAV, 16000).samples
    heard = recognizer.transcribe(demo[int(1.2 * 16000):])
    assert heard.text == "Set a timer for five minutes." and heard.confidence > 0.8
    noise = np.random.default_rng(0).normal(0, 0.05, 32000).astype(np.float32)
    assert recognizer.transcribe(noise).confidence < heard.confidence
