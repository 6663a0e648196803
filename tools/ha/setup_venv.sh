#!/usr/bin/env bash
# Builds the Home Assistant the tests start (tests/home/conftest.py): homeassistant 2024.3.3, the last
# release that installs on Python 3.11, in a virtual environment of its own (its pins clash with ours).
# Idempotent: a finished venv is reused (it is marked by .installed-<version>). Where it lives:
#   ASSISTANT_HA_VENV   (default ~/.cache/assistant-test/ha-venv)
#   ASSISTANT_HA_PYTHON (default python3.11)
# josepy is pinned below 2: with josepy 2, acme (a dependency of HA's http integration) fails at the first
# HTTP request. Without a Python 3.11 the script says so and exits 0: the Home Assistant tests then skip.
set -euo pipefail
HA_VERSION=2024.3.3
VENV="${ASSISTANT_HA_VENV:-$HOME/.cache/assistant-test/ha-venv}"
PY="${ASSISTANT_HA_PYTHON:-python3.11}"
STAMP="$VENV/.installed-$HA_VERSION"
REQS="$(dirname "$0")/requirements-demo.txt"
if [ -f "$STAMP" ]; then
  # a cached venv gets what the list has gained since it was built (quick when nothing is missing)
  "$VENV/bin/pip" install -q -r "$REQS"
  exit 0
fi
if ! command -v "$PY" >/dev/null 2>&1 || ! "$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
  echo "ha setup_venv: no Python 3.11 ($PY); the Home Assistant tests will skip" >&2
  exit 0
fi
start=$(date +%s)
rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q "homeassistant==$HA_VERSION" "josepy<2"
# The demo integration's platforms and the packages HA installs on first start when they are missing
# (it cannot reach a registry from the tests): installed here so the tests start HA offline. The wyoming
# integration (the device as a satellite: tests/home/test_satellite.py) needs wyoming, zeroconf (its
# config flow imports it) and, through assist_pipeline, webrtc-noise-gain.
"$VENV/bin/pip" install -q -r "$REQS"
touch "$STAMP"
echo "ha setup_venv: built $VENV in $(( $(date +%s) - start )) s" >&2
