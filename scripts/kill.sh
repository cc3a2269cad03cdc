#!/usr/bin/env bash
# The kill switch: halts trading. Writes the kill file <state_dir>/KILL (which the engine
# honours by itself, even with the agent down), then, when a bearer token is available, also
# asks the agent (POST /kill), whose shm control word reaches a running engine fastest.
# Needs no running agent; run as root or as the obi user. Resetting is scripts/reset.sh.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<EOF
Usage: scripts/kill.sh [--reason TEXT] [--totp CODE] [--state-dir DIR] [--also FILE]...

  --reason TEXT    why (recorded in the kill file and the agent's audit log)
  --totp CODE      6-digit code, when the agent requires 2FA
  --state-dir DIR  engine state dir (default $OBI_STATE_DIR)
  --also FILE      also touch this kill path (e.g. /tmp/obi.stop); repeatable
  --no-agent       only write the kill file
  -h, --help       this text

Token for the agent: \$OBI_AGENT_TOKEN, the file in \$OBI_AGENT_TOKEN_FILE, or
OBI_AGENT_TOKEN in $OBI_AGENT_ENV (readable by root). Agent URL: \$OBI_AGENT_URL
(default $OBI_AGENT_URL). Exit status 0 once the kill file is written.
EOF
}

reason="manual kill (scripts/kill.sh)"
totp=""
use_agent=1
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --reason)
      [ $# -ge 2 ] || die "--reason needs text"
      reason="$2"
      shift
      ;;
    --totp)
      [ $# -ge 2 ] || die "--totp needs a code"
      totp="$2"
      shift
      ;;
    --state-dir)
      [ $# -ge 2 ] || die "--state-dir needs a directory"
      OBI_STATE_DIR="$2"
      shift
      ;;
    --also)
      [ $# -ge 2 ] || die "--also needs a path"
      extra+=("$2")
      shift
      ;;
    --no-agent) use_agent=0 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

[ -d "$OBI_STATE_DIR" ] || die "state dir $OBI_STATE_DIR not found (use --state-dir)"

by="${SUDO_USER:-$(id -un)}@$(hostname)"
now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
# One line per field, as the agent writes it; reason flattened to one line.
write_kill_file() {
  local path="$1" tmp
  tmp="$(dirname "$path")/.KILL.$$.tmp"
  printf 'reason=%s\ntime=%s\nby=%s\n' "${reason//$'\n'/ }" "$now" "$by" >"$tmp"
  # Atomic: the engine sees either no file or a whole one.
  mv -f "$tmp" "$path"
  if [ "$(id -u)" = 0 ] && id -u "$OBI_USER" >/dev/null 2>&1; then
    chown "$OBI_USER:$OBI_USER" "$path" 2>/dev/null || true
  fi
  say "kill file written: $path"
}

write_kill_file "$OBI_STATE_DIR/KILL"
for path in "${extra[@]}"; do
  write_kill_file "$path"
done

if [ "$use_agent" = 1 ]; then
  token="$(agent_token)"
  if [ -z "$token" ]; then
    say "agent: not asked (no token: set OBI_AGENT_TOKEN, OBI_AGENT_TOKEN_FILE, or run as root with it in $OBI_AGENT_ENV)"
  elif ! command -v curl >/dev/null; then
    say "agent: not asked (curl not installed)"
  else
    agent_post /kill "{\"reason\":$(json_string "$reason")}" "$token" "$totp" ||
      say "agent: the kill file above still stands"
  fi
fi
say "check: scripts/status.sh   (kill_state = the reason code, e.g. 301 kill_file; open_orders 0)"
say "the halt is latched (a restart keeps it); trading resumes only after scripts/reset.sh"
say "if the engine does not halt: sudo systemctl stop obi-engine   (SIGTERM: halt, cancel all, exit)"
