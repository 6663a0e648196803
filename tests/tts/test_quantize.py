"""The int8-weight voice recipe (assistant/tts/quantize.py) on small generated graphs and the real voice."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from assistant.config import ModelsConfig, RuntimeConfig, TtsConfig
from assistant.models import ModelError, ModelRegistry
from assistant.tts.quantize import quantize_voice, quantize_weights
from assistant.tts.voice import Voice, split_decoder


def _graph(opset: int = 15) -> onnx.ModelProto:
    """ids -> embedding (Gather) -> MatMul -> Conv (encoder) -> Conv named like the HiFi-GAN decoder."""
    rng = np.random.default_rng(0)
    w = {
        "emb": rng.standard_normal((80, 64)).astype(np.float32),
        "proj": rng.standard_normal((64, 96)).astype(np.float32) / 8,
        "conv": rng.standard_normal((96, 96, 3)).astype(np.float32) / 16,
        "dec_w": rng.standard_normal((48, 96, 3)).astype(np.float32) / 16,
        "bias": rng.standard_normal(96).astype(np.float32),
    }
    nodes = [
        helper.make_node("Gather", ["emb", "ids"], ["e"], name="/enc_p/emb/Gather"),
        helper.make_node("MatMul", ["e", "proj"], ["p"], name="/enc_p/MatMul"),
        helper.make_node("Transpose", ["p"], ["pt"], perm=[0, 2, 1]),
        helper.make_node("Conv", ["pt", "conv", "bias"], ["c"], pads=[1, 1], name="/flow/Conv"),
        helper.make_node("Conv", ["c", "dec_w"], ["y"], pads=[1, 1], name="/dec/conv_pre/Conv"),
    ]
    g = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 48, None])],
        [numpy_helper.from_array(v, k) for k, v in w.items()],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _run(model: onnx.ModelProto, ids: np.ndarray) -> np.ndarray:
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {"ids": ids})[0]


def test_weights_become_int8_and_the_decoder_stays_float():
    ref, m = _graph(), _graph()
    assert quantize_weights(m) == 3  # emb, proj, conv; not dec_w, not the bias
    inits = {t.name: t for t in m.graph.initializer}
    assert {"emb", "proj", "conv"}.isdisjoint(inits) and "dec_w" in inits and "bias" in inits
    assert all(inits[f"{k}_int8"].data_type == TensorProto.INT8 for k in ("emb", "proj", "conv"))
    assert numpy_helper.to_array(inits["conv_scale"]).shape == (96,)  # one scale per output channel
    assert numpy_helper.to_array(inits["proj_scale"]).shape == (96,)
    onnx.checker.check_model(m)
    ids = np.arange(0, 80, 3, dtype=np.int64)[None]
    a, b = _run(ref, ids), _run(m, ids)
    assert a.shape == b.shape
    snr = 10 * np.log10((a**2).sum() / ((a - b) ** 2).sum())
    assert snr > 30, snr  # int8 with per-channel scales: well under 3% error on this graph


def test_recipe_refuses_old_opsets_and_files_without_weights(tmp_path):
    with pytest.raises(ModelError, match="opset 13"):
        quantize_weights(_graph(opset=11))
    empty = helper.make_model(
        helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])]),
        opset_imports=[helper.make_opsetid("", 15)])
    onnx.save(empty, tmp_path / "empty.onnx")
    with pytest.raises(ModelError, match="no convolution"):
        quantize_voice([tmp_path / "empty.onnx"], tmp_path / "out.onnx")
    (tmp_path / "broken.onnx").write_bytes(b"\x08\x07garbage")
    with pytest.raises(ModelError, match="cannot read"):
        quantize_voice([tmp_path / "broken.onnx"], tmp_path / "out.onnx")


def test_real_int8_voice_streams_with_the_float_decoder(tmp_path):
    """The default voice: int8 encoder derived into a fresh cache, the float decoder of joe-medium."""
    registry = ModelRegistry.load(ModelsConfig(cache_dir=tmp_path / "models"))
    try:
        registry.path("tts/joe-medium", prepare=False)
    except ModelError as e:
        pytest.skip(f"the real voice is not installed: {e}")
    assert split_decoder("tts/joe-medium-int8", registry) == "tts/joe-medium-decoder"
    cfg = TtsConfig(voice="tts/joe-medium-int8", noise_scale=0.0, noise_w=0.0, sentence_silence_s=0.0)
    v8 = Voice.load(cfg, RuntimeConfig(), registry)
    assert v8.decoder is not None
    enc = registry.path("tts/joe-medium-int8-encoder")
    assert enc.stat().st_size < registry.path("tts/joe-medium-encoder").stat().st_size / 3
    v32 = Voice.load(TtsConfig(voice="tts/joe-medium", noise_scale=0.0, noise_w=0.0, sentence_silence_s=0.0),
                     RuntimeConfig(), registry)
    text = "Turn off the kitchen light."
    a = np.concatenate([c.samples for c in v32.stream(text)])
    b = np.concatenate([c.samples for c in v8.stream(text)])
    # the same speech: durations within 5% and the same loudness envelope (frames of 1024 samples)
    assert abs(len(a) - len(b)) < 0.05 * len(a)
    n = min(len(a), len(b)) // 1024 * 1024
    ea = np.sqrt((a[:n].reshape(-1, 1024) ** 2).mean(1))
    eb = np.sqrt((b[:n].reshape(-1, 1024) ** 2).mean(1))
    assert np.corrcoef(ea, eb)[0, 1] > 0.9
