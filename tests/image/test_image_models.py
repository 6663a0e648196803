"""The image's models, checked natively (no emulation, no root): every model the image's config names
resolves in the manifest, the frozen folder build.sh makes from them satisfies ``assistant check`` and
``assistant models verify`` with the image's config, and with it the runtime answers a spoken request
through the Wyoming socket with spoken audio (tools/image/smoke_voice.py, the image's own smoke client).

Failure 3 of issue 36 (the four ``asr/home-lstm-en`` files never copied beside the image's manifest, so
``assistant check`` failed inside the image) is caught here: the frozen folder must hold every file.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from assistant.config import load_config
from assistant.models import ModelRegistry
from tools.image import freeze_models, smoke_voice

REPO = Path(__file__).resolve().parent.parent.parent
IMAGE = REPO / "tools" / "image"

ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def test_every_model_the_image_config_names_resolves():
    cfg = load_config(IMAGE / "assistant.toml")
    registry = ModelRegistry.load()
    names = freeze_models.runtime_models(cfg, registry)
    for stage in ("wake/own/hey_jarvis", "vad/silero", "asr/home-lstm-en/encoder.int8",
                  "asr/whisper-tiny.en/decoder.int8", "tts/joe-medium-int8"):
        assert stage in names
    for name in names:
        registry.location(name)  # a package that is not installed raises here
        assert registry.status(name).state in ("ok", "unpinned") or registry.entry(name).kind == "derived", name


@pytest.fixture(scope="module")
def frozen(tmp_path_factory) -> Path:
    """The image's model folder, made as build.sh makes it (derived models from the user's cache)."""
    out = tmp_path_factory.mktemp("image") / "models"
    r = subprocess.run([sys.executable, str(IMAGE / "freeze_models.py"), "--config", str(IMAGE / "assistant.toml"),
                        "--out", str(out)], capture_output=True, text=True, env=ENV, timeout=900)
    assert r.returncode == 0, r.stderr
    return out


def image_config(tmp: Path, frozen: Path, source: Path) -> Path:
    """The image's config file with its paths moved under ``tmp`` (and the frozen models)."""
    text = source.read_text()
    text = text.replace("/usr/share/assistant/models", str(frozen)).replace("/var/cache/assistant", str(tmp / "cache"))
    text = text.replace("/var/lib/assistant", str(tmp / "state")).replace("/run/assistant", str(tmp / "run"))
    path = tmp / source.name
    path.write_text(text)
    assert tomllib.loads(text)["models"]["manifest"] == str(frozen / "manifest.toml")
    return path


def test_frozen_models_pass_check_and_verify(frozen, tmp_path):
    manifest = tomllib.loads((frozen / "manifest.toml").read_text())
    files = {m["file"] for m in manifest["model"]}
    for part in ("encoder.int8.onnx", "decoder.onnx", "joiner.onnx", "tokens.txt"):
        assert f"asr/home-lstm-en/{part}" in files
    assert all(m.get("sha256") for m in manifest["model"])
    assert (frozen / "tts" / "joe-medium-int8.onnx.json").is_file()  # the voice's sidecar beside it
    # the wake word runs at its own trained threshold in the image too (the entry's decoding travels with it)
    (wake,) = [m for m in manifest["model"] if m["name"] == "wake/own/hey_jarvis"]
    assert wake["decoding"]["threshold"] == ModelRegistry.load().entry("wake/own/hey_jarvis").decoding["threshold"]
    config = image_config(tmp_path, frozen, IMAGE / "assistant.toml")
    for verb in (["check"], ["models", "verify"]):
        r = subprocess.run([sys.executable, "-m", "assistant", *verb, "--config", str(config)], capture_output=True,
                           text=True, env=ENV, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
    # A model missing from the folder is what `assistant check` must report (as it did in the image).
    (frozen / "asr/home-lstm-en/joiner.onnx").rename(tmp_path / "joiner.onnx")
    try:
        r = subprocess.run([sys.executable, "-m", "assistant", "check", "--config", str(config)], capture_output=True,
                           text=True, env=ENV, timeout=300)
    finally:
        (tmp_path / "joiner.onnx").rename(frozen / "asr/home-lstm-en/joiner.onnx")
    assert r.returncode == 1 and "asr/home-lstm-en/joiner: missing" in r.stdout + r.stderr


def test_image_config_answers_a_spoken_request_with_speech(frozen, tmp_path):
    """The smoke scenario the image runs under emulation, here natively: wake word + request in through
    the socket, a spoken reply out; then SIGTERM, exit 0 well within TimeoutStopSec, no traceback, and
    nothing written to the cache that build.sh's --warm step fills."""
    config = image_config(tmp_path, frozen, IMAGE / "smoke.toml")
    warm = subprocess.run([sys.executable, str(IMAGE / "freeze_models.py"), "--config", str(config), "--warm"],
                          capture_output=True, text=True, env=ENV, timeout=300)
    assert warm.returncode == 0, warm.stderr
    cached = sorted(p.relative_to(tmp_path) for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert any("domain-lm" in str(p) for p in cached) and any("melgraph" in str(p) for p in cached)
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "run", "--config", str(config)], cwd=tmp_path,
                            env=ENV, stdout=log, stderr=subprocess.STDOUT)
    try:
        sock = tmp_path / "run" / "wyoming.sock"
        deadline = time.monotonic() + 120
        while not sock.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sock.exists(), (tmp_path / "run.log").read_text()
        audio = smoke_voice.read_request(None)
        import asyncio

        events, samples, rate = asyncio.run(smoke_voice.converse(f"unix://{sock}", audio, 120))
        summary, failures = smoke_voice.check(events, samples, rate)
        assert not failures, summary
        assert summary["reply"] and summary["reply_audio_s"] >= 1.0
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
        stop_s = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    text = (tmp_path / "run.log").read_text()
    assert rc == 0, text
    assert "Traceback" not in text, text
    assert stop_s < 5, f"stopped {stop_s:.1f} s after SIGTERM (TimeoutStopSec=5)"
    after = sorted(p.relative_to(tmp_path) for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert after == cached, "the run built something the image's --warm step did not"


def test_runs_as_installed_with_only_the_frozen_models(frozen, tmp_path):
    """The package as the image installs it: no models/ folder beside it, so every model must come from
    the config's [models] manifest (inside the image this failed with "model manifest not found")."""
    site = tmp_path / "site"
    shutil.copytree(REPO / "assistant", site / "assistant", ignore=shutil.ignore_patterns("__pycache__"))
    config = image_config(tmp_path, frozen, IMAGE / "smoke.toml")
    r = subprocess.run([sys.executable, "-m", "assistant", "run", "--config", str(config), "--input",
                        str(REPO / "assistant" / "data" / "demo.wav"), "--output", str(tmp_path / "reply.wav")],
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(site)}, timeout=300,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "reply.wav").stat().st_size > 22050, r.stdout
