"""The numpy MLP head: its ONNX export computes what numpy computes; training separates two classes."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from assistant.wake.train.head import Mlp, export_onnx, train_mlp


def test_onnx_export_equals_numpy(tmp_path):
    rng = np.random.default_rng(0)
    m = Mlp.init(16, 96, 8, 2, rng.standard_normal(1536), rng.uniform(0.5, 2, 1536), rng)
    path = export_onnx(m, tmp_path / "h.onnx", "test", {"phrase": "x"})
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = sess.get_inputs()
    assert inp.shape[1:] == [16, 96] and sess.get_outputs()[0].shape[-1] == 1
    x = rng.standard_normal((5, 16, 96)).astype(np.float32)
    np.testing.assert_allclose(sess.run(None, {inp.name: x})[0][:, 0], m.scores(x.reshape(5, -1)), atol=1e-5)


def test_training_separates_two_gaussian_classes():
    rng = np.random.default_rng(1)
    shift = np.zeros(1536, np.float32)
    shift[:50] = 1.5
    pos = rng.standard_normal((500, 1536)).astype(np.float32) + shift
    neg = rng.standard_normal((3000, 1536)).astype(np.float32)
    x = np.concatenate([pos, neg])
    m = Mlp.init(16, 96, 8, 1, x.mean(0), x.std(0) + 1e-3, rng)
    m, history = train_mlp(
        m,
        lambda i: pos[i],
        len(pos),
        lambda i: neg[i],
        len(neg),
        np.ones(len(neg)),
        steps=150,
        rng=rng,
        evaluate=lambda mm: float(np.mean(mm.scores(pos) > 0.5)),
        hard_every=50,
    )
    assert np.mean(m.scores(pos) > 0.5) > 0.95 and np.mean(m.scores(neg) < 0.5) > 0.95
    assert [h["step"] for h in history] == [50, 100, 150]


def test_micro_export_streams_what_numpy_computes_on_the_featurizer_windows(tmp_path):
    """The micro architecture's graph (microWakeWord's streaming contract) run call by call through
    ``MicroWakeModel`` equals the numpy MLP on ``MicroFeaturizer``'s windows: the training's oracle."""
    from assistant.wake.micro import MicroHead, MicroWakeModel
    from assistant.wake.train.data import MicroFeaturizer
    from assistant.wake.train.head import export_micro_onnx

    k, d, stride = 50, 40, 3
    rng = np.random.default_rng(2)
    m = Mlp.init(k, d, 8, 2, rng.uniform(0, 5, k * d), rng.uniform(0.5, 2, k * d), rng)
    meta = {"wake_word": "x", "probability_cutoff": 0.5, "sliding_window_size": 1, "feature_step_ms": 10}
    path = export_micro_onnx(m, tmp_path / "h.onnx", stride, meta, "test")
    head = MicroHead.load(path)
    assert (head.stride, head.channels, head.sliding_window_size) == (stride, d, 1)
    assert head.threshold == 0.5 + 1 / 256  # the first uint8 mean above the cutoff
    audio = (rng.standard_normal(16000 * 3) * 0.05 * np.sin(np.linspace(0, 40, 16000 * 3))).astype(np.float32)
    stream = MicroWakeModel([head]).stream()
    trace = stream.scores_for(audio)[:, 0]
    feats = MicroFeaturizer(stride).stream(audio)
    assert len(trace) == len(feats)
    windows = np.stack([feats[e - k + 1 : e + 1] for e in range(k - 1, len(feats))]).reshape(-1, k * d)
    expected = np.round(m.scores(windows) * 256) / 256  # the runtime's uint8 probability
    np.testing.assert_allclose(trace[k - 1 :], expected, atol=1 / 256 + 1e-6)
    assert np.mean(np.abs(trace[k - 1 :] - expected) < 1e-6) > 0.95
