#!/usr/bin/env bash
# Installs obi on this host (or into a staging root for packaging): the obi system user,
# /etc/obi, /var/lib/obi/{state,backups}, the binaries in /usr/local/bin, the systemd units,
# the runbooks in /usr/local/share/doc/obi, and configs made from the examples. Idempotent:
# a second run changes nothing; existing configs and env files are never overwritten.
# It enables and starts nothing: see docs/OPERATIONS.md for the first start.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/install.sh [--root DIR] [--dry-run] [--no-build] [--bin-dir DIR]

  --root DIR     install under DIR (staging for packaging): no user creation, no chown,
                 no systemctl; what they would do is printed instead
  --dry-run      print every change, make none
  --no-build     do not run cargo; take the binaries from --bin-dir
  --bin-dir DIR  where obi-engine and obi-agent are (default: $CARGO_TARGET_DIR/release,
                 else target/release in the repository)
  -h, --help     this text

Installs: /usr/local/bin/obi-{engine,agent}, /etc/systemd/system/obi-{engine,agent,backup,
tune}.service and obi-backup.timer, /usr/local/lib/obi/tune-host.sh (for obi-tune.service),
/etc/obi/{engine,agent}.example.toml (always current),
/etc/obi/{engine,agent}.toml and {engine,agent}.env (only when absent), /var/lib/obi/{state,
backups}, /usr/local/share/doc/obi/. Run as root unless --root or --dry-run is given.
EOF
}

