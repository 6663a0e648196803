"""assistant check catches what cannot start, naming the config key; derived models' integrity is
recorded by models prepare, which repairs a damaged file (issue 34)."""

import json
from pathlib import Path

import pytest

from assistant.cli import main

MANIFEST = """
[[model]]
name = "test/source"
file = "source.bin"
licence = "MIT"
contract = "bytes"

[[model]]
name = "test/derived"
file = "derived.bin"
recipe = "tests.robustness.test_check:double"
derived_from = ["test/source"]
licence = "MIT"
contract = "bytes"
"""


def double(inputs: list[Path], output: Path) -> None:
    """The test recipe: the source twice."""
    (source,) = inputs
    output.write_bytes(source.read_bytes() * 2)


def _problems(capsys, config: Path) -> list[str]:
    capsys.readouterr()
    code = main(["check", "--config", str(config), "--json"])
    out = capsys.readouterr().out
    problems = json.loads(out.splitlines()[-1])["problems"] if out.strip() else []
    assert (code == 1) == bool(problems)
    return problems


def _config(tmp_path: Path, body: str) -> Path:
    cfg = tmp_path / "assistant.toml"
    cfg.write_text(f'[runtime]\nstate_dir = "{tmp_path / "state"}"\n' + body)
    return cfg


@pytest.mark.parametrize(
    "body, key",
    [
        ('[wake]\nmodels = ["wake/no_such_word"]\n', "wake.models[0]: unknown model 'wake/no_such_word'"),
        ('[wake]\nmodels = ["/nowhere/head.onnx"]\n', "wake.models[0]: file not found"),
        ('[wake]\nembedding = "wake/nope"\n', "wake.embedding: unknown model"),
        ('[vad]\nmodel = "/nowhere/silero.onnx"\n', "vad.model: file not found"),
        ('[tts]\nvoice = "/nowhere/voice.onnx"\n', "tts.voice: file not found"),
        ('[tts]\nvoice = "tts/nobody"\n', "tts.voice: unknown model 'tts/nobody'"),
        ('[asr.whisper]\nmodel = "asr/whisper-huge"\n', "asr.whisper.model: unknown model"),
    ],
)
def test_check_fails_on_a_model_that_cannot_load(tmp_path, capsys, body, key):
    problems = _problems(capsys, _config(tmp_path, body))
    assert any(p.startswith(key) for p in problems), problems


def test_check_fails_on_an_unwritable_state_directory(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    cfg = tmp_path / "a.toml"
    cfg.write_text(f'[runtime]\nstate_dir = "{blocker / "state"}"\n')
    assert any(p.startswith("runtime.state_dir: cannot write") for p in _problems(capsys, cfg))


def test_check_fails_on_a_bad_lm_file(tmp_path, capsys):
    lm = tmp_path / "broken.lm"
    lm.write_bytes(b"ASNGRAM\x1a" + b"\0" * 10)
    problems = _problems(capsys, _config(tmp_path, f'[asr]\nlm = "{lm}"\n'))
    assert any(p.startswith("asr.lm:") for p in problems), problems


def test_a_damaged_derived_model_is_caught_and_repaired(tmp_path, capsys):
    models = tmp_path / "models"
    models.mkdir()
    (models / "manifest.toml").write_text(MANIFEST)
    (models / "source.bin").write_bytes(b"0123456789" * 100)
    cache = tmp_path / "cache"
    cfg = _config(tmp_path, f'[models]\nmanifest = "{models / "manifest.toml"}"\ncache_dir = "{cache}"\n'
                            '[wake]\nmodels = ["test/derived"]\n')
    assert main(["models", "prepare", "--config", str(cfg)]) == 0
    derived = cache / "derived.bin"
    assert derived.read_bytes() == b"0123456789" * 200 and (cache / "derived.bin.sha256").exists()
    assert not [p for p in _problems(capsys, cfg) if p.startswith("wake.models")]
    assert main(["models", "verify", "--config", str(cfg)]) == 0

    derived.write_bytes(derived.read_bytes()[:500])  # truncated
    problems = _problems(capsys, cfg)
    assert any(p.startswith("wake.models[0]: test/derived: changed since it was prepared") for p in problems)
    assert main(["models", "verify", "--config", str(cfg)]) == 1
    capsys.readouterr()
    assert main(["models", "prepare", "--config", str(cfg)]) == 0  # repairs it
    assert derived.read_bytes() == b"0123456789" * 200
    assert main(["models", "verify", "--config", str(cfg)]) == 0
