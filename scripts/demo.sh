#!/usr/bin/env bash
# Install Pomona, then run the main job in ./demo-workspace (SQLite + local files).
# Extra arguments go to the demo, e.g. --no-serve to exit instead of serving the dashboard.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
mkdir -p demo-workspace
cd demo-workspace
exec ../.venv/bin/pomona demo tracking "$@"
