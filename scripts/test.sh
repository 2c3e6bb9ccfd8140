#!/usr/bin/env bash
# Install everything, then lint, type-check, check the layer contracts and run every test.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh dev || { echo "install failed"; exit 1; }

status=0
step() { echo "== $*"; "$@" || status=1; }
step .venv/bin/ruff check src tests bench examples scripts
step .venv/bin/ruff format --check src tests bench examples scripts
step .venv/bin/mypy
step .venv/bin/lint-imports
echo "== pytest"
# Two workers (one per core); a test file stays on one worker, so its module fixtures
# (a Ray cluster, a PostgreSQL server) start once.
.venv/bin/python -m pytest -n 2 --dist loadfile "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "pytest collected no tests: failing"; rc=1
fi
[ $rc -ne 0 ] && status=1
exit $status
