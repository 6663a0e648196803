"""The image scripts' cheap guarantees, without building: build.sh stops at once, saying what to install,
when a host tool is missing; nothing mounts the host's /sys into the image (onnxruntime segfaults on
import under qemu-aarch64 when it can read it: failure 2 of issue 36); the manifest holds nothing that
depends on when or where the build ran."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
IMAGE = REPO / "tools" / "image"


def _path_without(tmp_path: Path, *tools: str) -> str:
    """A PATH with every program of this machine's PATH but ``tools``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for d in os.environ.get("PATH", "").split(":") + ["/usr/sbin", "/sbin"]:
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            if name not in tools and not (bin_dir / name).exists():
                (bin_dir / name).symlink_to(Path(d) / name)
    return str(bin_dir)


def test_build_stops_at_once_naming_a_missing_host_tool(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "PATH": _path_without(tmp_path, "debootstrap")}
    t0 = time.monotonic()
    r = subprocess.run(["bash", str(IMAGE / "build.sh"), str(out)], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 1
    assert "missing host tools" in r.stderr and "apt-get install" in r.stderr and "debootstrap" in r.stderr
    assert not out.exists() and time.monotonic() - t0 < 30  # nothing was started


def test_no_script_mounts_sysfs_into_the_image():
    for script in ("build.sh", "smoke.sh"):
        text = (IMAGE / script).read_text()
        code = "\n".join(line.split("#")[0] for line in text.splitlines())
        assert not re.search(r"mount\s[^\n]*(-t\s+sysfs|--r?bind\s+/sys\b)", code), script
        assert not re.search(r"\bsys\)\s*mount", code), script
    # and smoke.sh refuses a root where /sys is mounted
    assert 'mountpoint -q "$ROOT/sys"' in (IMAGE / "smoke.sh").read_text()


def _fake_image(root: Path) -> None:
    for rel, data in {"etc/assistant/assistant.toml": b"[pipeline]\n", "etc/systemd/system/assistant.service": b"x",
                      "opt/assistant/lib/python3.11/site-packages/numpy-2.4.6.dist-info/METADATA":
                      b"Metadata-Version: 2.1\nName: numpy\nVersion: 2.4.6\n\nbody: x\n",
                      "usr/share/assistant/models/manifest.toml": b"", "var/lib/dpkg/status":
                      b"Package: python3\nStatus: install ok installed\nVersion: 3.11.2-1+b1\n\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def test_manifest_is_the_same_for_the_same_tree(tmp_path):
    root = tmp_path / "root"
    _fake_image(root)
    tarball = tmp_path / "image.tar.gz"
    with tarfile.open(tarball, "w:gz") as t:
        t.add(root, arcname=".")
    manifests = []
    for run in ("a", "b"):
        out = tmp_path / run
        out.mkdir()
        r = subprocess.run([sys.executable, str(IMAGE / "manifest.py"), str(root), str(tarball), str(out), "bookworm",
                            "arm64", str(REPO)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        manifests.append(json.loads((out / "manifest.json").read_text()))
        assert "tarball image.tar.gz" in (out / "sizes.txt").read_text()
        time.sleep(1.1)  # a clock in the manifest would show
    assert manifests[0] == manifests[1]
    m = manifests[0]
    assert m["python_packages"] == {"numpy": "2.4.6"} and m["debian_packages"] == {"python3": "3.11.2-1+b1"}
    assert set(m["files"]) == {"etc/assistant/assistant.toml", "etc/systemd/system/assistant.service",
                               "opt/assistant/lib/python3.11/site-packages/numpy-2.4.6.dist-info/METADATA",
                               "usr/share/assistant/models/manifest.toml"}
