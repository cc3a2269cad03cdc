#!/usr/bin/env bash
# The test command: every crate's unit, integration and doc tests, debug then release.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked "$@"
cargo test --workspace --locked --release "$@"
