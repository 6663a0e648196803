#!/usr/bin/env bash
# Smoke-test a firmware image under emulation: `assistant check`, then one rig scenario played through
# the Wyoming socket of `assistant run` started inside the image.
# Usage (root): tools/image/smoke.sh ROOTFS_DIR | IMAGE.tar.gz
set -euo pipefail
TARGET=${1:?usage: smoke.sh ROOTFS_DIR | IMAGE.tar.gz}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-300}   # Python and numpy start slowly under qemu
if [ -f "$TARGET" ]; then
  ROOT=$(mktemp -d /tmp/assistant-smoke.XXXXXX)
  tar -xzf "$TARGET" -C "$ROOT"
  remove_root=1
else
  ROOT=$TARGET
fi
mounted=()
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  [ -n "${remove_root:-}" ] && rm -rf "$ROOT"
  return 0
}
trap cleanup EXIT
for d in proc dev; do
  if ! mountpoint -q "$ROOT/$d"; then
    if [ $d = proc ]; then mount -t proc proc "$ROOT/proc"; else mount --bind /dev "$ROOT/dev"; fi
    mounted+=("$ROOT/$d")
  fi
done
in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/opt/assistant/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 "$@"; }

echo "== uname inside the image: $(in_root uname -m)"
echo "== assistant check"
in_root assistant check --config /etc/assistant/assistant.toml
echo "== assistant run (input from the Wyoming socket) + the smoke scenario"
mkdir -p "$ROOT/run/assistant" "$ROOT/var/lib/assistant"
rm -f "$ROOT/run/assistant/wyoming.sock"
t0=$(date +%s.%N)
# Started without a wrapping shell, so the PID is the assistant's own (chroot and env exec it).
chroot "$ROOT" /usr/bin/env -i PATH=/opt/assistant/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
  assistant run --config /etc/assistant/smoke.toml &
pid=$!
for _ in $(seq "$READY_TIMEOUT_S"); do
  [ -S "$ROOT/run/assistant/wyoming.sock" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "assistant run exited early" >&2; exit 1; }
  sleep 1
done
[ -S "$ROOT/run/assistant/wyoming.sock" ] || { echo "no socket after ${READY_TIMEOUT_S} s" >&2; exit 1; }
echo "socket up after $(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{printf "%.1f", a-b}') s (emulated)"
in_root python /opt/assistant/share/hil/run.py --uri unix:///run/assistant/wyoming.sock \
  /opt/assistant/share/hil/scenarios/smoke_text.toml
t1=$(date +%s.%N)
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
echo "assistant run stopped on SIGTERM in $(awk -v a="$(date +%s.%N)" -v b="$t1" 'BEGIN{printf "%.2f", a-b}') s (emulated), exit $rc"
[ $rc = 0 ]
echo "== smoke test passed"
