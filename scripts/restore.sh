#!/usr/bin/env bash
# Thin wrapper over `obi-agent restore`: verifies the archive, checks that the engine is
# stopped, asks for confirmation, then restores it into the state dir as the obi user. The
# current state dir is kept beside it (<state_dir>.pre-restore-<time>); configs from the
# archive land in <state_dir>.restored-<time>/ for review, never over /etc/obi.
set -euo pipefail
umask 027 # what it writes into /var/lib/obi stays private, as under the units (UMask=)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<EOF2
Usage: scripts/restore.sh [--config FILE] [--yes] ARCHIVE|--latest

  ARCHIVE        a backup archive (obi-backup-<time>.tar.zst)
  --latest       the newest archive in [backup] dir
  --config FILE  agent config (default $OBI_AGENT_CONFIG)
  --yes          do not ask for confirmation (for scripts)

The engine must be stopped first (sudo systemctl stop obi-engine); the agent may keep running.
EOF2
}

archive=""
latest=0
yes=0
while [ $# -gt 0 ]; do
  case "$1" in
    --config)
      [ $# -ge 2 ] || die "--config needs a file"
      OBI_AGENT_CONFIG="$2"
      shift
      ;;
    --latest) latest=1 ;;
    --yes) yes=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) die "unknown option: $1 (see --help)" ;;
    *)
      [ -z "$archive" ] || die "one archive only"
      archive="$1"
      ;;
  esac
  shift
done
if [ "$latest" = 1 ] && [ -n "$archive" ]; then
  die "give an ARCHIVE or --latest, not both"
fi

agent="$(obi_bin obi-agent)"
if [ "$latest" = 1 ]; then
  dir="$("$agent" check-config --config "$OBI_AGENT_CONFIG" 2>/dev/null |
    sed -n 's/^  backup dir  *//p')"
  [ -n "$dir" ] || die "cannot read [backup] dir from $OBI_AGENT_CONFIG"
  archive="$(find "$dir" -maxdepth 1 -name 'obi-backup-*.tar*' ! -name '*.sha256' | sort | tail -n 1)"
  [ -n "$archive" ] || die "no archive in $dir"
fi
[ -n "$archive" ] || die "which archive? (ARCHIVE or --latest; see --help)"
[ -f "$archive" ] || die "$archive: not a file"

if have_systemd && systemctl is-active --quiet obi-engine.service; then
  die "obi-engine is running: stop it first (sudo systemctl stop obi-engine), then restore"
fi

say "verifying $archive"
as_obi "$agent" backup verify --config "$OBI_AGENT_CONFIG" "$archive"

if [ "$yes" = 0 ]; then
  [ -t 0 ] || die "not a terminal: pass --yes to restore without confirmation"
  read -r -p "Restore $archive into the state dir (the current one is kept aside)? [y/N] " answer
  case "$answer" in
    y | Y | yes) ;;
    *) die "not restored" ;;
  esac
fi
as_obi "$agent" restore --config "$OBI_AGENT_CONFIG" "$archive"
say "next: review the configs listed above against /etc/obi, then start the engine"
say "      (sudo systemctl start obi-engine) and check scripts/status.sh"
