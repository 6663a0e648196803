"""End to end on generated audio: the written-weights tones model (tools/make_test_models.py) hears one
tone per word. Clean audio is recognised exactly; a tone between "garage" and "kitchen" (acoustically
closer to garage) is what beam search gets wrong and LM fusion / hotword biasing put right.
"""

from __future__ import annotations

import numpy as np
import pytest

from assistant.asr.transducer import TransducerModel
from assistant.frontend.fbank import Fbank
from assistant.models import ModelError
from tests.asr.arpa_lm import ArpaLm
from tests.asr.conftest import transducer_cfg
from tests.asr.test_search import PHRASES
from tests.asr.tones import between, say

AMBIGUOUS = between("garage", "kitchen", 0.45)


@pytest.fixture(scope="module")
def lm() -> ArpaLm:
    return ArpaLm.from_sentences(PHRASES, order=3)


def decode(rt, samples: np.ndarray, search: str = "beam", lm=None, **kw) -> str:
    model = TransducerModel.load(transducer_cfg("tones", search, **kw), rt, lm=lm)
    stream = model.stream()
    stream.feed(Fbank(model.feature_config).compute(samples))
    return stream.finish()[0].text


@pytest.mark.parametrize("search", ["greedy", "beam"])
@pytest.mark.parametrize(
    "words",
    [
        ["turn", "on", "the", "kitchen", "light"],
        ["open", "the", "garage", "door"],
        ["set", "a", "timer", "for", "five", "minutes", "please"],
    ],
)
def test_clean_generated_speech_is_recognised(rt, search, words):
    assert decode(rt, say(words), search) == " ".join(words)


def test_fusion_fixes_what_beam_search_gets_wrong(rt, lm):
    audio = say(["turn", "on", "the", AMBIGUOUS, "light"])
    assert decode(rt, audio) == "turn on the garage light"
    assert decode(rt, audio, lm=lm, lm_weight=1.0) == "turn on the kitchen light"
    # the LM does not overrule clear acoustics, and helps the other way round too
    assert decode(rt, say(["open", "the", "garage", "door"]), lm=lm, lm_weight=1.0) == "open the garage door"
    assert (
        decode(rt, say(["open", "the", between("kitchen", "garage", 0.45), "door"]), lm=lm, lm_weight=1.0)
        == "open the garage door"
    )


def test_hotword_biasing_fixes_a_device_name_and_cancels_when_unfinished(rt):
    kw = {"hotwords": ("kitchen light",), "hotword_boost_per_token": 2.0}
    assert decode(rt, say(["turn", "on", "the", AMBIGUOUS, "light"]), **kw) == "turn on the kitchen light"
    assert decode(rt, say(["open", "the", AMBIGUOUS, "door"]), **kw) == "open the garage door"


def test_the_homes_names_as_hotwords_leave_out_what_the_tokens_cannot_spell(rt):
    model = TransducerModel.load(transducer_cfg("tones", "beam", hotword_boost_per_token=2.0), rt,
                                 extra_hotwords=("kitchen light", "küche", "room 2"))
    stream = model.stream()
    stream.feed(Fbank(model.feature_config).compute(say(["turn", "on", "the", AMBIGUOUS, "light"])))
    assert stream.finish()[0].text == "turn on the kitchen light"
    with pytest.raises(ModelError, match="küche"):  # configured by hand: an error, as before
        TransducerModel.load(transducer_cfg("tones", "beam", hotwords=("küche",)), rt)


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_same_result_as_sherpa_onnx(rt, search):
    from assistant.asr.reference import decode_as_sherpa
    from tests.asr.test_transducer import sherpa_tokens

    audio = say(["turn", "on", "the", AMBIGUOUS, "light", "please"])
    model = TransducerModel.load(transducer_cfg("tones", search), rt)
    ours = decode_as_sherpa(model, Fbank(model.feature_config).compute(audio))
    assert ours == sherpa_tokens("tones", search, audio, beam_size=model.cfg.beam_size)
    assert len(ours) >= 5


def test_endpoint_after_a_command(rt):
    model = TransducerModel.load(transducer_cfg("tones", "greedy", rule2_trailing_silence_s=0.8), rt)
    stream = model.stream()
    fbank = Fbank(model.feature_config)
    audio = np.concatenate([say(["turn", "on", "the", "light"]), np.zeros(16000 * 2, np.float32)])
    endpoints = []
    for i in range(0, len(audio), 1600):
        stream.feed(fbank.feed(audio[i : i + 1600]))
        endpoints.append((i / 16000, stream.endpoint))
    fired = [t for t, e in endpoints if e == "rule2"]
    speech_end = len(say(["turn", "on", "the", "light"])) / 16000
    assert fired and speech_end + 0.3 < fired[0] < speech_end + 1.6
    assert all(e is None for t, e in endpoints if t < speech_end - 0.3)


@pytest.mark.parametrize("lm_impl", ["python", "native"])
def test_fusion_with_the_real_ngram_lm(rt, tmp_path, lm_impl):
    """The same fix with the product's own LM: estimated by our modified Kneser-Ney estimator from the
    assistant's phrases, compiled to the binary format, fused through the batched native (or twin) call."""
    from assistant import _accel
    from assistant.lm.build import build_image, write_lm
    from assistant.lm.estimate import estimate
    from assistant.lm.ngram import NgramModel

    if lm_impl == "native" and _accel.native is None:
        pytest.skip("native extension not built")
    image, _ = build_image(estimate((p.split() for p in PHRASES), order=3), "lossless")
    binary = tmp_path / "domain.lm"
    write_lm(image, binary)
    real_lm = NgramModel.load(binary, impl=lm_impl)
    audio = say(["turn", "on", "the", AMBIGUOUS, "light"])
    assert decode(rt, audio, lm=real_lm, lm_weight=1.0) == "turn on the kitchen light"
    assert decode(rt, say(["open", "the", "garage", "door"]), lm=real_lm, lm_weight=1.0) == "open the garage door"
