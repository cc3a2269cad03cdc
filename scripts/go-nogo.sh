#!/usr/bin/env bash
# Thin wrapper over `obi-engine go-nogo`: the pre-live checklist (config, keys and their
# permissions, clock offset, venue reachable, keys accepted, balances, kill switch armed,
# latch, breakers, recent paper trades). Run as root it loads /etc/obi/engine.env the way
# systemd does and runs the check as the obi user, so it sees exactly what the service will
# see. The paper evidence is the journal in the state directory the paper run used.
# Exit status: 0 GO, 3 CONDITIONAL, 1 NO-GO (and anything else: the check could not run).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<EOF2
Usage: scripts/go-nogo.sh [--config FILE] [--env-file FILE] [--paper-state DIR] [--json]
                          [-- EXTRA obi-engine go-nogo OPTIONS]

  --config FILE       engine config (default $OBI_ENGINE_CONFIG)
  --env-file FILE     the service's environment file (default $OBI_ETC/engine.env)
  --paper-state DIR   state dir of the paper run, the paper evidence (default $OBI_STATE_DIR)
  --json              machine-readable result on stdout (this script's summary goes to stderr)
  -- ...              passed on, e.g. -- --min-paper-fills 50 --paper-days 3 --min-quote 500

Exit status: 0 GO, 3 CONDITIONAL (go only with the named conditions accepted), 1 NO-GO,
anything else: the check itself failed (treat as NO-GO).
EOF2
}

env_file="$OBI_ETC/engine.env"
paper_state="$OBI_STATE_DIR"
json=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --config)
      [ $# -ge 2 ] || die "--config needs a file"
      OBI_ENGINE_CONFIG="$2"
      shift
      ;;
    --env-file)
      [ $# -ge 2 ] || die "--env-file needs a file"
      env_file="$2"
      shift
      ;;
    --paper-state)
      [ $# -ge 2 ] || die "--paper-state needs a directory"
      paper_state="$2"
      shift
      ;;
    --json) json=1 ;;
    --)
      shift
      extra=("$@")
      break
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

# The verdict line: stdout normally, stderr with --json (stdout is the JSON document).
verdict() {
  if [ "$json" = 1 ]; then say "$*" >&2; else say "$*"; fi
}

engine="$(obi_bin obi-engine)"
if ! "$engine" go-nogo --help >/dev/null 2>&1; then
  verdict "NO-GO: this obi-engine has no go-nogo command yet; do not go live."
  verdict "Work through the manual checklist in docs/OPERATIONS.md (Paper to live) instead."
  exit 1
fi
args=(go-nogo --config "$OBI_ENGINE_CONFIG" --paper-state "$paper_state")
if [ -e "$env_file" ]; then
  args+=(--env-file "$env_file")
fi
if [ -r "$env_file" ]; then
  export_env_file "$env_file"
elif [ -e "$env_file" ]; then
  warn "$env_file is not readable by $(id -un): keys will be reported missing (run with sudo)"
fi
if [ "$json" = 1 ]; then args+=(--json); fi
args+=("${extra[@]}")

status=0
as_obi "$engine" "${args[@]}" || status=$?
case "$status" in
  0) verdict "=> GO" ;;
  3) verdict "=> CONDITIONAL: go live only with every condition above accepted and noted" ;;
  1) verdict "=> NO-GO: fix the failed checks above; do not go live" ;;
  *) verdict "=> the check itself failed (exit $status): treat as NO-GO" ;;
esac
exit "$status"
