#!/usr/bin/env bash
# Install Pomona, then run the main job — the apple farm, end to end — in
# ./demo-workspace/apple-farm (SQLite + local files; an earlier run there is replaced).
# Extra arguments go to the demo: --no-serve exits at the end instead of serving the
# dashboard, --quick tells a shorter story, --port N serves on another port.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
mkdir -p demo-workspace
exec .venv/bin/pomona demo apples --workspace demo-workspace/apple-farm "$@"
