#!/usr/bin/env bash
# The main job on an embedded default: generate a seeded synthetic session and replay it
# through the engine's tick path, printing the report. Extra arguments go to the report
# (for example --report json).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --locked -q -p obi-bench -- demo "$@"
