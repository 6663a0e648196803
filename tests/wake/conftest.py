"""Fixtures for the wake-word tests: the shipped models (openwakeword 0.5.1 files, installed --no-deps)."""

from __future__ import annotations

import pytest

from assistant.config import MelImpl, RuntimeConfig, WakeConfig
from assistant.models import ModelError, ModelRegistry


@pytest.fixture(scope="session")
def registry() -> ModelRegistry:
    reg = ModelRegistry.load()
    try:
        reg.path("wake/melspectrogram")
    except ModelError as e:
        pytest.skip(f"wake-word models not installed: {e}")
    return reg


@pytest.fixture(scope="session")
def load_model(registry):
    from assistant.wake.detector import WakeWordModel

    cache = {}

    def load(**kw):
        key = tuple(sorted(kw.items()))
        if key not in cache:
            cache[key] = WakeWordModel.load(WakeConfig(**kw), RuntimeConfig(), registry)
        return cache[key]

    return load


MEL_IMPLS = [
    MelImpl.PYTHON,
    MelImpl.ONNX,
    pytest.param(
        MelImpl.NATIVE,
        marks=pytest.mark.skipif(
            __import__("assistant._accel", fromlist=["native"]).native is None,
            reason="native extension not built",
        ),
    ),
]
