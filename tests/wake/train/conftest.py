"""A head trained here in seconds (``assistant wake train --quick``), shared by the training tests."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.io import read_audio
from assistant.cli import main


def espeak_clip(tmp: Path, text: str, voice: str = "en-us", name: str = "clip") -> Path:
    path = tmp / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True, timeout=60)
    return path


def flite_clip(tmp: Path, text: str, voice: str = "slt", name: str = "clip") -> Path:
    path = tmp / f"{name}.wav"
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(path)], check=True, capture_output=True, timeout=60)
    return path


def padded(path: Path) -> np.ndarray:
    x = read_audio(path, 16000).samples
    pad = np.zeros(16000, np.float32)
    return np.concatenate([pad, pad, x, pad])


@pytest.fixture(scope="session")
def quick_head(tmp_path_factory, registry):
    """(head path, report dict) of ``assistant wake train "hey mycroft" --quick --json``."""
    if not shutil.which("espeak-ng"):
        pytest.skip("needs espeak-ng (tools/system_deps.sh)")
    out = tmp_path_factory.mktemp("quick_head")
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["wake", "train", "hey mycroft", "-o", str(out), "--quick", "--json"]) == 0
    report = json.loads(buf.getvalue().strip().splitlines()[-1])
    return out / "head.onnx", report
