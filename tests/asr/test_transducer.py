"""TransducerModel + AsrStream on the generated lstm and zipformer2 models.

Parity: sherpa-onnx (the reference runtime) decoding the same model and audio gives the same greedy
tokens and the same modified-beam-search best path. Then streaming properties (chunk invariance, reset),
endpointing, partials, and bad inputs (wrong contract, truncated file, tokens that do not match).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import pytest

from assistant.asr import reference as sherpa
from assistant.asr.reference import decode_as_sherpa
from assistant.asr.transducer import FEATURE_DIM, LOG_FLOOR, TransducerModel
from assistant.config import ConfigError, SearchMethod, TransducerConfig
from assistant.frontend.fbank import Fbank
from assistant.models import ModelError
from tests.asr.conftest import ASR_DATA, CONTRACTS, copy_model, transducer_cfg
from tests.conftest import librivox_wavs


@pytest.fixture(scope="module")
def models(rt) -> dict[tuple[str, str], TransducerModel]:
    return {
        (c, s): TransducerModel.load(transducer_cfg(c, s), rt) for c in CONTRACTS for s in ("greedy", "beam")
    }


def features(model: TransducerModel, samples: np.ndarray) -> np.ndarray:
    return Fbank(model.feature_config).compute(samples)


def sherpa_tokens(
    contract: str, search: str, samples: np.ndarray, encoder: str = "encoder.onnx", blank_penalty: float = 0.0,
    beam_size: int = 4,
) -> list[str]:
    pytest.importorskip("sherpa_onnx")
    return sherpa.sherpa_tokens(ASR_DATA / contract, samples, search, encoder, blank_penalty, beam_size)


def parity_audio() -> list[tuple[str, np.ndarray]]:
    from assistant.audio.io import read_audio
    from tests.asr.conftest import COMMAND_WAV

    out = [("command", read_audio(COMMAND_WAV).samples)]
    wavs = librivox_wavs()
    if wavs:
        out.append(("librivox", read_audio(wavs[1]).samples))
    return out


@pytest.mark.parametrize("contract", CONTRACTS)
@pytest.mark.parametrize("search", ["greedy", "beam"])
@pytest.mark.parametrize("blank_penalty", [0.0, 1.5])
def test_same_tokens_as_sherpa_onnx(rt, contract, search, blank_penalty):
    model = TransducerModel.load(transducer_cfg(contract, search, blank_penalty=blank_penalty), rt)
    for name, samples in parity_audio():
        expected = sherpa_tokens(contract, search, samples, blank_penalty=blank_penalty,
                                 beam_size=model.cfg.beam_size)  # the same beam (ours: 16, sherpa's default 4)
        assert decode_as_sherpa(model, features(model, samples)) == expected, name
        if blank_penalty:
            assert len(expected) > 10  # the comparison covered real emissions


@pytest.mark.parametrize("contract", CONTRACTS)
def test_int8_encoder_as_published_models_ship(rt, contract, command_samples):
    # at our beam (16); with the front ends now equal bit for bit, either implementation gives sherpa-onnx's
    # tokens (with the numpy twin's old features, within 1e-3, a near tie of the int8 scores flipped)
    model = TransducerModel.load(transducer_cfg(contract, "beam", encoder="encoder.int8.onnx"), rt)
    assert decode_as_sherpa(model, features(model, command_samples)) == sherpa_tokens(
        contract, "beam", command_samples, encoder="encoder.int8.onnx", beam_size=model.cfg.beam_size
    )


@pytest.mark.parametrize("contract", CONTRACTS)
@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_chunk_size_does_not_change_the_result(models, contract, search, command_samples):
    model = models[contract, search]
    frames = features(model, command_samples)
    results = []
    for chunk in (1, 7, 45, len(frames)):
        s = model.stream()
        for i in range(0, len(frames), chunk):
            s.feed(frames[i : i + chunk])
        results.append(s.finish()[0])
    assert all(r.tokens == results[0].tokens and r.frames == results[0].frames for r in results)
    assert all(abs(r.am_logprob - results[0].am_logprob) < 1e-3 for r in results)


@pytest.mark.parametrize("contract", CONTRACTS)
def test_reset_equals_a_fresh_stream(models, contract, command_samples):
    model = models[contract, "beam"]
    frames = features(model, command_samples)
    s = model.stream()
    s.feed(frames[:150])
    s.reset()
    s.feed(frames)
    fresh = model.stream()
    fresh.feed(frames)
    assert s.finish()[0].tokens == fresh.finish()[0].tokens


@pytest.mark.parametrize("contract", CONTRACTS)
def test_partials_and_finish(models, contract, command_samples):
    model = models[contract, "greedy"]
    frames = features(model, command_samples)
    s = model.stream()
    partials = []
    for i in range(0, len(frames), 20):
        partials += s.feed(frames[i : i + 20])
    assert partials, "the random model emits tokens on speech"
    times = [p.time_s for p in partials]
    assert times == sorted(times) and len(set(p.text for p in partials)) == len(partials)
    hyps = s.finish()
    assert len(hyps) == 1 and hyps[0].text.startswith(partials[-1].text)
    words = s.words(hyps[0])
    assert [w.text for w in words] == hyps[0].text.split()
    assert all(0 <= w.start_s < w.end_s <= len(frames) * 0.01 + 1.0 for w in words)
    with pytest.raises(RuntimeError, match="after finish"):
        s.feed(frames[:10])


@pytest.mark.parametrize("contract", CONTRACTS)
def test_beam_returns_an_nbest_list_best_first(models, contract, command_samples):
    model = models[contract, "beam"]
    s = model.stream()
    s.feed(features(model, command_samples))
    hyps = s.finish()
    assert 1 < len(hyps) <= model.cfg.beam_size
    assert len({h.tokens for h in hyps}) == len(hyps)
    normed = [h.score / (len(h.tokens) + model.context_size) for h in hyps]
    assert normed == sorted(normed, reverse=True)


def test_endpoint_rules(rt):
    model = TransducerModel.load(
        transducer_cfg(
            "zipformer2",
            rule1_trailing_silence_s=0.5,
            rule2_trailing_silence_s=0.3,
            rule3_max_utterance_s=3.0,
        ),
        rt,
    )
    s = model.stream()
    s.feed(np.full((60, FEATURE_DIM), LOG_FLOOR, np.float32))
    assert s.endpoint is None
    search = s._search
    # rule1 / rule2 are decided by the trailing blanks of the best path and whether anything was decoded
    search.tokens, search.num_trailing_blanks = [], round(0.5 / model.frame_s) + 1
    assert s.endpoint == "rule1"
    search.tokens, search.num_trailing_blanks = [5], round(0.3 / model.frame_s) + 1
    assert s.endpoint == "rule2"
    search.num_trailing_blanks = 0
    assert s.endpoint is None
    s.feed(np.full((320, FEATURE_DIM), LOG_FLOOR, np.float32))
    search.num_trailing_blanks = 0
    assert s.endpoint == "rule3"


def test_empty_input_gives_an_empty_result(models):
    for search in ("greedy", "beam"):
        s = models["lstm", search].stream()
        s.feed(np.zeros((0, FEATURE_DIM), np.float32))
        hyps = s.finish()
        assert hyps[0].tokens == () and hyps[0].text == ""


def test_long_silence_keeps_memory_bounded(models):
    """10 minutes of silence (the CLI path for 30 minutes is in the slow test below)."""
    model = models["zipformer2", "greedy"]
    s = model.stream()
    block = np.full((6000, FEATURE_DIM), LOG_FLOOR, np.float32)
    for _ in range(10):
        s.feed(block)
        assert len(s._frames) < model.encoder.chunk_frames
    s.finish()


@pytest.mark.slow
def test_thirty_minutes_of_silence(models):
    model = models["lstm", "beam"]
    s = model.stream()
    block = np.full((6000, FEATURE_DIM), LOG_FLOOR, np.float32)
    for _ in range(30):
        s.feed(block)
    assert isinstance(s.finish()[0].text, str)


def test_feed_rejects_wrong_feature_shape(models):
    with pytest.raises(ValueError, match="fbank frames"):
        models["lstm", "greedy"].stream().feed(np.zeros((10, 40), np.float32))


# ------------------------------------------------------------------------------------------ bad models


def _set_meta(path, **changes) -> None:
    m = onnx.load(str(path))
    meta = {p.key: p.value for p in m.metadata_props}
    meta.update({k: str(v) for k, v in changes.items() if v is not None})
    for k, v in changes.items():
        if v is None:
            meta.pop(k, None)
    del m.metadata_props[:]
    for k, v in meta.items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.save(m, str(path))


def test_unsupported_model_type(tmp_path, rt):
    cfg = copy_model("lstm", tmp_path)
    _set_meta(cfg.encoder, model_type="conformer")
    with pytest.raises(ModelError, match="model_type 'conformer' is not supported"):
        TransducerModel.load(cfg, rt)


def test_wrong_contract_for_the_metadata(tmp_path, rt):
    cfg = copy_model("zipformer2", tmp_path)
    _set_meta(cfg.encoder, model_type="lstm", num_encoder_layers=2, d_model=40, rnn_hidden_size=40)
    with pytest.raises(ModelError, match="input|inputs"):
        TransducerModel.load(cfg, rt)


def test_metadata_missing(tmp_path, rt):
    cfg = copy_model("lstm", tmp_path)
    _set_meta(cfg.encoder, T=None)
    with pytest.raises(ModelError, match="metadata lacks T"):
        TransducerModel.load(cfg, rt)


def test_zipformer2_cache_shape_mismatch(tmp_path, rt):
    cfg = copy_model("zipformer2", tmp_path)
    _set_meta(cfg.encoder, left_context_len="32,32")
    with pytest.raises(ModelError, match="shape"):
        TransducerModel.load(cfg, rt)


def test_truncated_onnx_file(tmp_path, rt):
    cfg = copy_model("lstm", tmp_path)
    data = cfg.joiner.read_bytes()
    cfg.joiner.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="joiner model .* cannot be loaded"):
        TransducerModel.load(cfg, rt)


def test_tokens_that_do_not_match_the_model(tmp_path, rt):
    cfg = copy_model("lstm", tmp_path)
    lines = cfg.tokens.read_text(encoding="utf-8").splitlines()
    cfg.tokens.write_text("\n".join(lines[:-5]) + "\n", encoding="utf-8")
    with pytest.raises(ModelError, match="tokens"):
        TransducerModel.load(cfg, rt)
    # the decoder metadata may lie too: the joiner's output is checked against the tokens
    cfg = copy_model("lstm", tmp_path / "b")
    _set_meta(cfg.decoder, vocab_size=len(lines) - 5)
    cfg.tokens.write_text("\n".join(lines[:-5]) + "\n", encoding="utf-8")
    with pytest.raises(ModelError, match="does not belong to this model"):
        TransducerModel.load(cfg, rt)


def test_missing_files_and_config_checks(tmp_path, rt):
    cfg = dataclasses.replace(transducer_cfg("lstm"), joiner=tmp_path / "nope.onnx")
    with pytest.raises(ModelError, match="joiner model not found"):
        TransducerModel.load(cfg, rt)
    with pytest.raises(ModelError, match="no model configured"):
        TransducerModel.load(TransducerConfig(model=""), rt)
    with pytest.raises(ConfigError, match="asr.transducer.search"):
        dataclasses.replace(transducer_cfg("lstm"), hotwords=("kitchen light",))
    with pytest.raises(ConfigError, match="given together"):
        TransducerConfig(encoder=ASR_DATA / "lstm" / "encoder.onnx")
    assert transducer_cfg("lstm", "beam").search is SearchMethod.BEAM


def test_decoding_settings_are_the_model_s_own_unless_configured(tmp_path):
    """A shipped transducer brings the fusion weight, word bonus and hotword boost tuned for it (its
    manifest entry's ``decoding``); the config overrides each; a model given by its files brings none."""
    from assistant.asr.transducer import GENERIC_DECODING, with_decoding
    from assistant.config import ModelsConfig
    from assistant.models import ModelRegistry

    manifest = tmp_path / "manifest.toml"
    entry = '[[model]]\nname = "m/encoder.int8"\nfile = "e.onnx"\nlicence = "MIT"\ncontract = "c"\n'
    manifest.write_text(entry + "decoding = { lm_weight = 0.4, lm_word_bonus = 3 }\n")
    registry = ModelRegistry.load(ModelsConfig(manifest=manifest))
    own = with_decoding(TransducerConfig(model="m"), registry)
    assert (own.lm_weight, own.lm_word_bonus) == (0.4, 3.0)
    assert own.hotword_boost_per_token == GENERIC_DECODING["hotword_boost_per_token"]  # not in the table
    assert with_decoding(TransducerConfig(model="m", lm_weight=0.0), registry).lm_weight == 0.0

    files = {k: tmp_path / f"{k}.onnx" for k in ("encoder", "decoder", "joiner", "tokens")}
    generic = with_decoding(TransducerConfig(model="m", **files), registry)
    assert {k: getattr(generic, k) for k in GENERIC_DECODING} == GENERIC_DECODING

    manifest.write_text(entry + "decoding = { lm_weigth = 0.4 }\n")
    with pytest.raises(ModelError, match="unknown decoding settings"):
        with_decoding(TransducerConfig(model="m"), ModelRegistry.load(ModelsConfig(manifest=manifest)))


def test_two_pass_settings_are_the_first_pass_s_own_unless_configured(tmp_path):
    """Whisper's agreement weight and the candidate's margin were tuned for a first-pass model: a shipped
    transducer's ``decoding`` table brings them; the config overrides each; with no first pass, or one
    given by its files, they are ``SECOND_PASS_DECODING``."""
    from assistant.asr.transducer import SECOND_PASS_DECODING, with_decoding
    from assistant.asr.whisper import with_first_pass
    from assistant.config import ModelsConfig, WhisperConfig
    from assistant.models import ModelRegistry

    manifest = tmp_path / "manifest.toml"
    entry = '[[model]]\nname = "m/encoder.int8"\nfile = "e.onnx"\nlicence = "MIT"\ncontract = "c"\n'
    manifest.write_text(entry + "decoding = { lm_weight = 0.4, first_pass_weight = 8, first_pass_margin = 1.5, "
                                "first_pass_candidate_weight = 2 }\n")
    registry = ModelRegistry.load(ModelsConfig(manifest=manifest))
    first = TransducerConfig(model="m")
    own = with_first_pass(WhisperConfig(), first, registry)
    assert (own.first_pass_weight, own.first_pass_margin, own.first_pass_candidate_weight) == (8.0, 1.5, 2.0)
    assert with_first_pass(WhisperConfig(first_pass_weight=0.0), first, registry).first_pass_weight == 0.0
    configured = with_first_pass(WhisperConfig(first_pass_candidate_weight=3.0), first, registry)
    assert (configured.first_pass_weight, configured.first_pass_candidate_weight) == (8.0, 3.0)
    assert with_decoding(first, registry).lm_weight == 0.4  # the transducer's own keys are unaffected

    for none in (None, TransducerConfig(model="m", **{k: tmp_path / f"{k}.onnx"
                                                      for k in ("encoder", "decoder", "joiner", "tokens")})):
        generic = with_first_pass(WhisperConfig(), none, registry)
        assert {k: getattr(generic, k) for k in SECOND_PASS_DECODING} == SECOND_PASS_DECODING
