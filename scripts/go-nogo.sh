#!/usr/bin/env bash
# Thin wrapper over `obi-engine go-nogo`: the pre-live checklist (config, keys and their
# permissions, clock offset, venue reachable, balances, kill switch armed, breakers, recent
# paper trades). Run as root it loads /etc/obi/engine.env the way systemd does and runs the
# check as the obi user, so it sees exactly what the service will see.
# Exit status: 0 GO, 3 CONDITIONAL, 1 NO-GO (and anything else: the check could not run).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<EOF2
Usage: scripts/go-nogo.sh [--config FILE] [--env-file FILE]

  --config FILE    engine config (default $OBI_ENGINE_CONFIG)
  --env-file FILE  the service's environment file (default $OBI_ETC/engine.env)

Exit status: 0 GO, 3 CONDITIONAL (go only with the named conditions accepted), 1 NO-GO.
EOF2
}

env_file="$OBI_ETC/engine.env"
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
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done

engine="$(obi_bin obi-engine)"
if ! "$engine" go-nogo --help >/dev/null 2>&1; then
  say "NO-GO: this obi-engine has no go-nogo command yet; do not go live."
  say "Work through the manual checklist in docs/OPERATIONS.md (Paper to live) instead."
  exit 1
fi
if [ -r "$env_file" ]; then
  export_env_file "$env_file"
elif [ -e "$env_file" ]; then
  warn "$env_file is not readable by $(id -un): keys will be reported missing (run with sudo)"
fi

status=0
as_obi "$engine" go-nogo --config "$OBI_ENGINE_CONFIG" || status=$?
case "$status" in
  0) say "=> GO" ;;
  3) say "=> CONDITIONAL: go live only with every condition above accepted and noted" ;;
  1) say "=> NO-GO: fix the failed checks above; do not go live" ;;
  *) say "=> the check itself failed (exit $status): treat as NO-GO" ;;
esac
exit "$status"
