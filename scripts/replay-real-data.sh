#!/usr/bin/env bash
# Replays every Binance recording in ../shared/data with no config and --strict, so any
# gap, crossed book, parse error or disagreement with the exchange's bookTicker fails.
# Usage: scripts/replay-real-data.sh [DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-${OBI_SHARED_DATA:-../shared/data}}"
if [ ! -d "$data" ]; then
  echo "replay-real-data: $data not found" >&2
  exit 1
fi
cargo build --release --locked -p obi-engine
bin=target/release/obi-engine
for rec in \
  "$data"/cryptofeed-sample/BINANCE.ws.1.0 \
  "$data"/cryptofeed-sample/BINANCE_US.ws.1.0 \
  "$data"/cryptofeed-sample/BINANCE_FUTURES.ws.1.0 \
  "$data"/cryptofeed-sample/BINANCE_DELIVERY.ws.1.0 \
  "$data"/hftbacktest-sample/spot/ethusdt_20240808.gz \
  "$data"/hftbacktest-sample/usdm/ethusdt_20240808.gz; do
  printf '%s: ' "${rec#"$data"/}"
  "$bin" replay --strict --report json "$rec" 2>/dev/null |
    python3 -c 'import json,sys; r=json.load(sys.stdin); print("frames %d diffs %d checked %d mismatches %d gaps %d crossed %d" % (r["frames"], r["diffs_applied"], r["oracle_checked"], r["oracle_mismatches"], r["gaps"], r["crossed"]))'
done
