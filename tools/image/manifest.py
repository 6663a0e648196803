"""Write the image's manifest.json and sizes.txt from the finished root filesystem and tarball.

    python3 tools/image/manifest.py ROOT TARBALL OUT SUITE ARCH REPO

manifest.json: the tarball's sha256 and size; the sha256 of the files that make the product (the config,
the unit, every file of the runtime's venv, every model) under "files"; every Python and Debian package's
version; the source commit. Nothing in it depends on when or where the build ran, so two builds from the
same inputs give the same "files" list (tests/image/test_reproducible.py compares two; the tarball's own
sha256 is not expected to match: see tools/image/README.md).

sizes.txt: the tarball and the root filesystem, and the largest parts of both (the compressed size of
each part is measured by compressing it alone, as the tarball does).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

KEY_TREES = ["etc/assistant", "etc/systemd/system/assistant.service", "opt/assistant", "usr/share/assistant"]
PARTS = [  # the breakdown in sizes.txt: the first that matches a file's path counts it
    ("models (usr/share/assistant/models)", "usr/share/assistant/models/"),
    ("onnxruntime", "opt/assistant/lib/python3.11/site-packages/onnxruntime"),
    ("numpy (+ its OpenBLAS)", "opt/assistant/lib/python3.11/site-packages/numpy"),
    ("onnx (+ ml_dtypes)", "opt/assistant/lib/python3.11/site-packages/onnx"),
    ("onnx (+ ml_dtypes)", "opt/assistant/lib/python3.11/site-packages/ml_dtypes"),
    ("espeak-ng (espeakng_loader: library + data)", "opt/assistant/lib/python3.11/site-packages/espeakng_loader"),
    ("the runtime (assistant)", "opt/assistant/lib/python3.11/site-packages/assistant"),
    ("other Python packages", "opt/assistant/"),
    ("Python 3.11 standard library", "usr/lib/python3.11/"),
    ("Python 3.11 standard library", "usr/lib/python3/"),
    ("systemd", "usr/lib/systemd/"),
    ("systemd", "usr/lib/aarch64-linux-gnu/systemd/"),
    ("shared libraries (usr/lib/aarch64-linux-gnu)", "usr/lib/aarch64-linux-gnu/"),
    ("programs (usr/bin, usr/sbin)", "usr/bin/"),
    ("programs (usr/bin, usr/sbin)", "usr/sbin/"),
    ("usr/share (data, copyright files)", "usr/share/"),
    ("var (dpkg database, ...)", "var/"),
    ("everything else", ""),
]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def key_files(root: Path) -> dict[str, str]:
    files = {}
    for top in KEY_TREES:
        p = root / top
        paths = [p] if p.is_file() else sorted(q for q in p.rglob("*") if q.is_file() and not q.is_symlink())
        for q in paths:
            files[str(q.relative_to(root))] = sha256(q)
    return files


def python_packages(root: Path) -> dict[str, str]:
    site = root / "opt/assistant/lib/python3.11/site-packages"
    out = {}
    for meta in sorted(site.glob("*.dist-info/METADATA")):
        fields = dict(line.split(": ", 1) for line in meta.read_text(encoding="utf-8", errors="replace")
                      .split("\n\n")[0].splitlines() if ": " in line)
        out[fields.get("Name", meta.parent.name)] = fields.get("Version", "")
    return out


def debian_packages(root: Path) -> dict[str, str]:
    out = {}
    for block in (root / "var/lib/dpkg/status").read_text(encoding="utf-8").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != " ")
        if "Package" in fields and fields.get("Status", "").endswith(" installed"):
            out[fields["Package"]] = fields.get("Version", "")
    return dict(sorted(out.items()))


def sizes(root: Path) -> dict[str, list[int]]:
    """part -> [bytes, compressed bytes (zlib level 6 per file: close to gzip of the part)]"""
    totals: dict[str, list[int]] = {}
    seen: set[tuple[int, int]] = set()  # hard links count once, as in the tarball
    for dirpath, _dirs, names in os.walk(root):
        for n in sorted(names):
            p = Path(dirpath) / n
            if p.is_symlink() or not p.is_file():
                continue
            st = p.stat()
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            rel = str(p.relative_to(root))
            part = next(label for label, prefix in PARTS if rel.startswith(prefix))
            size = p.stat().st_size
            comp = len(zlib.compress(p.read_bytes(), 6)) if size else 0
            t = totals.setdefault(part, [0, 0])
            t[0] += size
            t[1] += comp
    return totals


def main(argv: list[str]) -> int:
    root, tarball, out, suite, arch, repo = (Path(argv[0]), Path(argv[1]), Path(argv[2]), argv[3], argv[4],
                                             argv[5])
    commit = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    manifest = {
        "image": tarball.name, "sha256": sha256(tarball), "bytes": tarball.stat().st_size,
        "suite": suite, "arch": arch, "source_commit": commit + ("+local changes" if dirty else ""),
        "source_date_epoch": int(os.environ.get("SOURCE_DATE_EPOCH", "0")),
        "python_packages": python_packages(root), "debian_packages": debian_packages(root),
        "files": key_files(root),
    }
    (out / "manifest.json.tmp").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    os.replace(out / "manifest.json.tmp", out / "manifest.json")
    parts = sizes(root)
    total = [sum(v[0] for v in parts.values()), sum(v[1] for v in parts.values())]
    lines = [f"tarball {tarball.name}: {manifest['bytes'] / 1e6:.1f} MB (gzip -9)",
             f"root filesystem: {total[0] / 1e6:.1f} MB in files ({total[1] / 1e6:.1f} MB compressed file by file)",
             "", f"{'part':48s} {'MB':>8s} {'MB gz':>8s}"]
    for label, (size, comp) in sorted(parts.items(), key=lambda kv: -kv[1][1]):
        lines.append(f"{label:48s} {size / 1e6:8.1f} {comp / 1e6:8.1f}")
    models = root / "usr/share/assistant/models"
    if models.is_dir():
        lines += ["", "models:"]
        for p in sorted(models.rglob("*"), key=lambda p: -p.stat().st_size if p.is_file() else 0):
            if p.is_file() and p.stat().st_size > 1e6:
                lines.append(f"  {str(p.relative_to(models)):46s} {p.stat().st_size / 1e6:8.1f}")
    (out / "sizes.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"{tarball}: sha256 {manifest['sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
