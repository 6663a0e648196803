#!/usr/bin/env bash
# Smoke-test a firmware image under emulation, in a fresh copy of it (nothing of the run is left in the
# image): `assistant check` and `assistant models verify` with the device's config, then `assistant run`
# with the smoke config; a recorded wake word and request go in through its Wyoming socket and a spoken
# reply must come out (tools/image/smoke_voice.py checks the audio); then SIGTERM, a clean exit within
# the unit's TimeoutStopSec, no traceback in the log, and nothing new in the model cache.
# Usage (root): tools/image/smoke.sh IMAGE.tar.gz [LOGDIR]    (LOGDIR gets run.log, reply.wav, smoke.json)
set -euo pipefail
TARGET=${1:?usage: smoke.sh IMAGE.tar.gz [LOGDIR]}
LOGDIR=$(realpath -m "${2:-$(dirname "$TARGET")/smoke}")
HERE=$(cd "$(dirname "$0")" && pwd)
READY_TIMEOUT_S=${READY_TIMEOUT_S:-300}   # Python and numpy start slowly under qemu
REPLY_TIMEOUT_S=${REPLY_TIMEOUT_S:-400}
die() { echo "smoke.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (chroot, mounts)"
[ -f "$TARGET" ] || die "$TARGET: not an image tarball"
mkdir -p "$LOGDIR"
ROOT=$(mktemp -d /tmp/assistant-smoke.XXXXXX)
mounted=()
pid=
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
  rm -rf "$ROOT"
  return 0
}
trap cleanup EXIT
tar -xzf "$TARGET" -C "$ROOT"
# /proc and /dev only: with the host's /sys inside, onnxruntime's CPU probe segfaults under qemu-aarch64.
mount -t proc proc "$ROOT/proc"; mounted+=("$ROOT/proc")
mount --bind /dev "$ROOT/dev"; mounted+=("$ROOT/dev")
! mountpoint -q "$ROOT/sys" || die "$ROOT/sys is mounted: onnxruntime would crash under emulation"
ENV=(/usr/bin/env -i PATH=/opt/assistant/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 PYTHONUNBUFFERED=1
     OMP_NUM_THREADS=1 PYTHONDONTWRITEBYTECODE=1)
in_root() { chroot "$ROOT" "${ENV[@]}" "$@"; }
cache_list() { (cd "$ROOT" && find var/cache/assistant -type f 2>/dev/null | sort); }

echo "== uname inside the image: $(in_root uname -m)"
[ "$(in_root uname -m)" = aarch64 ] || die "not running the image under aarch64 emulation"
echo "== assistant check (the device's config)"
in_root assistant check --config /etc/assistant/assistant.toml
echo "== assistant models verify"
in_root assistant models verify --config /etc/assistant/assistant.toml
cache_before=$(cache_list)
[ -n "$cache_before" ] || die "the image's model cache is empty (build.sh's --warm step did not run)"

echo "== assistant run (input from the Wyoming socket) + a spoken request"
mkdir -p "$ROOT/run/assistant" "$ROOT/var/lib/assistant"
rm -f "$ROOT/run/assistant/wyoming.sock"
t0=$(date +%s.%N)
# Started without a wrapping shell, so the PID is the assistant's own (chroot and env exec it).
chroot "$ROOT" "${ENV[@]}" assistant run --config /etc/assistant/smoke.toml >"$LOGDIR/run.log" 2>&1 &
pid=$!
for _ in $(seq "$READY_TIMEOUT_S"); do
  [ -S "$ROOT/run/assistant/wyoming.sock" ] && break
  kill -0 "$pid" 2>/dev/null || { tail -20 "$LOGDIR/run.log" >&2; die "assistant run exited early"; }
  sleep 1
done
[ -S "$ROOT/run/assistant/wyoming.sock" ] || die "no socket after ${READY_TIMEOUT_S} s"
ready_s=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{printf "%.1f", a-b}')
echo "socket up after $ready_s s (emulated)"
cp "$HERE/smoke_voice.py" "$ROOT/tmp/smoke_voice.py"
rc=0
in_root python /tmp/smoke_voice.py --uri unix:///run/assistant/wyoming.sock --reply /tmp/reply.wav \
  --timeout "$REPLY_TIMEOUT_S" > "$LOGDIR/smoke.json" || rc=$?
cat "$LOGDIR/smoke.json"
cp "$ROOT/tmp/reply.wav" "$LOGDIR/reply.wav" 2>/dev/null || true

t1=$(date +%s.%N)
kill -TERM "$pid"
stop_limit=$(sed -nE 's/^TimeoutStopSec=([0-9]+)s?$/\1/p' "$ROOT/etc/systemd/system/assistant.service")
run_rc=0
for _ in $(seq $((stop_limit * 20))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then
  stop_s=$(awk -v a="$(date +%s.%N)" -v b="$t1" 'BEGIN{printf "%.2f", a-b}')
  tail -20 "$LOGDIR/run.log" >&2
  die "assistant run still running $stop_s s after SIGTERM (TimeoutStopSec=$stop_limit): systemd would kill it"
fi
wait "$pid" || run_rc=$?
pid=
stop_s=$(awk -v a="$(date +%s.%N)" -v b="$t1" 'BEGIN{printf "%.2f", a-b}')
echo "assistant run stopped on SIGTERM in $stop_s s (emulated; TimeoutStopSec=$stop_limit), exit $run_rc"
tail -8 "$LOGDIR/run.log"
failed=()
[ $rc = 0 ] || failed+=("no spoken reply to the spoken request (smoke.json)")
[ $run_rc = 0 ] || failed+=("assistant run exited $run_rc")
! grep -q Traceback "$LOGDIR/run.log" || failed+=("a traceback in the log ($LOGDIR/run.log)")
cache_after=$(cache_list)
[ "$cache_before" = "$cache_after" ] || failed+=("the run wrote to the model cache (not prepared at build):
$(diff <(echo "$cache_before") <(echo "$cache_after") | grep '^>' || true)")
printf '{"ready_s": %s, "stop_s": %s, "stop_limit_s": %s, "exit": %s}\n' "$ready_s" "$stop_s" "$stop_limit" \
  "$run_rc" > "$LOGDIR/service.json"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'smoke.sh: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "== smoke test passed"
