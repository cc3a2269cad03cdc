#!/usr/bin/env bash
# Instruction-count gates: runs each workload of `obi-bench gate-workload` under callgrind,
# counting only inside `gates::measured_*`, and compares with bench/baselines/icount.txt.
# Instruction counts do not move with machine load, so CI can gate on them.
#
# Usage:
#   scripts/icount-gate.sh                  check every workload (fails on a regression)
#   scripts/icount-gate.sh parse book       check some
#   scripts/icount-gate.sh --update         re-measure and rewrite the baselines (on purpose)
#   scripts/icount-gate.sh --features F ... build obi-bench with cargo features F first
# Environment: OBI_GATE_TOLERANCE_PCT (default 2), OBI_SHARED_DATA (default ../shared/data).
set -euo pipefail
cd "$(dirname "$0")/.."

update=0
features=""
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --update) update=1 ;;
    --features) features="$2"; shift ;;
    *) names+=("$1") ;;
  esac
  shift
done
[ ${#names[@]} -gt 0 ] || names=(parse book signal pipeline)

data="${OBI_SHARED_DATA:-../shared/data}"
recording="$data/hftbacktest-sample/usdm/ethusdt_20240808.gz"
baselines=bench/baselines/icount.txt
tolerance="${OBI_GATE_TOLERANCE_PCT:-2}"
command -v valgrind >/dev/null || { echo "icount-gate: valgrind not installed" >&2; exit 1; }
[ -f "$recording" ] || { echo "icount-gate: $recording not found" >&2; exit 1; }

if [ -n "$features" ]; then
  cargo build --release --locked -q -p obi-bench --features "$features"
else
  cargo build --release --locked -q -p obi-bench
fi

measure() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null '--toggle-collect=*gates::measured_*' \
    target/release/obi-bench gate-workload "$1" --recording "$recording" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

status=0
declare -A measured
for name in "${names[@]}"; do
  count=$(measure "$name")
  [ -n "$count" ] || { echo "icount-gate: no count for $name" >&2; exit 1; }
  measured[$name]=$count
  base=$(awk -v n="$name" '$1 == n { print $2 }' "$baselines" 2>/dev/null || true)
  if [ "$update" = 1 ]; then
    printf '%-9s %12s instructions (was %s)\n' "$name" "$count" "${base:-none}"
  elif [ -z "$base" ]; then
    printf '%-9s %12s instructions: NO BASELINE\n' "$name" "$count"
    status=1
  else
    verdict=$(awk -v c="$count" -v b="$base" -v t="$tolerance" \
      'BEGIN { d = (c - b) * 100 / b; printf "%+.2f%% %s", d, (d > t ? "REGRESSION" : "ok") }')
    printf '%-9s %12s instructions, baseline %12s: %s (tolerance +%s%%)\n' "$name" "$count" "$base" "$verdict" "$tolerance"
    case "$verdict" in *REGRESSION) status=1 ;; esac
  fi
done

if [ "$update" = 1 ]; then
  {
    echo "# Instruction counts (callgrind, inside gates::measured_*) of obi-bench gate workloads"
    echo "# on the first 20000 frames of the real USD-M ETHUSDT recording. Refresh on purpose with"
    echo "# scripts/icount-gate.sh --update and commit with the reason. Machine of this refresh:"
    echo "# $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p'), $(nproc) cores, $(rustc --version)"
    for name in parse book signal pipeline; do
      if [ -n "${measured[$name]:-}" ]; then
        echo "$name ${measured[$name]}"
      else
        awk -v n="$name" '$1 == n' "$baselines" 2>/dev/null || true
      fi
    done
  } > "$baselines.new"
  mv "$baselines.new" "$baselines"
  echo "icount-gate: wrote $baselines"
fi
exit $status
