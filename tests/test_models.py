"""Model registry: the three kinds of entry, sha256 checks, derivation, manifest errors."""

from __future__ import annotations

import hashlib

import pytest

from assistant.config import ModelsConfig
from assistant.models import ModelError, ModelRegistry


def write_manifest(tmp_path, body: str) -> ModelsConfig:
    (tmp_path / "manifest.toml").write_text(body)
    return ModelsConfig(manifest=tmp_path / "manifest.toml", cache_dir=tmp_path / "cache")


def double(inputs, output):
    """A recipe for the test: output = input bytes twice."""
    data = inputs[0].read_bytes()
    output.write_bytes(data + data)


def test_project_and_derived_entries(tmp_path):
    (tmp_path / "tiny.bin").write_bytes(b"abc")
    sha_abc = hashlib.sha256(b"abc").hexdigest()
    sha_double = hashlib.sha256(b"abcabc").hexdigest()
    cfg = write_manifest(tmp_path, f"""
[[model]]
name = "t/tiny"
file = "tiny.bin"
sha256 = "{sha_abc}"
licence = "MIT"
contract = "bytes"

[[model]]
name = "t/double"
file = "double.bin"
recipe = "tests.test_models:double"
derived_from = ["t/tiny"]
sha256 = "{sha_double}"
licence = "MIT"
contract = "bytes"
""")
    reg = ModelRegistry.load(cfg)
    assert reg.status("t/tiny").state == "ok"
    assert reg.status("t/double").state == "missing"
    path = reg.path("t/double")  # derives on demand
    assert path.read_bytes() == b"abcabc" and reg.status("t/double").state == "ok"
    assert sorted(p.name for p in path.parent.iterdir()) == ["double.bin"]  # no temp files left
    (tmp_path / "tiny.bin").write_bytes(b"abd")
    assert reg.status("t/tiny").state == "mismatch"


def test_package_entry_found_without_import(tmp_path):
    cfg = write_manifest(tmp_path, """
[[model]]
name = "p/numpy-init"
file = "__init__.py"
package = "numpy"
module = "numpy"
licence = "BSD-3-Clause"
contract = "python"
""")
    reg = ModelRegistry.load(cfg)
    assert reg.path("p/numpy-init").name == "__init__.py"
    assert reg.status("p/numpy-init").state == "unpinned"


def test_missing_package_is_clear(tmp_path):
    cfg = write_manifest(tmp_path, """
[[model]]
name = "p/x"
file = "x.onnx"
package = "no-such-package==1.0"
module = "no_such_package_xyz"
licence = "MIT"
contract = "x"
""")
    with pytest.raises(ModelError, match="not installed"):
        ModelRegistry.load(cfg).path("p/x")


@pytest.mark.parametrize(
    "body, message",
    [
        ('[[model]]\nname = "a"\nfile = "a"\nlicence = "MIT"\ncontract = "c"\ncolour = "red"\n', "unknown keys"),
        ('[[model]]\nname = "a"\nfile = "a"\ncontract = "c"\n', "missing licence"),
        ('[[model]]\nname = "a"\nfile = "a"\nlicence = "MIT"\ncontract = "c"\nrecipe = "m:f"\nderived_from = ["b"]\n',
         "unknown model"),
        ("[[model]\n", "unreadable"),
        ('[[model]]\nname = "a"\nfile = "a"\nlicence = "MIT"\ncontract = "c"\ndecoding = { w = "high" }\n',
         "decoding must be a table of numbers"),
    ],
)
def test_bad_manifests(tmp_path, body, message):
    with pytest.raises(ModelError, match=message):
        ModelRegistry.load(write_manifest(tmp_path, body))


def test_shipped_manifest_is_valid_and_licensed():
    reg = ModelRegistry.load()
    assert reg.entries
    for e in reg.entries.values():
        assert e.licence and e.contract
        assert e.kind != "package" or (e.package and e.module and e.sha256)
