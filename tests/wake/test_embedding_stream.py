"""The streamed speech embedding against its oracle, the windowed model: the same embedding at every
step, one step a call or many, and the same scores and detections through the wake stream, silences
skipped as repeats included; graphs of another shape are refused and run windowed."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from assistant.audio.io import read_audio
from assistant.config import RuntimeConfig
from assistant.onnx import make_session
from assistant.wake.embedding_stream import NotStreamable, StreamingEmbedding, streaming_graph
from tests.conftest import DEMO_WAV

RATE = 16000


@pytest.fixture(scope="module")
def windowed(registry):
    return make_session(registry.path("wake/embedding"), RuntimeConfig())


@pytest.fixture(scope="module")
def streamed(registry) -> StreamingEmbedding:
    return StreamingEmbedding.load(registry.path("wake/embedding"), RuntimeConfig(), 8)


def window_embeddings(sess, mel: np.ndarray, steps: int) -> np.ndarray:
    windows = np.stack([mel[8 * k : 8 * k + 76] for k in range(steps + 1)])[..., None]
    return sess.run(None, {"input_1": windows})[0].reshape(steps + 1, -1)


def test_every_step_is_the_windowed_embedding(windowed, streamed, speech):
    from assistant.models import ModelRegistry
    from assistant.wake.melspec import MelNumpy, read_mel_graph

    graph = read_mel_graph(ModelRegistry.load().path("wake/melspectrogram"))
    x = speech * 32768.0
    mel = np.concatenate([MelNumpy(graph).compute(x[i : i + 1760]) for i in range(0, len(x) - 1760, 1280)])
    steps = (len(mel) - 76) // 8
    assert steps > 40
    ref = window_embeddings(windowed, mel, steps)
    first, state = streamed.prime(mel[:76])
    one = [first[0]]
    for k in range(steps):  # a step a call
        e, state = streamed.step(mel[76 + 8 * k : 84 + 8 * k], state)
        one.append(e[0])
    np.testing.assert_allclose(np.array(one), ref, rtol=0, atol=1e-4 * np.abs(ref).max())
    _, state = streamed.prime(mel[:76])
    many, state = streamed.step(mel[76 : 76 + 8 * steps], state)  # every step in one call
    np.testing.assert_allclose(many, ref[1:], rtol=0, atol=1e-4 * np.abs(ref).max())
    assert [s.shape[2] for s in state] == [s.columns for s in streamed.states]


def test_state_contract(streamed, registry):
    assert len(streamed.states) == 11  # the eleven convolutions that span time
    graph, states = streaming_graph(onnx.load(str(registry.path("wake/embedding"))), 8)
    onnx.checker.check_model(graph)
    inferred = onnx.shape_inference.infer_shapes(onnx.load(str(registry.path("wake/embedding"))))
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in inferred.graph.value_info}
    concat_inputs = [n.input[1] for n in graph.graph.node if n.op_type == "Concat"]
    # the chain's own shape propagation agrees with onnx's inference at every state
    assert [(s.channels, s.width) for s in states] == [(shapes[x][1], shapes[x][3]) for x in concat_inputs]
    assert {s.columns for s in streamed.states} == {2}
    with pytest.raises(ValueError, match="76 frames"):
        streamed.prime(np.zeros((70, 32), np.float32))
    _, state = streamed.prime(np.zeros((76, 32), np.float32))
    with pytest.raises(ValueError, match="8 to a step"):
        streamed.step(np.zeros((5, 32), np.float32), state)


def test_the_wake_stream_scores_and_detects_as_windowed(load_model, speech):
    demo = read_audio(DEMO_WAV, RATE).samples
    # digital silence between speech: steps skipped as repeats keep the state they had
    x = np.concatenate([np.zeros(RATE, np.float32), speech, np.zeros(2 * RATE, np.float32), demo,
                        np.full(RATE, 0.01, np.float32), demo])
    a, b = load_model(embedding_stream=True), load_model(embedding_stream=False)
    assert a.streaming is not None and b.streaming is None
    sa, sb = a.stream(), b.stream()
    for chunk in (1280, 4000, 12800):
        sa.reset()
        sb.reset()
        ea, eb, ta, tb = [], [], [], []
        for i in range(0, len(x), chunk):
            ea += sa.feed(x[i : i + chunk])
            eb += sb.feed(x[i : i + chunk])
            ta.append(sa.scores.copy())
            tb.append(sb.scores.copy())
        np.testing.assert_allclose(np.array(ta), np.array(tb), atol=1e-4)
        assert [(e.name, e.time_s) for e in ea] == [(e.name, e.time_s) for e in eb]
        assert len(ea) >= 2  # the demo's wake word, twice
        assert sa.num_embedded < len(x) // 1280  # the silences were skipped


def tiny_graph(pads: list[int]) -> onnx.ModelProto:
    """openWakeWord's embedding shape in small: reshape, one 3x1 convolution, reshape."""
    w = numpy_helper.from_array(np.ones((2, 1, 3, 1), np.float32), "w")
    s_in = numpy_helper.from_array(np.array([-1, 1, 10, 4], np.int64), "s_in")
    s_out = numpy_helper.from_array(np.array([-1, 1, 1, 2], np.int64), "s_out")
    nodes = [helper.make_node("Reshape", ["x", "s_in"], ["a"]),
             helper.make_node("Conv", ["a", "w"], ["b"], kernel_shape=[3, 1], pads=pads),
             helper.make_node("MaxPool", ["b"], ["c"], kernel_shape=[8, 4], strides=[8, 4]),
             helper.make_node("Reshape", ["c", "s_out"], ["y"])]
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 10, 4, 1])],
                          [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 1, 1, 2])],
                          [w, s_in, s_out])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def test_graphs_of_another_shape_are_refused(registry, tmp_path, caplog):
    model, states = streaming_graph(tiny_graph([0, 0, 0, 0]), 8)
    onnx.checker.check_model(model)
    assert [(s.channels, s.width, s.columns) for s in states] == [(1, 4, 2)]
    with pytest.raises(NotStreamable, match="time-valid"):
        streaming_graph(tiny_graph([1, 0, 1, 0]), 8)  # padded in time: a window's edges differ
    with pytest.raises(NotStreamable, match="divide"):
        streaming_graph(tiny_graph([0, 0, 0, 0]), 12)
    # a graph that cannot stream runs windowed, with the reason in the log
    from assistant.config import WakeConfig
    from assistant.wake.detector import WakeWordModel

    path = tmp_path / "quantized_like.onnx"
    m = onnx.load(str(registry.path("wake/embedding")))
    relu = next(n for n in m.graph.node if n.op_type == "LeakyRelu")
    relu.op_type = "Softmax"  # an operation the rewrite does not know to act on each column alone
    del relu.attribute[:]
    onnx.save(m, str(path))
    with caplog.at_level("INFO"):
        model = WakeWordModel.load(WakeConfig(embedding=str(path)), RuntimeConfig(), registry)
    assert model.streaming is None
    assert "runs windowed" in caplog.text


