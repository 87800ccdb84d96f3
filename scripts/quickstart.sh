#!/usr/bin/env bash
# Command 1 of the README: install dependencies, build, and start the gateway
# on config/quickstart.yaml (offline: mock deployments, no API keys needed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build build --target switchyard
echo
echo "Switchyard on http://127.0.0.1:4000 (master key sk-switchyard-quickstart). Ctrl-C stops it."
exec ./build/switchyard serve --config "${1:-config/quickstart.yaml}"
