#!/usr/bin/env bash
# Resets the kill switch on purpose. With a bearer token it asks the agent (POST
# /kill/reset): the agent removes the kill file and requests the engine's reset only when it
# is safe (kill acknowledged, no open orders), and records who and why; the engine then
# resets its latch unless a kill file (extra paths included) is still present. Without a
# token it removes the kill file(s) itself and says what that does and does not do: the
# engine's latch is only ever reset through the agent.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<EOF
Usage: scripts/reset.sh --reason TEXT [--totp CODE] [--state-dir DIR] [--also FILE]...

  --reason TEXT    why trading may resume (required; recorded in the audit log)
  --totp CODE      6-digit code, when the agent requires 2FA (use a fresh code, not the
                   one used for the kill)
  --state-dir DIR  engine state dir (default $OBI_STATE_DIR)
  --also FILE      also remove this kill path (e.g. /tmp/obi.stop); repeatable
  --file-only      do not ask the agent; only remove the kill file(s)
  -h, --help       this text

Token: \$OBI_AGENT_TOKEN, the file in \$OBI_AGENT_TOKEN_FILE, or OBI_AGENT_TOKEN in
$OBI_AGENT_ENV (readable by root). Exit status: 0 reset done, 1 refused or failed.
EOF
}

reason=""
totp=""
file_only=0
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
    --file-only) file_only=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done
[ -n "$reason" ] || die "--reason is required: say why trading may resume"

# Extra kill paths are not the agent's: they are always removed here.
for path in "${extra[@]}"; do
  if [ -e "$path" ]; then
    rm -f -- "$path"
    say "removed $path"
  fi
done

kill_file="$OBI_STATE_DIR/KILL"
token=""
[ "$file_only" = 1 ] || token="$(agent_token)"
if [ -n "$token" ]; then
  command -v curl >/dev/null || die "curl not installed (or use --file-only)"
  if agent_post /kill/reset "{\"reason\":$(json_string "$reason")}" "$token" "$totp"; then
    say "reset accepted by the agent. The engine applies it only while no kill file is left"
    say "(extra paths too: --also); check: scripts/status.sh (kill_state 0). If it stays"
    say "latched: journalctl -u obi-engine | grep 'reset request' says why; a refused reset"
    say "is never applied later, so fix that and run reset.sh again."
    exit 0
  fi
  say "reset not done. 409 means not safe yet (the answer says why: kill not acknowledged,"
  say "open orders, stale heartbeat); 401/403: token or 2FA code; no answer: agent down."
  say "Engine stopped (stale heartbeat): its latch is in its journal, so start it (it starts"
  say "halted) and reset again while it runs."
  exit 1
fi

if [ "$file_only" = 0 ]; then
  say "no agent token (OBI_AGENT_TOKEN, OBI_AGENT_TOKEN_FILE, or $OBI_AGENT_ENV as root):"
  say "removing the kill file only. The agent's checks (kill acknowledged, no open orders)"
  say "and its audit record are skipped. The engine's latch is not reset: a running engine"
  say "stays halted, and a stopped one starts halted (its journal keeps the latch) until a"
  say "reset through the agent."
fi
if [ -e "$kill_file" ]; then
  rm -f -- "$kill_file"
  say "removed $kill_file (reason: $reason, by ${SUDO_USER:-$(id -un)})"
else
  say "no kill file at $kill_file"
fi
