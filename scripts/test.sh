#!/usr/bin/env bash
# Command 2 of the README: install dependencies, build, and run every test
# (unit tests, integration tests against the real binary and a scripted fake
# upstream, and conformance tests with the official OpenAI client).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build build
ctest --test-dir build --output-on-failure "$@"
