"""The image's lock files: every dependency of the runtime and of its build pinned, with hashes.

Failure 1 of issue 36 (``license = "Apache-2.0"`` needs setuptools >= 77, but the image built with
Debian's setuptools 66 and --no-build-isolation) is caught here: the lock must satisfy
``[build-system] requires``, and build.sh installs the lock, not whatever setuptools is around.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent.parent
IMAGE = REPO / "tools" / "image"


def pins(path: Path) -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes) from a ``--generate-hashes`` requirements file."""
    out: dict[str, tuple[Version, int]] = {}
    name = None
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^ \\;]+)", line)
        if m:
            name = m.group(1).lower().replace("_", "-").replace(".", "-")
            out[name] = (Version(m.group(2)), 0)
        elif name and line.strip().startswith("--hash=sha256:"):
            out[name] = (out[name][0], out[name][1] + 1)
        elif line.strip() and not line.startswith((" ", "#")):
            raise AssertionError(f"{path.name}: unexpected line {line!r}")
    return out


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def test_lock_satisfies_every_runtime_and_build_requirement():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    lock = pins(IMAGE / "requirements.lock")
    build = [Requirement(r) for r in project["build-system"]["requires"]]
    runtime = [Requirement(r) for r in project["project"]["dependencies"]]
    for req in build + runtime:
        assert _norm(req.name) in lock, f"{req.name} is not pinned in tools/image/requirements.lock"
        version, hashes = lock[_norm(req.name)]
        assert req.specifier.contains(version, prereleases=True), \
            f"the lock pins {req.name}=={version}, outside pyproject.toml's {req}: run tools/image/lock.sh"
        assert hashes > 0, f"{req.name} has no hashes in the lock"
    # The one that broke the build: the license expression needs setuptools 77.
    assert lock["setuptools"][0] >= Version("77")
    assert any(_norm(r.name) == "setuptools" and r.specifier.contains("77") and not r.specifier.contains("76")
               for r in build), "pyproject.toml's build requirements must say setuptools>=77 (license expression)"


def test_every_pin_has_hashes_and_onnxruntime_is_pinned():
    lock = pins(IMAGE / "requirements.lock")
    assert all(h > 0 for _v, h in lock.values())
    assert "onnxruntime" in lock  # the image's onnxruntime is a deliberate choice (issue 36, failure 2)


def test_project_lock_covers_the_test_extra_and_agrees_with_the_image():
    """requirements.lock (the project's, any platform) pins every dependency, test extra and build
    requirement, with the image's versions where both pin a package (the derived models made on a
    developer's machine are then made by the same onnx and onnxruntime as the image's)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    text = (REPO / "requirements.lock").read_text()
    versions: dict[str, set[Version]] = {}
    for m in re.finditer(r"^([A-Za-z0-9_.-]+)==([^ \\;]+)", text, re.M):
        versions.setdefault(_norm(m.group(1)), set()).add(Version(m.group(2)))
    reqs = project["build-system"]["requires"] + project["project"]["dependencies"]
    reqs += project["project"]["optional-dependencies"]["test"]
    for req in map(Requirement, reqs):
        got = versions.get(_norm(req.name), set())
        assert any(req.specifier.contains(v, prereleases=True) for v in got), f"{req} not pinned in requirements.lock"
    image = pins(IMAGE / "requirements.lock")
    for name, (version, _h) in image.items():
        assert version in versions.get(name, {version}), f"{name}: image {version}, project {versions[name]}"
    assert text.count("--hash=sha256:") >= len(versions)


def test_models_lock_matches_models_requirements():
    wanted = {}
    for line in (REPO / "models" / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            req = Requirement(line)
            wanted[_norm(req.name)] = req
    lock = pins(IMAGE / "models.lock")
    assert set(lock) == set(wanted), "tools/image/models.lock is stale: run tools/image/lock.sh"
    for name, req in wanted.items():
        assert req.specifier.contains(lock[name][0]) and lock[name][1] > 0, name


def test_build_script_installs_only_from_the_locks():
    script = (IMAGE / "build.sh").read_text().replace("\\\n", " ")  # continuation lines joined
    installs = [line for line in script.splitlines() if re.search(r"pip (install|download)", line)]
    assert installs
    joined = "\n".join(installs)
    for line in installs:  # every install is hash-checked from a lock, or a wheel built here from the source
        assert "--require-hashes" in line or "/tmp/assistant-*.whl" in line, line
    assert "requirements.lock" in joined and "models.lock" in joined
