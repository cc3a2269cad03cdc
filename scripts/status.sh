#!/usr/bin/env bash
# One look at the whole system: the systemd units and the engine's own status line, the
# agent's /healthz/detailed (over loopback), and the kill files. Read-only; any user may run it (the units' journal lines
# need root or the systemd-journal group).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<EOF
Usage: scripts/status.sh [--state-dir DIR] [--also FILE]... [--quiet]

  --state-dir DIR  engine state dir (default $OBI_STATE_DIR)
  --also FILE      another kill path to report (default: /tmp/obi.stop); repeatable
  --quiet          no systemctl status output, only the summary lines
  -h, --help       this text

Agent URL: \$OBI_AGENT_URL (default $OBI_AGENT_URL).
Exit status: 0 when the agent answers 200 (ready to trade), 1 otherwise.
EOF
}

quiet=0
kill_paths=()
while [ $# -gt 0 ]; do
  case "$1" in
    --state-dir)
      [ $# -ge 2 ] || die "--state-dir needs a directory"
      OBI_STATE_DIR="$2"
      shift
      ;;
    --also)
      [ $# -ge 2 ] || die "--also needs a path"
      kill_paths+=("$2")
      shift
      ;;
    --quiet) quiet=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done
[ ${#kill_paths[@]} -gt 0 ] || kill_paths=(/tmp/obi.stop)

say "== units"
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  for unit in obi-engine.service obi-agent.service obi-backup.timer obi-tune.service; do
    printf '%-20s %s (%s)\n' "$unit" \
      "$(systemctl is-active "$unit" 2>/dev/null || true)" \
      "$(systemctl is-enabled "$unit" 2>/dev/null || true)"
  done
  # The engine's own sd_notify status line: "syncing books", "trading", "halted by <reason>".
  engine_status="$(systemctl show -p StatusText --value obi-engine.service 2>/dev/null || true)"
  say "obi-engine says: ${engine_status:-(nothing; not running)}"
  if [ "$quiet" = 0 ]; then
    systemctl --no-pager --lines=5 status obi-engine.service obi-agent.service 2>&1 || true
  fi
else
  say "systemd is not running on this host: units not checked"
fi

say "== kill files"
for path in "$OBI_STATE_DIR/KILL" "${kill_paths[@]}"; do
  if [ -e "$path" ]; then
    say "PRESENT $path"
    sed 's/^/        /' "$path" 2>/dev/null || say "        (not readable)"
  else
    say "absent  $path"
  fi
done

say "== agent $OBI_AGENT_URL/healthz/detailed"
if ! command -v curl >/dev/null; then
  say "curl not installed: agent not checked"
  exit 1
fi
body="$(mktemp)"
trap 'rm -f "$body"' EXIT
code="$(curl -sS --max-time 3 -o "$body" -w '%{http_code}' "$OBI_AGENT_URL/healthz/detailed" 2>/dev/null)" || code=000
case "$code" in
  000)
    say "no answer: the agent is down (systemctl status obi-agent; journalctl -u obi-agent)"
    exit 1
    ;;
  *)
    if command -v jq >/dev/null; then
      jq . "$body" || cat "$body"
    else
      cat "$body"
      echo
    fi
    ;;
esac
if [ "$code" = 200 ]; then
  say "READY: healthy (HTTP 200)"
  exit 0
fi
say "NOT READY: HTTP $code (the reasons above)"
exit 1
