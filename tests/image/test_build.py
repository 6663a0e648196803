"""The full firmware image build (tools/image/build.sh) and its smoke test under emulation, twice: the
second build compiles and derives again (NO_CACHE=1) from the same inputs, and must give the same sha256
for every file of the product (manifest.json "files"). Marked slow: it needs root, binfmt_misc, the
Debian host tools of tools/image/README.md and network access to the Debian archive and the package
index, and takes about 10 minutes per build on 2 cores with the base system cached (about 8 more for
the first debootstrap). Run it with:  sudo .venv/bin/python -m pytest -m slow tests/image/test_build.py
IMAGE_CACHE=DIR keeps the base system, wheels, compiled runtime and frozen models between runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
pytestmark = pytest.mark.slow


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    if not os.path.isdir("/proc/sys/fs/binfmt_misc"):
        return "no binfmt_misc in this kernel"
    if shutil.which("debootstrap") is None or not os.path.exists("/usr/lib/binfmt.d/qemu-aarch64.conf"):
        return "needs the Debian packages debootstrap and qemu-user-static"
    return None


def _build(out: Path, cache: Path, **env: str) -> Path:
    r = subprocess.run([str(REPO / "tools" / "image" / "build.sh"), str(out)], cwd=REPO, timeout=3600,
                       env={**os.environ, "CPUS": os.environ.get("CPUS", "2"), "CACHE": str(cache), **env})
    assert r.returncode == 0, f"build.sh failed (exit {r.returncode}); its log is above"
    return out


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    return Path(os.environ.get("IMAGE_CACHE") or tmp_path_factory.mktemp("image-cache"))


@pytest.fixture(scope="module")
def first(cache, tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("image-a"), cache)


def test_image_builds_small_and_answers_a_spoken_request(first):
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["bytes"] < 200e6, (first / "sizes.txt").read_text()
    smoke = json.loads((first / "smoke" / "smoke.json").read_text())
    assert smoke["passed"] and smoke["reply_audio_s"] >= 1.0 and smoke["intent"] == "HassStartTimer", smoke
    service = json.loads((first / "smoke" / "service.json").read_text())
    assert service["exit"] == 0 and service["stop_s"] < service["stop_limit_s"], service
    assert "Traceback" not in (first / "smoke" / "run.log").read_text()
    # The reply the image spoke, heard back natively: the words, not only sound.
    heard = subprocess.run([sys.executable, "-m", "assistant", "transcribe", str(first / "smoke" / "reply.wav")],
                           capture_output=True, text=True, timeout=300, cwd=REPO)
    assert heard.returncode == 0 and "timer" in heard.stdout.lower() and "five" in heard.stdout.lower(), heard
    pkgs = manifest["debian_packages"]
    assert not {"binutils", "g++", "gcc", "python3-dev", "cpp"} & set(pkgs)
    assert not {"pip", "setuptools", "pybind11", "wheel", "openwakeword"} & set(manifest["python_packages"])
    assert any(f.startswith("usr/share/assistant/models/asr/home-lstm-en/") for f in manifest["files"])


def test_image_build_is_reproducible(first, cache, tmp_path_factory):
    second = _build(tmp_path_factory.mktemp("image-b"), cache, NO_CACHE="1", SKIP_SMOKE="1")
    a, b = (json.loads((d / "manifest.json").read_text()) for d in (first, second))
    assert a["python_packages"] == b["python_packages"] and a["debian_packages"] == b["debian_packages"]
    differ = sorted(f for f in set(a["files"]) | set(b["files"]) if a["files"].get(f) != b["files"].get(f))
    assert not differ, differ
