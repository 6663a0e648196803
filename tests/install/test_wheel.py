"""The installed-wheel layout, as the firmware image ships it: the package from a built wheel, the models'
manifest elsewhere (``[models] manifest``), no source tree in sight. Every stage resolves its models
through the registry built from ``[models]``: the voice once looked in the source tree and failed here
("model manifest not found") while ``check`` passed.

The wheel is built pure-Python (``ASSISTANT_PURE_PYTHON=1``: no compiler run, a few seconds) and installed
with ``pip install --no-deps --target``; its dependencies come from the test environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_WAV = REPO / "assistant" / "data" / "demo.wav"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A site folder holding only the installed wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = dict(os.environ, ASSISTANT_PURE_PYTHON="1")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"),
                            str(REPO)], env=env, capture_output=True, text=True, timeout=600)
    if build.returncode != 0 and "Could not" in build.stderr and "setuptools" in build.stderr:
        pytest.skip(f"the build requirements cannot be fetched: {build.stderr.strip()[-300:]}")
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp / "dist").glob("assistant-*.whl")
    site = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return site


def _assistant(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # the test environment's packages (numpy, onnxruntime, ...) after the installed wheel; no source tree
    deps = [p for p in sys.path if p.endswith("site-packages")]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ASSISTANT_PURE_PYTHON")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), *deps])
    return subprocess.run([sys.executable, "-s", "-m", "assistant", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def _models_elsewhere(tmp: Path) -> Path:
    """The repository's models/ folder copied away, as the image installs it beside its config."""
    dest = tmp / "etc" / "models"
    shutil.copytree(REPO / "models", dest, ignore=shutil.ignore_patterns("derived"))
    return dest / "manifest.toml"


def test_the_package_comes_from_the_wheel(installed, tmp_path):
    where = _assistant(installed, tmp_path, "--version")
    assert where.returncode == 0, where.stderr
    probe = subprocess.run([sys.executable, "-s", "-c", "import assistant; print(assistant.__file__)"],
                           cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(installed)}, capture_output=True,
                           text=True, check=True)
    assert probe.stdout.strip().startswith(str(installed))


def test_check_and_run_with_the_models_elsewhere(installed, tmp_path):
    manifest = _models_elsewhere(tmp_path)
    config = tmp_path / "assistant.toml"
    config.write_text(f'[models]\nmanifest = "{manifest}"\n[runtime]\nstate_dir = "{tmp_path / "state"}"\n',
                      encoding="utf-8")
    check = _assistant(installed, tmp_path, "check", "--config", str(config), "--json")
    assert check.returncode == 0, check.stdout + check.stderr
    assert json.loads(check.stdout.splitlines()[-1])["ok"] is True
    run = _assistant(installed, tmp_path, "run", "--config", str(config), "--input", str(DEMO_WAV),
                     "--output", str(tmp_path / "reply.wav"), "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    summary = json.loads(run.stdout.splitlines()[-1])
    assert summary["replies"] == ["Timer set for five minutes."]
    assert (tmp_path / "reply.wav").stat().st_size > 10_000


def test_check_names_a_missing_first_pass_model(installed, tmp_path):
    manifest = _models_elsewhere(tmp_path)
    shutil.rmtree(manifest.parent / "asr")
    config = tmp_path / "assistant.toml"
    config.write_text(f'[models]\nmanifest = "{manifest}"\n', encoding="utf-8")
    check = _assistant(installed, tmp_path, "check", "--config", str(config))
    assert check.returncode == 1
    assert "asr/home-lstm-en" in check.stdout + check.stderr
