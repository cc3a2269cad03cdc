#!/usr/bin/env bash
# Thin wrapper over `obi-agent backup`: take a backup now, verify one, or list them. Run as
# root (it drops to the obi user, so archives stay obi's) or as obi.
set -euo pipefail
umask 027 # what it writes into /var/lib/obi stays private, as under the units (UMask=)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<EOF2
Usage: scripts/backup.sh [--config FILE] [now]
       scripts/backup.sh [--config FILE] verify [ARCHIVE]
       scripts/backup.sh [--config FILE] list

  now             take a backup now: state dir, engine config, parameter files; verified by a
                  trial restore, then pruned by retention (the default action)
  verify ARCHIVE  check an archive (checksum, manifest, trial restore); without ARCHIVE the
                  newest in [backup] dir
  list            the archives in [backup] dir, newest last, and the last backup's status
  --config FILE   agent config (default $OBI_AGENT_CONFIG)

Retention (agent.toml [backup]): 30 daily, 12 weekly, 12 monthly, 7 yearly by default.
EOF2
}

action=now
archive=""
while [ $# -gt 0 ]; do
  case "$1" in
    --config)
      [ $# -ge 2 ] || die "--config needs a file"
      OBI_AGENT_CONFIG="$2"
      shift
      ;;
    now | verify | list) action="$1" ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *)
      [ "$action" = verify ] || die "unexpected argument: $1 (see --help)"
      archive="$1"
      ;;
  esac
  shift
done

agent="$(obi_bin obi-agent)"
case "$action" in
  now)
    as_obi "$agent" backup --config "$OBI_AGENT_CONFIG"
    ;;
  verify)
    if [ -n "$archive" ]; then
      as_obi "$agent" backup verify --config "$OBI_AGENT_CONFIG" "$archive"
    else
      as_obi "$agent" backup verify --config "$OBI_AGENT_CONFIG" --latest
    fi
    ;;
  list)
    dir="$("$agent" check-config --config "$OBI_AGENT_CONFIG" 2>/dev/null |
      sed -n 's/^  backup dir  *//p')"
    [ -n "$dir" ] || die "cannot read [backup] dir from $OBI_AGENT_CONFIG (obi-agent check-config --config $OBI_AGENT_CONFIG)"
    say "backups in $dir:"
    find "$dir" -maxdepth 1 -name 'obi-backup-*' -printf '%TY-%Tm-%Td %TH:%TM  %10s  %f\n' | sort
    if [ -r "$dir/last-backup.json" ]; then
      say "last backup status ($dir/last-backup.json):"
      cat "$dir/last-backup.json"
      echo
    fi
    ;;
esac