root=""
dry_run=0
build=1
bin_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --root)
      [ $# -ge 2 ] || die "--root needs a directory"
      root="$2"
      shift
      ;;
    --dry-run) dry_run=1 ;;
    --no-build) build=0 ;;
    --bin-dir)
      [ $# -ge 2 ] || die "--bin-dir needs a directory"
      bin_dir="$2"
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

root="${root%/}"
staging=0
[ -n "$root" ] && staging=1
[ -z "$bin_dir" ] && bin_dir="${CARGO_TARGET_DIR:-$OBI_REPO/target}/release"
if [ "$staging" = 0 ] && [ "$dry_run" = 0 ] && [ "$(id -u)" != 0 ]; then
  die "run as root (or use --dry-run, or --root DIR for a staging tree)"
fi

changes=0
# Prints an action; performs it unless this is a dry run.
act() {
  changes=$((changes + 1))
  if [ "$dry_run" = 1 ]; then
    show "would:" "$@"
  else
    show " " "$@"
    "$@"
  fi
}
# Host-only actions (users, ownership, systemctl): printed, never run, in staging mode.
host_act() {
  if [ "$staging" = 1 ]; then
    show "staging, not run:" "$@"
  else
    act "$@"
  fi
}

# Directory DIR (relative to the root) with MODE and OWNER:GROUP.
ensure_dir() {
  local dir="$root$1" mode="$2" owner="$3"
  if [ ! -d "$dir" ]; then
    act install -d -m "$mode" "$dir"
    host_act chown "$owner" "$dir"
    return
  fi
  [ "$(stat -c %a "$dir")" = "${mode#0}" ] || act chmod "$mode" "$dir"
  if [ "$staging" = 0 ] && [ "$(stat -c %U:%G "$dir")" != "$owner" ]; then
    act chown "$owner" "$dir"
  fi
}

# File SRC to DST (relative to the root) with MODE and OWNER:GROUP. With "keep", an
# existing DST is left alone whatever it holds (operator-edited configs and secrets).
ensure_file() {
  local src="$1" dst="$root$2" mode="$3" owner="$4" policy="${5:-replace}"
  if [ -e "$dst" ] && [ "$policy" = keep ]; then
    say "  kept $dst (exists; not overwritten)"
    return
  fi
  if [ ! -e "$dst" ] || ! cmp -s "$src" "$dst"; then
    act install -m "$mode" "$src" "$dst"
    host_act chown "$owner" "$dst"
    return
  fi
  [ "$(stat -c %a "$dst")" = "${mode#0}" ] || act chmod "$mode" "$dst"
  if [ "$staging" = 0 ] && [ "$(stat -c %U:%G "$dst")" != "$owner" ]; then
    act chown "$owner" "$dst"
  fi
}

# Replaces the whole line matching FROM (a fixed string) in FILE with TO; fails when the
# example no longer has that line, so a changed example is noticed here, not in production.
replace_line() {
  local file="$1" from="$2" to="$3" tmp
  grep -qxF -- "$from" "$file" || die "$file: expected line not found: $from"
  tmp="$file.new"
  awk -v from="$from" -v to="$to" '$0 == from { print to; next } { print }' "$file" >"$tmp"
  mv "$tmp" "$file"
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# --- build -----------------------------------------------------------------------------
if [ "$build" = 1 ]; then
  if [ "$dry_run" = 1 ]; then
    say "would: cargo build --release --locked -p obi-engine -p obi-agent"
  else
    say "building release binaries"
    (cd "$OBI_REPO" && cargo build --release --locked -p obi-engine -p obi-agent)
  fi
fi
for b in obi-engine obi-agent; do
  if [ ! -x "$bin_dir/$b" ]; then
    if [ "$dry_run" = 1 ]; then
      say "note: $bin_dir/$b does not exist yet"
    else
      die "$bin_dir/$b not found (build first, or pass --bin-dir)"
    fi
  fi
done

# --- user ------------------------------------------------------------------------------
if [ "$staging" = 1 ]; then
  say "staging, not run: groupadd --system $OBI_USER (when absent)"
  say "staging, not run: useradd --system --gid $OBI_USER --home-dir /var/lib/obi --no-create-home --shell /usr/sbin/nologin $OBI_USER (when absent)"
else
  getent group "$OBI_USER" >/dev/null || act groupadd --system "$OBI_USER"
  id -u "$OBI_USER" >/dev/null 2>&1 ||
    act useradd --system --gid "$OBI_USER" --home-dir /var/lib/obi --no-create-home \
      --shell /usr/sbin/nologin --comment "obi trading" "$OBI_USER"
fi

# --- directories -----------------------------------------------------------------------
if [ "$staging" = 1 ] && [ ! -d "$root" ]; then
  act install -d -m 0755 "$root"
fi
for d in /etc /etc/systemd /etc/systemd/system /usr /usr/local /usr/local/bin /usr/local/lib \
  /usr/local/share /usr/local/share/doc /var /var/lib; do
  if [ ! -d "$root$d" ]; then
    act install -d -m 0755 "$root$d"
  fi
done
ensure_dir /etc/obi 0750 "root:$OBI_USER"
ensure_dir /var/lib/obi 0750 "$OBI_USER:$OBI_USER"
ensure_dir /var/lib/obi/state 0750 "$OBI_USER:$OBI_USER"
ensure_dir /var/lib/obi/backups 0750 "$OBI_USER:$OBI_USER"
ensure_dir /usr/local/share/doc/obi 0755 root:root
ensure_dir /usr/local/lib/obi 0755 root:root
ensure_dir /usr/local/lib/obi/lib 0755 root:root

# --- binaries, units, docs -------------------------------------------------------------
units_changed_before=$changes
for b in obi-engine obi-agent; do
  if [ -x "$bin_dir/$b" ]; then
    ensure_file "$bin_dir/$b" "/usr/local/bin/$b" 0755 root:root
  fi
done
binaries_changed=$((changes - units_changed_before))
units_before=$changes
for u in obi-engine.service obi-agent.service obi-backup.service obi-backup.timer obi-tune.service; do
  ensure_file "$OBI_REPO/systemd/$u" "/etc/systemd/system/$u" 0644 root:root
done
units_changed=$((changes - units_before))
# tune-host.sh for obi-tune.service (boot-time tuning), with the helpers it sources.
ensure_file "$OBI_REPO/scripts/tune-host.sh" /usr/local/lib/obi/tune-host.sh 0755 root:root
ensure_file "$OBI_REPO/scripts/lib/common.sh" /usr/local/lib/obi/lib/common.sh 0644 root:root
ensure_file "$OBI_REPO/docs/OPERATIONS.md" /usr/local/share/doc/obi/OPERATIONS.md 0644 root:root
ensure_file "$OBI_REPO/docs/OPERATIONS.ja.md" /usr/local/share/doc/obi/OPERATIONS.ja.md 0644 root:root
ensure_file "$OBI_REPO/systemd/README.md" /usr/local/share/doc/obi/systemd-README.md 0644 root:root

# --- configs ---------------------------------------------------------------------------
ensure_file "$OBI_REPO/engine/engine.example.toml" /etc/obi/engine.example.toml 0640 "root:$OBI_USER"
ensure_file "$OBI_REPO/agent/agent.example.toml" /etc/obi/agent.example.toml 0640 "root:$OBI_USER"

engine_toml="$work/engine.toml"
{
  echo "# Made by scripts/install.sh from engine.example.toml (state and core set for this host)."
  echo "# Yours to edit: install.sh never overwrites it. Check: obi-engine check-config --config FILE"
  cat "$OBI_REPO/engine/engine.example.toml"
} >"$engine_toml"
replace_line "$engine_toml" \
  'state_dir = "state"                        # journal, checkpoint, kill file' \
  'state_dir = "/var/lib/obi/state"          # journal, checkpoint, kill file'
replace_line "$engine_toml" \
  '# core_id = 2                              # pin the core thread (unpinned when absent)' \
  'core_id = 1                               # the engine core (obi-engine.service CPUAffinity=0 1)'
ensure_file "$engine_toml" /etc/obi/engine.toml 0640 "root:$OBI_USER" keep

agent_toml="$work/agent.toml"
{
  echo "# Made by scripts/install.sh from agent.example.toml (paths set for this host)."
  echo "# Yours to edit: install.sh never overwrites it. Check: obi-agent check-config --config FILE"
  cat "$OBI_REPO/agent/agent.example.toml"
} >"$agent_toml"
replace_line "$agent_toml" 'state_dir = "state"' 'state_dir = "/var/lib/obi/state"'
replace_line "$agent_toml" 'dir = "backups"' 'dir = "/var/lib/obi/backups"'
replace_line "$agent_toml" \
  '# engine_config = "/etc/obi/engine.toml"     # example; archived under config/' \
  'engine_config = "/etc/obi/engine.toml"       # archived under config/'
ensure_file "$agent_toml" /etc/obi/agent.toml 0640 "root:$OBI_USER" keep

cat >"$work/engine.env" <<'EOF'
# obi-engine environment (EnvironmentFile= of obi-engine.service). root:root, mode 0600:
# systemd reads it before dropping privileges. KEY=value lines; no quotes needed.
#
# Venue API key and secret (HMAC secret, or an Ed25519 private key; a multi-line PEM key
# goes in [venue] secret_file instead, owned by obi, mode 0600).
#OBI_API_KEY=
#OBI_API_SECRET=
#
# Live trading needs BOTH [venue] mode = "live" in /etc/obi/engine.toml AND this line.
#OBI_ENABLE_LIVE=1
#
# Start halted (latched as env_kill, reset through the agent: scripts/reset.sh). Any value
# but 0/false/no/off halts. Remove the line again once the engine runs halted.
#OBI_KILL=1
EOF
ensure_file "$work/engine.env" /etc/obi/engine.env 0600 root:root keep

cat >"$work/agent.env" <<'EOF'
# obi-agent environment (EnvironmentFile= of obi-agent.service). root:root, mode 0600.
#
# Bearer token for POST /kill and /kill/reset (at least 16 bytes), e.g. openssl rand -hex 32.
# scripts/reset.sh and scripts/kill.sh (run as root) read it from here.
#OBI_AGENT_TOKEN=
# TOTP secret (base32, at least 128 bits) to require a 2FA code as well.
#OBI_AGENT_TOTP_SECRET=
# Alert webhook URLs named by url_env in [[alerts.sinks]].
#OBI_ALERT_SLACK_URL=
EOF
ensure_file "$work/agent.env" /etc/obi/agent.env 0600 root:root keep

# --- systemd ---------------------------------------------------------------------------
if [ "$units_changed" -gt 0 ]; then
  if [ "$staging" = 0 ] && ! have_systemd; then
    say "systemd is not running here: run 'systemctl daemon-reload' once it is"
  else
    host_act systemctl daemon-reload
  fi
fi

if [ "$dry_run" = 1 ]; then
  say "dry run: $changes change(s) would be made"
elif [ "$changes" = 0 ]; then
  say "nothing to do: everything is installed and current"
else
  say "$changes change(s) made"
  if [ "$staging" = 0 ]; then
    if [ "$binaries_changed" -gt 0 ] && systemctl is-active --quiet obi-engine 2>/dev/null; then
      say "note: obi-engine runs the old binary until restarted (docs/OPERATIONS.md, Upgrades)"
    fi
    say "next: edit /etc/obi/engine.toml, /etc/obi/agent.toml and the .env files, then"
    say "      systemctl enable --now obi-agent obi-engine   (docs/OPERATIONS.md, Start)"
  fi
fi