def test_training_featurizer_streams_the_same_embeddings(load_model, speech):
    from assistant.wake.train.data import Featurizer

    streamed, windowed = Featurizer(load_model(embedding_stream=True)), Featurizer(load_model(embedding_stream=False))
    x = np.concatenate([speech, speech[::-1]])
    a, b = streamed.stream(x, batch=37), windowed.stream(x)
    assert a.shape == b.shape and len(a) > 100
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-4 * np.abs(b).max())
    np.testing.assert_allclose(streamed.embed(x, np.array([0, 5, len(a) - 1])), b[[0, 5, -1]], atol=1e-3)
    assert streamed.stream(speech[:100]).shape == (0, 96)


def test_a_bad_embedding_file_is_a_clear_error(registry, tmp_path):
    """Truncated, or an ONNX model of another shape (the mel model): the windowed loader's clear error,
    whether or not the embedding would be streamed."""
    from assistant.config import WakeConfig
    from assistant.models import ModelError
    from assistant.wake.detector import WakeWordModel

    src = registry.path("wake/embedding").read_bytes()
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(src[: len(src) // 3])
    for path, message in ((truncated, "truncated or not ONNX"),
                          (registry.path("wake/melspectrogram"), "does not take 32-bin mel windows")):
        for stream in (True, False):
            with pytest.raises(ModelError, match=message):
                WakeWordModel.load(WakeConfig(embedding=str(path), embedding_stream=stream), RuntimeConfig(), registry)
