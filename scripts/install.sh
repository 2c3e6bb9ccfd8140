#!/usr/bin/env bash
# Install everything Pomona needs on a fresh Debian machine with Python 3.11:
# Debian packages (PostgreSQL and Chromium for the tests), then a virtualenv in .venv.
#   scripts/install.sh          the package with every extra (runs the demo)
#   scripts/install.sh dev      plus the test and lint tools
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-all}"

apt_missing=()
if [ "$profile" = "dev" ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && id postgres >/dev/null 2>&1 \
    || apt_missing+=(postgresql)
  command -v chromium >/dev/null 2>&1 || apt_missing+=(chromium)
  command -v redis-server >/dev/null 2>&1 || apt_missing+=(redis-server)
fi
if [ ${#apt_missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${apt_missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
extras="all"
if [ "$profile" = "dev" ]; then
  extras="dev"
  # The CPU build of PyTorch lies on this machine's disk; asking for it by version first
  # keeps pip from resolving a multi-GB CUDA build for the torch extra.
  .venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0" 2>&1 \
    | grep -v '^WARNING: Location' || true
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[${extras}]" 2>&1 \
  | grep -v '^WARNING: Location' || true
.venv/bin/python -c "import pomona" # fails loudly if the install did not take
