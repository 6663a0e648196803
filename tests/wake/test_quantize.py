"""The int8 embedding recipe: deterministic calibration, a loadable model close to fp32, in the registry."""

from __future__ import annotations

import numpy as np

from assistant.config import RuntimeConfig
from assistant.onnx import make_session
from assistant.wake.quantize import calibration_windows, quantize_embedding


def test_quantized_embedding_is_close_to_fp32(registry, tmp_path):
    emb, mel = registry.path("wake/embedding"), registry.path("wake/melspectrogram")
    windows = calibration_windows(mel, 76)
    assert windows.shape[1:] == (76, 32, 1)
    np.testing.assert_array_equal(windows, calibration_windows(mel, 76))  # deterministic
    out = tmp_path / "embedding.int8.onnx"
    quantize_embedding([emb, mel], out)
    assert 0 < out.stat().st_size < emb.stat().st_size
    ref, q = make_session(emb, RuntimeConfig()), make_session(out, RuntimeConfig())
    a = ref.run(None, {"input_1": windows[:40]})[0].reshape(40, -1)
    b = q.run(None, {"input_1": windows[:40]})[0].reshape(40, -1)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cos.min() > 0.98
    assert np.abs(a - b).mean() / np.abs(a).mean() < 0.1


def test_registry_entry_points_at_the_recipe(registry):
    entry = registry.entry("wake/embedding.int8")
    assert entry.recipe == "assistant.wake.quantize:quantize_embedding"
    assert entry.derived_from == ("wake/embedding", "wake/melspectrogram")
