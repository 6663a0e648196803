#!/usr/bin/env bash
# Installs the Debian packages the test suite reads real data from (and mosquitto, the MQTT broker the
# tests of assistant/home/mqtt.py start, and ffmpeg, which Home Assistant's TTS needs to send its reply to a
# satellite: tests/home/test_satellite.py). Idempotent; needs root (as in CI).
# `assistant wake train` reads its real-speech and music negatives from the Asterisk prompts in French,
# Spanish, Italian and Russian and asterisk-moh-opsound-wav (never the English prompts: evaluation only),
# and festlex-cmu's word list for its sound-alike phrases; festival and its two voices speak the wake-word
# evaluation corpus (tools/make_wake_corpus.py), never training data.
# Without root the tests that need them skip with a reason.
set -euo pipefail
pkgs=(pocketsphinx-testdata libportaudio2 espeak-ng sox asterisk-core-sounds-en-wav asterisk-core-sounds-en flite mosquitto
      ffmpeg asterisk-core-sounds-fr-wav asterisk-core-sounds-es-wav asterisk-core-sounds-it-wav asterisk-core-sounds-ru-wav
      asterisk-moh-opsound-wav festlex-cmu festival festvox-kallpc16k festvox-us-slt-hts)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "system_deps: not root; missing ${missing[*]} (tests that need them will skip)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
