"""The tree's own rules: tools are a package run as ``python -m tools.NAME`` (no ``sys.path`` edits), the
pipeline's stage contract is written in ``assistant/stages.py`` (no run-time probes), and training outputs
stay out of the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _python_files(*folders: str) -> list[Path]:
    return [p for f in folders for p in sorted((REPO / f).rglob("*.py"))]


def test_no_test_or_tool_edits_sys_path():
    edits = [f"{p.relative_to(REPO)}:{n}" for p in _python_files("assistant", "tests", "tools")
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"sys\.path\.(insert|append)", line) and p.name != "test_layout.py"]
    assert edits == []


def test_the_pipeline_probes_no_stage():
    for module in sorted((REPO / "assistant" / "pipeline").glob("*.py")):
        assert not re.search(r"\bhasattr\(|\bgetattr\(", module.read_text(encoding="utf-8")), module.name


def test_every_benchmark_has_a_quick_mode():
    for bench in sorted((REPO / "tools").glob("bench_*.py")):
        assert '"--quick"' in bench.read_text(encoding="utf-8"), bench.name  # make test-tools runs it


def test_no_checkpoint_is_tracked():
    tracked = subprocess.run(["git", "ls-files", "*.pt"], cwd=REPO, capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout (an unpacked sdist)")
    assert tracked.stdout.split() == []


def test_only_the_switch_imports_the_native_extension():
    importers = [str(p.relative_to(REPO)) for p in _python_files("assistant")
                 if re.search(r"from assistant import _native|import assistant\._native|_accel\.native\.",
                              p.read_text(encoding="utf-8"))]
    assert importers == ["assistant/_accel.py"]


def test_asking_for_a_native_kernel_that_cannot_be_had_is_one_clear_error(monkeypatch):
    from assistant import _accel

    monkeypatch.setattr(_accel, "native", None)
    with pytest.raises(_accel.NativeUnavailable, match="native Fbank is not available"):
        _accel.choose("native", "Fbank")
    assert _accel.choose(None, "Fbank") == "python"
    with pytest.raises(ValueError, match="unknown implementation 'numpy'"):
        _accel.choose("numpy")
