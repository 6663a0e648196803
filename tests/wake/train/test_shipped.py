"""The shipped heads of our own (models/wake/, Apache-2.0): each loads through the manifest and fires on
its phrase said by flite, a voice never used in training (flite and festival are evaluation voices)."""

from __future__ import annotations

import shutil

import pytest

from assistant.config import RuntimeConfig, WakeConfig, WakeWordConfig
from assistant.models import ModelRegistry
from assistant.wake.detector import WakeWordModel
from tests.wake.train.conftest import flite_clip, padded

OWN = sorted(n for n in ModelRegistry.load().entries if n.startswith("wake/own/"))
OWN_MICRO = sorted(n for n in ModelRegistry.load().entries if n.startswith("wake/own-micro/"))
"""ours in the micro architecture (``assistant wake train --arch micro``)"""
PHRASES = {
    "hey_mycroft": "hey mycroft",
    "hey_jarvis": "hey jarvis",
    "alexa": "alexa",
    "okay_nabu": "okay nabu",
    "hey_rhasspy": "hey rhasspy",
    "stop": "stop",
}


def test_every_shipped_word_has_a_head_card_and_apache_licence():
    reg = ModelRegistry.load()
    assert OWN, "no wake/own/* heads in the manifest"
    for name in OWN:
        e = reg.entry(name)
        assert e.licence.startswith("Apache-2.0") and not e.non_commercial and e.contract == "openwakeword-head"
        assert reg.status(name).state == "ok", name
        assert (reg.models_dir / e.file).parent.joinpath("MODEL_CARD.md").is_file(), name
        threshold = e.decoding["threshold"]
        assert f"threshold {threshold}" in e.description, "the card's figure and the entry's setting disagree"
        # listed in [wake] models, a head of our own runs at its trained threshold without a [wake.words] line
        (head,) = WakeWordModel.load(WakeConfig(models=(name,)), RuntimeConfig(), reg).heads
        assert head.threshold == threshold
        # and a [wake.words] line still overrides it
        over = WakeConfig(models=(name,), words={name: WakeWordConfig(threshold=0.5)})
        assert WakeWordModel.load(over, RuntimeConfig(), reg).heads[0].threshold == 0.5


def test_every_micro_architecture_head_is_ours_in_microwakewords_contract_with_a_card():
    from assistant.wake.micro import MicroWakeModel

    reg = ModelRegistry.load()
    assert OWN_MICRO, "no wake/own-micro/* heads in the manifest"
    for name in OWN_MICRO:
        e = reg.entry(name)
        assert e.licence.startswith("Apache-2.0") and not e.non_commercial and e.contract == "microwakeword-onnx"
        assert reg.status(name).state == "ok", name
        card = (reg.models_dir / e.file).parent / "MODEL_CARD.md"
        assert name in card.read_text(), f"{card} does not describe {name}"
        # at its own threshold (the file's cutoff) unless [wake.words] sets one
        (head,) = MicroWakeModel.load(WakeConfig(models=(name,)), RuntimeConfig(), reg).heads
        assert head.threshold == e.decoding["threshold"] and head.wake_word == PHRASES[name.rsplit("/", 1)[-1]]


@pytest.mark.skipif(not shutil.which("flite"), reason="needs flite (tools/system_deps.sh)")
@pytest.mark.parametrize("name", OWN_MICRO)
def test_micro_architecture_head_scores_its_phrase_above_a_request_in_an_unseen_voice(name, registry, tmp_path):
    """At its candidate threshold (the wake stage's first step) it hears its phrase said by flite, and a
    request scores below the phrase."""
    from assistant.wake.micro import MicroWakeModel

    word = name.rsplit("/", 1)[-1]
    candidate = registry.entry(name).decoding["confirm_threshold"]
    stream = MicroWakeModel.load(WakeConfig(models=(name,)), RuntimeConfig(), registry).stream()
    pos = []
    for voice in ("slt", "kal16", "awb", "rms"):
        stream.reset()
        pos.append(float(stream.scores_for(padded(flite_clip(tmp_path, PHRASES[word], voice, voice)))[:, 0].max()))
    stream.reset()
    request = padded(flite_clip(tmp_path, "please turn on the kitchen lights", "slt", "n"))
    neg = float(stream.scores_for(request)[:, 0].max())
    assert min(pos) >= candidate and max(pos) > neg, (pos, neg)


@pytest.mark.skipif(not shutil.which("flite"), reason="needs flite (tools/system_deps.sh)")
@pytest.mark.parametrize("name", OWN)
def test_shipped_head_fires_on_its_phrase_in_an_unseen_voice(name, registry, tmp_path):
    word = name.rsplit("/", 1)[-1]
    threshold = registry.entry(name).decoding["threshold"]
    model = WakeWordModel.load(WakeConfig(models=(name,), threshold=threshold), RuntimeConfig(), registry)
    stream = model.stream()
    pos = []
    for voice in ("slt", "kal16", "awb", "rms"):
        stream.reset()
        pos.append(float(stream.scores_for(padded(flite_clip(tmp_path, PHRASES[word], voice, voice))).max()))
    stream.reset()
    neg = float(stream.scores_for(padded(flite_clip(tmp_path, "please turn on the kitchen lights", "slt", "n"))).max())
    assert max(pos) >= threshold > neg, (pos, neg)


def test_every_shipped_phrase_has_a_stage_head_with_its_operating_point():
    """assistant/wake/confirm.py SHIPPED: a head per phrase whose manifest entry carries the second look's
    operating point (``assistant wake calibrate``): its candidate threshold and the Whisper score."""
    from assistant.wake.confirm import SHIPPED

    reg = ModelRegistry.load()
    assert set(SHIPPED) == set(PHRASES.values())
    for name in SHIPPED.values():
        e = reg.entry(name)
        assert e.licence.startswith("Apache-2.0") and not e.non_commercial, name
        assert 0 < e.decoding["confirm_threshold"] < 1 and e.decoding["confirm_min_logprob"] < 0, name


@pytest.mark.skipif(not shutil.which("flite"), reason="needs flite (tools/system_deps.sh)")
@pytest.mark.parametrize("phrase", sorted(PHRASES.values()))
def test_the_shipped_stage_wakes_on_its_phrase_in_unseen_voices_and_not_on_a_request(phrase, registry, tmp_path):
    from assistant.asr.whisper import WhisperModel
    from assistant.config import WhisperConfig
    from assistant.wake.confirm import SHIPPED
    from assistant.wake.wakeset import WakeSet

    whisper = WhisperModel.load(WhisperConfig(), RuntimeConfig(), registry)
    wake = WakeSet.load(WakeConfig(models=(SHIPPED[phrase],)), RuntimeConfig(), registry, whisper)
    stream = wake.stream()

    def wakes(path) -> bool:
        stream.reset()
        x = padded(path)
        return any(stream.feed(x[i : i + 1280]) for i in range(0, len(x), 1280))

    heard = [wakes(flite_clip(tmp_path, phrase, voice, voice)) for voice in ("slt", "kal16", "awb", "rms")]
    assert sum(heard) >= 3, heard
    assert not wakes(flite_clip(tmp_path, "please turn on the kitchen lights", "slt", "n"))
