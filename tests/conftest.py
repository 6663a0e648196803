"""Shared fixtures: real recorded speech, the `impl` parameter (python, native-if-built), stream helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant import _accel

POCKETSPHINX_TEST = Path("/usr/share/pocketsphinx/test/data")
REPO = Path(__file__).resolve().parent.parent
DEMO_WAV = REPO / "assistant" / "data" / "demo.wav"


def librivox_wavs() -> list[Path]:
    return sorted((POCKETSPHINX_TEST / "librivox").glob("*.wav"))


@pytest.fixture(scope="session")
def speech() -> np.ndarray:
    """Real recorded speech (LibriVox, Debian pocketsphinx-testdata), float32 16 kHz, about 5 s."""
    wavs = librivox_wavs()
    if not wavs:
        pytest.skip("real speech needs the Debian package pocketsphinx-testdata (tools/system_deps.sh)")
    from assistant.audio.io import read_audio

    return read_audio(wavs[0], 16000).samples


@pytest.fixture(scope="session")
def speech_path() -> Path:
    wavs = librivox_wavs()
    if not wavs:
        pytest.skip("real speech needs the Debian package pocketsphinx-testdata (tools/system_deps.sh)")
    return wavs[0]


IMPLS = [
    "python",
    pytest.param("native", marks=pytest.mark.skipif(_accel.native is None, reason="native extension not built")),
]


@pytest.fixture(params=IMPLS)
def impl(request) -> str:
    """Each test using it runs on both implementations (native skips if not built)."""
    return request.param


def feed_in_chunks(stream, samples: np.ndarray, chunk: int, finish=True) -> np.ndarray:
    """Feed ``samples`` to a stream ``chunk`` samples at a time and concatenate what came out."""
    outs = [stream.feed(samples[i : i + chunk]) for i in range(0, len(samples), chunk)]
    if finish:
        outs.append(stream.finish())
    return np.concatenate(outs, axis=0)
