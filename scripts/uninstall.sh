#!/usr/bin/env bash
# Removes what scripts/install.sh installed: stops and disables the units (stopping the
# engine halts it and cancels its orders), removes units, binaries and docs. Keeps the
# configs (/etc/obi), the state and backups (/var/lib/obi) and the obi user unless --purge.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/uninstall.sh [--root DIR] [--dry-run] [--purge]

  --root DIR  uninstall from a staging root (no systemctl, no userdel; printed instead)
  --dry-run   print every change, make none
  --purge     also delete /etc/obi (configs, secrets), /var/lib/obi (state, journal,
              backups!) and the obi user. Take a copy of the backups first.
  -h, --help  this text
EOF
}

root=""
dry_run=0
purge=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root)
      [ $# -ge 2 ] || die "--root needs a directory"
      root="${2%/}"
      shift
      ;;
    --dry-run) dry_run=1 ;;
    --purge) purge=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  shift
done
staging=0
[ -n "$root" ] && staging=1
if [ "$staging" = 0 ] && [ "$dry_run" = 0 ] && [ "$(id -u)" != 0 ]; then
  die "run as root (or use --dry-run, or --root DIR)"
fi

changes=0
act() {
  changes=$((changes + 1))
  if [ "$dry_run" = 1 ]; then
    show "would:" "$@"
  else
    show " " "$@"
    "$@"
  fi
}
host_act() {
  if [ "$staging" = 1 ]; then
    show "staging, not run:" "$@"
  else
    act "$@"
  fi
}
remove() {
  local path="$root$1"
  if [ -e "$path" ] || [ -L "$path" ]; then
    act rm -rf -- "$path"
  fi
}

units=(obi-engine.service obi-agent.service obi-backup.service obi-backup.timer obi-tune.service)
if [ "$staging" = 0 ] && have_systemd; then
  for u in obi-backup.timer obi-agent.service obi-engine.service obi-tune.service; do
    if systemctl is-active --quiet "$u" || systemctl is-enabled --quiet "$u" 2>/dev/null; then
      if [ "$u" = obi-engine.service ]; then
        say "stopping the engine: it halts and cancels its working orders"
      fi
      act systemctl disable --now "$u"
    fi
  done
elif [ "$staging" = 1 ]; then
  say "staging, not run: systemctl disable --now ${units[*]}"
fi

for u in "${units[@]}"; do
  remove "/etc/systemd/system/$u"
done
# Drop-ins made with `systemctl edit` are host tuning; they go only with --purge.
if [ "$purge" = 1 ]; then
  remove /etc/systemd/system/obi-engine.service.d
  remove /etc/systemd/system/obi-agent.service.d
fi
remove /usr/local/bin/obi-engine
remove /usr/local/bin/obi-agent
remove /usr/local/share/doc/obi
remove /usr/local/lib/obi
if [ "$changes" -gt 0 ]; then
  if [ "$staging" = 0 ] && ! have_systemd; then
    say "systemd is not running here: no daemon-reload"
  else
    host_act systemctl daemon-reload
  fi
fi

if [ "$purge" = 1 ]; then
  say "purging configs, secrets, state, journal and backups"
  remove /etc/obi
  remove /var/lib/obi
  # The stats file only when it is the obi user's (never another engine's, e.g. a test run).
  stats="$root/dev/shm/obi-engine.stats"
  if [ -f "$stats" ] && [ "$(stat -c %U "$stats")" = "$OBI_USER" ]; then
    remove /dev/shm/obi-engine.stats
  fi
  if [ "$staging" = 1 ]; then
    say "staging, not run: userdel $OBI_USER"
  elif id -u "$OBI_USER" >/dev/null 2>&1; then
    act userdel "$OBI_USER"
  fi
else
  for kept in /etc/obi /var/lib/obi; do
    if [ -e "$root$kept" ]; then
      say "kept $root$kept (use --purge to delete it)"
    fi
  done
fi

if [ "$dry_run" = 1 ]; then
  say "dry run: $changes change(s) would be made"
else
  say "$changes change(s) made"
fi
