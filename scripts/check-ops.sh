#!/usr/bin/env bash
# CI step for the ops layer (systemd units, operator scripts, runbooks). Installs no
# packages: shellcheck, systemd-analyze, strace and curl must be on PATH (from the
# Debian packages shellcheck, systemd, strace, curl); without them their checks are
# SKIPPED visibly, or fail when OBI_REQUIRE_TOOLS=1. Checks, in order:
#   1. shellcheck -x on every script in scripts/ (and scripts/lib/);
#   2. install.sh --root into a temp staging root twice: the exact expected tree (types,
#      modes, paths), the second run reports and changes nothing (listing with modes and
#      sha256 compared), --dry-run changes nothing, the generated configs pass the real
#      check-config, uninstall.sh keeps configs and state, --purge removes them;
#   3. systemd-analyze verify on every unit, against a copy of the staging root plus the
#      host's system units, so ExecStart= paths resolve to the staged binaries; any output
#      (warnings included) fails, and a deliberately bad unit must produce output;
#   4. systemd-analyze security --offline=yes: exposure printed, gated per unit;
#   5. operator scripts end to end: tune-host.sh on a fake /sys and /proc (report, and
#      --apply as root), kill.sh / status.sh / reset.sh against a real obi-agent on loopback;
#   6. runbooks: every fenced shell command in docs/OPERATIONS.md and docs/OPERATIONS.ja.md
#      that calls obi-engine, obi-agent or scripts/..., its subcommand answers --help with 0
#      and every --option it uses appears in that help; systemctl/journalctl unit names exist;
#   7. the agent's real system calls (strace: serve, kill, reset, webhook, backup, verify,
#      restore) all inside SystemCallFilter= of obi-agent.service.
#
# Usage: scripts/check-ops.sh [--bin-dir DIR]
#   --bin-dir DIR  where obi-engine and obi-agent are; default $CARGO_TARGET_DIR/release or
#                  target/release, built with cargo when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

bin_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir)
      [ $# -ge 2 ] || { echo "--bin-dir needs a directory" >&2; exit 2; }
      bin_dir="$2"
      shift
      ;;
    -h | --help)
      sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

# Output is captured before grep -q looks at it: with pipefail, `cmd | grep -q` fails at
# random when grep exits early and cmd dies of SIGPIPE.
started=$SECONDS
failures=0
step() { printf '\n--- %s\n' "$*"; }
ok() { printf 'ok    %s\n' "$*"; }
fail() {
  printf 'FAIL  %s\n' "$*"
  failures=$((failures + 1))
}
skip() { printf 'SKIPPED %s\n' "$*"; }

tmp="$(mktemp -d)"
agent_pid=""
cleanup() {
  if [ -n "$agent_pid" ]; then
    kill "$agent_pid" 2>/dev/null || true
    wait "$agent_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- tools -------------------------------------------------------------------------------
step "tools"
have_shellcheck=1
have_analyze=1
command -v shellcheck >/dev/null || have_shellcheck=0
command -v systemd-analyze >/dev/null || have_analyze=0
missing=()
[ "$have_shellcheck" = 1 ] || missing+=(shellcheck)
[ "$have_analyze" = 1 ] || missing+=(systemd)
command -v strace >/dev/null || missing+=(strace)
# curl drives the agent in steps 5 and 7, as the operator scripts do.
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${OBI_REQUIRE_TOOLS:-0}" = 1 ]; then
    echo "check-ops: missing tools with OBI_REQUIRE_TOOLS=1: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  skip "tools missing (apt-get install -y ${missing[*]}): their checks are skipped"
fi
[ "$have_shellcheck" = 1 ] && shellcheck --version | sed -n 2p
[ "$have_analyze" = 1 ] && systemd-analyze --version | head -1

# --- binaries ----------------------------------------------------------------------------
step "binaries"
if [ -z "$bin_dir" ]; then
  bin_dir="${CARGO_TARGET_DIR:-$repo/target}/release"
  if [ ! -x "$bin_dir/obi-engine" ] || [ ! -x "$bin_dir/obi-agent" ]; then
    echo "building obi-engine and obi-agent (release)"
    cargo build --release --locked -q -p obi-engine -p obi-agent
  fi
fi
for b in obi-engine obi-agent; do
  [ -x "$bin_dir/$b" ] || { echo "check-ops: $bin_dir/$b not found" >&2; exit 1; }
done
ok "using $bin_dir/obi-engine and $bin_dir/obi-agent"
engine="$bin_dir/obi-engine"
agent="$bin_dir/obi-agent"

# --- 1. shellcheck -----------------------------------------------------------------------
step "1. shellcheck"
if [ "$have_shellcheck" = 1 ]; then
  scripts=(scripts/*.sh scripts/lib/*.sh)
  if shellcheck -x "${scripts[@]}"; then
    ok "shellcheck clean: ${#scripts[@]} scripts"
  else
    fail "shellcheck findings above"
  fi
else
  skip "shellcheck"
fi

# --- 2. install.sh into a staging root ---------------------------------------------------
step "2. install.sh --root (twice), dry run, generated configs, uninstall.sh"
stage="$tmp/stage"
# Type, mode and path of everything in a tree; with checksums of regular files.
tree() { (cd "$1" && find . -mindepth 1 -printf '%M %p\n' | sort); }
tree_sums() {
  (cd "$1" && find . -mindepth 1 -printf '%M %p\n' | sort &&
    find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}
if scripts/install.sh --root "$stage" --no-build --bin-dir "$bin_dir" >"$tmp/install1.log" 2>&1; then
  ok "first run ($(grep -c '^  install' "$tmp/install1.log") files and dirs installed)"
else
  cat "$tmp/install1.log"
  fail "install.sh --root failed"
fi
cat >"$tmp/expected-tree" <<'EOF'
drwxr-x--- ./etc/obi
drwxr-x--- ./var/lib/obi
drwxr-x--- ./var/lib/obi/backups
drwxr-x--- ./var/lib/obi/state
drwxr-xr-x ./etc
drwxr-xr-x ./etc/systemd
drwxr-xr-x ./etc/systemd/system
drwxr-xr-x ./usr
drwxr-xr-x ./usr/local
drwxr-xr-x ./usr/local/bin
drwxr-xr-x ./usr/local/lib
drwxr-xr-x ./usr/local/lib/obi
drwxr-xr-x ./usr/local/lib/obi/lib
drwxr-xr-x ./usr/local/share
drwxr-xr-x ./usr/local/share/doc
drwxr-xr-x ./usr/local/share/doc/obi
drwxr-xr-x ./var
drwxr-xr-x ./var/lib
-rw------- ./etc/obi/agent.env
-rw------- ./etc/obi/engine.env
-rw-r----- ./etc/obi/agent.example.toml
-rw-r----- ./etc/obi/agent.toml
-rw-r----- ./etc/obi/engine.example.toml
-rw-r----- ./etc/obi/engine.toml
-rw-r--r-- ./etc/systemd/system/obi-agent.service
-rw-r--r-- ./etc/systemd/system/obi-backup.service
-rw-r--r-- ./etc/systemd/system/obi-backup.timer
-rw-r--r-- ./etc/systemd/system/obi-engine.service
-rw-r--r-- ./etc/systemd/system/obi-tune.service
-rw-r--r-- ./usr/local/lib/obi/lib/common.sh
-rw-r--r-- ./usr/local/share/doc/obi/OPERATIONS.ja.md
-rw-r--r-- ./usr/local/share/doc/obi/OPERATIONS.md
-rw-r--r-- ./usr/local/share/doc/obi/systemd-README.md
-rwxr-xr-x ./usr/local/bin/obi-agent
-rwxr-xr-x ./usr/local/bin/obi-engine
-rwxr-xr-x ./usr/local/lib/obi/tune-host.sh
EOF
if diff <(sort "$tmp/expected-tree" | awk '{print $2, $1}' | sort) \
  <(tree "$stage" | awk '{print $2, $1}' | sort) >"$tmp/tree.diff"; then
  ok "staging tree is exactly the expected $(wc -l <"$tmp/expected-tree") entries"
else
  sed 's/^/      /' "$tmp/tree.diff"
  fail "staging tree differs from the expected one (< expected, > actual)"
fi
for f in etc/systemd/system/obi-engine.service etc/systemd/system/obi-agent.service \
  etc/systemd/system/obi-backup.service etc/systemd/system/obi-backup.timer \
  etc/systemd/system/obi-tune.service; do
  cmp -s "systemd/${f##*/}" "$stage/$f" || fail "$f differs from systemd/${f##*/}"
done
tree_sums "$stage" >"$tmp/listing1"
if scripts/install.sh --root "$stage" --no-build --bin-dir "$bin_dir" >"$tmp/install2.log" 2>&1 &&
  grep -q '^nothing to do' "$tmp/install2.log"; then
  ok "second run: 'nothing to do'"
else
  cat "$tmp/install2.log"
  fail "second install.sh run did not report 'nothing to do'"
fi
tree_sums "$stage" >"$tmp/listing2"
if diff "$tmp/listing1" "$tmp/listing2" >/dev/null; then
  ok "second run changed nothing (modes, paths, sha256 of $(grep -c '  \./' "$tmp/listing2") files)"
else
  diff "$tmp/listing1" "$tmp/listing2" | sed 's/^/      /'
  fail "second install.sh run changed the tree"
fi
if scripts/install.sh --root "$tmp/dry" --dry-run --no-build --bin-dir "$bin_dir" >"$tmp/dry.log" 2>&1 &&
  [ ! -e "$tmp/dry" ] && grep -q '^would: install -m 0755 .*obi-engine' "$tmp/dry.log"; then
  ok "--dry-run prints the changes and makes none"
else
  cat "$tmp/dry.log"
  fail "--dry-run into a fresh root created files or printed nothing"
fi
if grep -q '^dry run: 0 change(s)' <<<"$(scripts/install.sh --root "$stage" --dry-run --no-build --bin-dir "$bin_dir" 2>&1)"; then
  ok "--dry-run on the installed root: 0 changes"
else
  fail "--dry-run on an installed root reports changes"
fi
if out="$("$engine" check-config --config "$stage/etc/obi/engine.toml" 2>&1)"; then
  ok "generated engine.toml passes obi-engine check-config"
else
  printf '%s\n' "$out"
  fail "generated engine.toml rejected by obi-engine check-config"
fi
if out="$(env -u OBI_AGENT_TOKEN -u OBI_AGENT_TOTP_SECRET "$agent" check-config --config "$stage/etc/obi/agent.toml" 2>&1)"; then
  ok "generated agent.toml passes obi-agent check-config"
else
  printf '%s\n' "$out"
  fail "generated agent.toml rejected by obi-agent check-config"
fi
grep -qx 'state_dir = "/var/lib/obi/state"          # journal, checkpoint, kill file' \
  "$stage/etc/obi/engine.toml" || fail "engine.toml: state_dir not set to /var/lib/obi/state"
grep -qx 'dir = "/var/lib/obi/backups"' "$stage/etc/obi/agent.toml" ||
  fail "agent.toml: backup dir not set to /var/lib/obi/backups"
echo "# operator edit" >>"$stage/etc/obi/engine.toml"
scripts/install.sh --root "$stage" --no-build --bin-dir "$bin_dir" >/dev/null 2>&1
if [ "$(tail -n 1 "$stage/etc/obi/engine.toml")" = '# operator edit' ]; then
  ok "an edited engine.toml survives a reinstall"
else
  fail "install.sh overwrote an edited engine.toml"
fi
cp -a "$stage" "$tmp/stage-uninstall"
if scripts/uninstall.sh --root "$tmp/stage-uninstall" >"$tmp/uninstall.log" 2>&1 &&
  [ ! -e "$tmp/stage-uninstall/usr/local/bin/obi-engine" ] &&
  [ ! -e "$tmp/stage-uninstall/usr/local/lib/obi" ] &&
  [ ! -e "$tmp/stage-uninstall/etc/systemd/system/obi-engine.service" ] &&
  [ -f "$tmp/stage-uninstall/etc/obi/engine.toml" ] && [ -d "$tmp/stage-uninstall/var/lib/obi/state" ]; then
  ok "uninstall.sh removes binaries and units, keeps /etc/obi and /var/lib/obi"
else
  cat "$tmp/uninstall.log"
  fail "uninstall.sh (without --purge)"
fi
if scripts/uninstall.sh --root "$tmp/stage-uninstall" --purge >"$tmp/purge.log" 2>&1 &&
  [ ! -e "$tmp/stage-uninstall/etc/obi" ] && [ ! -e "$tmp/stage-uninstall/var/lib/obi" ]; then
  ok "uninstall.sh --purge removes /etc/obi and /var/lib/obi"
else
  cat "$tmp/purge.log"
  fail "uninstall.sh --purge"
fi

# --- 3. systemd-analyze verify -----------------------------------------------------------
step "3. systemd-analyze verify (any output fails)"
units=(obi-engine.service obi-agent.service obi-backup.service obi-backup.timer obi-tune.service)
vroot="$tmp/vroot"
host_units=""
for d in /usr/lib/systemd/system /lib/systemd/system; do
  if [ -f "$d/sysinit.target" ]; then
    host_units="$d"
    break
  fi
done
if [ "$have_analyze" = 0 ]; then
  skip "systemd-analyze verify"
elif [ -z "$host_units" ]; then
  if [ "${OBI_REQUIRE_TOOLS:-0}" = 1 ]; then
    fail "no system units (sysinit.target) on this host: install the systemd package"
  else
    skip "systemd-analyze verify: no system units on this host"
  fi
else
  # verify --root resolves unit dependencies and ExecStart= binaries inside the root: the
  # staged tree gives the binaries at their installed paths, the host's units the targets.
  cp -a "$stage" "$vroot"
  mkdir -p "$vroot/usr/lib/systemd"
  cp -a "$host_units" "$vroot/usr/lib/systemd/system"
  # ExecReload=/bin/kill of obi-engine.service is the host's kill(1) (procps, on every
  # host), not something install.sh ships: the root gets the host's copy so verify can
  # resolve it.
  for k in /bin/kill /usr/bin/kill; do
    if [ -x "$k" ]; then
      install -D -m 0755 "$k" "$vroot/bin/kill"
      break
    fi
  done
  for u in "${units[@]}"; do
    if out="$(cd "$vroot/etc/systemd/system" && systemd-analyze verify --root="$vroot" "$u" 2>&1)" &&
      [ -z "$out" ]; then
      ok "verify $u"
    else
      printf '%s\n' "$out" | sed 's/^/      /'
      fail "verify $u"
    fi
  done
  # The check must be able to fail: an unknown key is only a warning (exit 0), so prove the
  # warning is seen.
  sed 's/^\[Service\]$/[Service]\nNoSuchSetting=yes/' "$vroot/etc/systemd/system/obi-agent.service" \
    >"$vroot/etc/systemd/system/obi-selftest.service"
  out="$(cd "$vroot/etc/systemd/system" || exit
    systemd-analyze verify --root="$vroot" obi-selftest.service 2>&1)" || true
  if grep -q NoSuchSetting <<<"$out"; then
    ok "self-test: a unit with an unknown key is reported"
  else
    fail "self-test: systemd-analyze verify did not report an unknown key (check is blind)"
  fi
  rm -f "$vroot/etc/systemd/system/obi-selftest.service"
fi

# --- 4. systemd-analyze security ---------------------------------------------------------
step "4. systemd-analyze security --offline=yes (exposure 0 = locked down ... 10 = unprotected)"
# Thresholds (fail above):
#   agent 2.0: sandboxed as far as it goes; what remains is needed (internet for alert
#     webhooks, the host's /dev for the stats file in /dev/shm, no user namespace);
#   backup 1.0: the same without network;
#   engine 6.0: deliberately no seccomp on the tick path (systemd/README.md), 5.8 today;
#     the gate catches a lost namespace or capability setting;
#   tune 6.0: a root oneshot that must write /sys, /proc/sys and /etc/sysctl.d, 5.7 today.
if [ "$have_analyze" = 0 ] || [ ! -d "$vroot" ]; then
  skip "systemd-analyze security"
else
  for spec in obi-agent.service:2.0 obi-backup.service:1.0 obi-engine.service:6.0 obi-tune.service:6.0; do
    u="${spec%%:*}"
    limit="${spec#*:}"
    out="$(cd "$vroot/etc/systemd/system" || exit
      systemd-analyze security --offline=yes --root="$vroot" "$u" 2>&1)" || true
    line="$(printf '%s\n' "$out" | grep 'Overall exposure level' || true)"
    level="$(printf '%s' "$line" | sed -n 's/.*: \([0-9.]*\) .*/\1/p')"
    if [ -z "$level" ]; then
      printf '%s\n' "$out" | tail -5
      fail "security $u: no exposure level"
    elif awk -v l="$level" -v m="$limit" 'BEGIN { exit !(l <= m) }'; then
      ok "security $u: exposure $level (limit $limit)"
    else
      printf '%s\n' "$out" | grep '✗' | sed 's/^/      /'
      fail "security $u: exposure $level above $limit"
    fi
  done
fi

# --- 5. operator scripts end to end ------------------------------------------------------
step "5. operator scripts"
fake="$tmp/fakehost"
mkdir -p "$fake/sys/devices/system/cpu/cpu0/cpufreq" "$fake/sys/devices/system/cpu/cpu1/cpufreq" \
  "$fake/sys/kernel/mm/transparent_hugepage" "$fake/proc/sys/vm" "$fake/proc/irq/10" "$fake/proc/irq/11"
echo 0-1 >"$fake/sys/devices/system/cpu/online"
echo powersave >"$fake/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"
echo powersave >"$fake/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor"
echo 'always [madvise] never' >"$fake/sys/kernel/mm/transparent_hugepage/enabled"
echo 'always defer defer+madvise [madvise] never' >"$fake/sys/kernel/mm/transparent_hugepage/defrag"
echo 'BOOT_IMAGE=/vmlinuz root=/dev/vda1' >"$fake/proc/cmdline"
echo 60 >"$fake/proc/sys/vm/swappiness"
echo 0-1 >"$fake/proc/irq/10/smp_affinity_list"
echo 0 >"$fake/proc/irq/11/smp_affinity_list"
mkdir -p "$fake/sys/devices/system/cpu/cpuidle"
echo none >"$fake/sys/devices/system/cpu/cpuidle/current_driver"
export OBI_SYSFS="$fake/sys" OBI_PROCFS="$fake/proc" OBI_SYSCTL_CONF="$fake/90-obi.conf"
if out="$(scripts/tune-host.sh 2>&1)" && grep -q 'TUNE     swappiness' <<<"$out" &&
  grep -q 'TUNE     idle-wakeup' <<<"$out" &&
  [ "$(cat "$fake/proc/sys/vm/swappiness")" = 60 ]; then
  ok "tune-host.sh reports and changes nothing without --apply"
else
  printf '%s\n' "$out"
  fail "tune-host.sh report"
fi
if [ "$(id -u)" = 0 ]; then
  scripts/tune-host.sh --apply >"$tmp/tune.log" 2>&1 || true
  if [ "$(cat "$fake/proc/sys/vm/swappiness")" = 1 ] &&
    [ "$(cat "$fake/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor")" = performance ] &&
    [ "$(cat "$fake/sys/kernel/mm/transparent_hugepage/enabled")" = never ] &&
    [ "$(cat "$fake/proc/irq/10/smp_affinity_list")" = 0 ] &&
    grep -q '^report only: 0 runtime change' <<<"$(scripts/tune-host.sh 2>&1)"; then
    ok "tune-host.sh --apply on a fake /sys and /proc: governor, THP, IRQs, swappiness set; report then clean"
  else
    cat "$tmp/tune.log"
    fail "tune-host.sh --apply"
  fi
else
  skip "tune-host.sh --apply (needs root)"
fi
rm -rf "$fake/sys" "$fake/proc"
if grep -q '^n/a      governor' <<<"$(scripts/tune-host.sh 2>&1)"; then
  ok "tune-host.sh without /sys and /proc: 'n/a', exit 0"
else
  fail "tune-host.sh on a host without the files"
fi
unset OBI_SYSFS OBI_PROCFS OBI_SYSCTL_CONF

# A real agent on loopback, no engine: kill and reset go through HTTP and the kill file.
state="$tmp/state"
mkdir -p "$state" "$tmp/backups"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 19464)"
cat >"$tmp/agent.toml" <<EOF
[http]
listen = "127.0.0.1:$port"
[engine]
shm_path = "$tmp/no-engine.stats"
state_dir = "$state"
min_free_disk_mib = 1
[backup]
enabled = false
dir = "$tmp/backups"
EOF
token="check-ops-token-0123456789abcdef"
export OBI_AGENT_URL="http://127.0.0.1:$port" OBI_STATE_DIR="$state" OBI_AGENT_ENV="$tmp/none.env"
if ! command -v curl >/dev/null; then
  skip "kill/status/reset against a live agent (curl not installed)"
else
  OBI_AGENT_TOKEN="$token" "$agent" serve --config "$tmp/agent.toml" >"$tmp/agent.log" 2>&1 &
  agent_pid=$!
  for _ in $(seq 50); do
    curl -s -o /dev/null "$OBI_AGENT_URL/healthz" && break
    sleep 0.1
  done
  if OBI_AGENT_TOKEN="$token" scripts/kill.sh --reason "check-ops drill" >"$tmp/kill.log" 2>&1 &&
    grep -q '^agent: HTTP 200' "$tmp/kill.log" && grep -qx 'reason=check-ops drill' "$state/KILL"; then
    ok "kill.sh: kill file written and agent POST /kill answered 200"
  else
    cat "$tmp/kill.log" "$tmp/agent.log"
    fail "kill.sh against the agent"
  fi
  if ! scripts/status.sh --quiet >"$tmp/status.log" 2>&1 && grep -q "^PRESENT $state/KILL" "$tmp/status.log" &&
    grep -q '^NOT READY: HTTP 503' "$tmp/status.log"; then
    ok "status.sh: kill file PRESENT, agent NOT READY (503), exit 1"
  else
    cat "$tmp/status.log"
    fail "status.sh"
  fi
  if OBI_AGENT_TOKEN=wrong-token-0123456789 scripts/reset.sh --reason "bad token" >"$tmp/reset-bad.log" 2>&1; then
    fail "reset.sh with a wrong token succeeded"
  elif grep -q '^agent: HTTP 401' "$tmp/reset-bad.log" && [ -e "$state/KILL" ]; then
    ok "reset.sh with a wrong token: 401, kill file kept, exit 1"
  else
    cat "$tmp/reset-bad.log"
    fail "reset.sh with a wrong token"
  fi
  if OBI_AGENT_TOKEN="$token" scripts/reset.sh --reason "check-ops drill over" >"$tmp/reset.log" 2>&1 &&
    [ ! -e "$state/KILL" ]; then
    ok "reset.sh: agent POST /kill/reset accepted, kill file gone"
  else
    cat "$tmp/reset.log" "$tmp/agent.log"
    fail "reset.sh against the agent"
  fi
  kill "$agent_pid" 2>/dev/null || true
  wait "$agent_pid" 2>/dev/null || true
  agent_pid=""
fi
scripts/kill.sh --no-agent --reason offline --also "$tmp/obi.stop" >/dev/null
if [ -e "$state/KILL" ] && [ -e "$tmp/obi.stop" ] &&
  scripts/reset.sh --file-only --reason offline --also "$tmp/obi.stop" >/dev/null &&
  [ ! -e "$state/KILL" ] && [ ! -e "$tmp/obi.stop" ]; then
  ok "kill.sh --no-agent / reset.sh --file-only with an extra kill path"
else
  fail "kill.sh / reset.sh without the agent"
fi
if out="$(OBI_BIN_DIR="$bin_dir" scripts/go-nogo.sh --config "$stage/etc/obi/engine.toml" --env-file "$tmp/none.env" 2>&1)"; then
  gn=0
else
  gn=$?
fi
case "$gn" in
  0 | 1 | 3) ok "go-nogo.sh runs (exit $gn: $(printf '%s\n' "$out" | tail -1))" ;;
  *)
    printf '%s\n' "$out"
    fail "go-nogo.sh exit $gn"
    ;;
esac
unset OBI_AGENT_URL OBI_STATE_DIR OBI_AGENT_ENV

# --- 6. runbook commands -----------------------------------------------------------------
step "6. runbook commands (docs/OPERATIONS.md, docs/OPERATIONS.ja.md)"
# Fenced ```sh / ```bash / ```console blocks, continuation lines joined, comments dropped.
extract() {
  awk '
    /^[[:space:]]*```/ {
      if (inblock) { inblock = 0; next }
      if ($0 ~ /```(sh|bash|console|shell)[[:space:]]*$/) { inblock = 1 }
      next
    }
    inblock {
      line = $0
      sub(/^[[:space:]]*\$ /, "", line)
      if (line ~ /^[[:space:]]*#/) next
      sub(/[[:space:]]+#[[:space:]].*$/, "", line)
      if (cont != "") { line = cont " " line; cont = "" }
      if (line ~ /\\[[:space:]]*$/) { sub(/\\[[:space:]]*$/, "", line); cont = line; next }
      if (line ~ /[^[:space:]]/) print line
    }' "$1"
}
checked=0
declare -A help_cache=()
help_of() {
  local key="$*"
  if [ -z "${help_cache[$key]+x}" ]; then
    if help_cache[$key]="$("$@" --help 2>&1)"; then
      help_cache["$key.rc"]=0
    else
      help_cache["$key.rc"]=1
    fi
  fi
  printf '%s' "${help_cache[$key]}"
  return "${help_cache["$key.rc"]}"
}
known_units=" obi-engine obi-agent obi-backup obi-tune obi-backup.timer obi-engine.service obi-agent.service obi-backup.service obi-tune.service "
check_segment() {
  local doc="$1" seg="$2" w opt cmd
  local -a words
  read -r -a words <<<"$seg"
  # Drop sudo (and its -u USER / -E), environment assignments, and leading parentheses.
  while [ ${#words[@]} -gt 0 ]; do
    case "${words[0]}" in
      sudo | sudoedit | env | exec) words=("${words[@]:1}") ;;
      -u) words=("${words[@]:2}") ;;
      -E | -i) words=("${words[@]:1}") ;;
      *=*) words=("${words[@]:1}") ;;
      *) break ;;
    esac
  done
  [ ${#words[@]} -gt 0 ] || return 0
  cmd="${words[0]}"
  case "$cmd" in
    obi-engine | obi-agent | /usr/local/bin/obi-engine | /usr/local/bin/obi-agent | */release/obi-engine | */release/obi-agent)
      local bin="$bin_dir/${cmd##*/}"
      local -a path=("$bin")
      for w in "${words[@]:1}"; do
        [[ "$w" =~ ^[a-z][a-z-]*$ ]] || break
        path+=("$w")
        if ! help_of "${path[@]}" >/dev/null; then
          unset 'path[-1]'
          break
        fi
      done
      if [ ${#path[@]} -eq 1 ]; then
        fail "$doc: no such subcommand: $seg"
        return
      fi
      ;;
    scripts/*.sh | ./scripts/*.sh)
      local script="${cmd#./}"
      if [ ! -x "$script" ]; then
        fail "$doc: $script does not exist: $seg"
        return
      fi
      local -a path=("$script")
      if ! help_of "${path[@]}" >/dev/null; then
        fail "$doc: $script --help does not exit 0"
        return
      fi
      ;;
    systemctl | journalctl)
      for w in "${words[@]:1}"; do
        case "$w" in
          obi-*)
            if [[ "$known_units" != *" $w "* ]]; then
              fail "$doc: unknown unit $w in: $seg"
            fi
            ;;
        esac
      done
      checked=$((checked + 1))
      return
      ;;
    *) return ;;
  esac
  for w in "${words[@]:1}"; do
    case "$w" in
      --*)
        opt="${w%%=*}"
        if ! grep -q -- "$opt\b" <<<"$(help_of "${path[@]}")"; then
          fail "$doc: option $opt not in '${path[*]##*/} --help': $seg"
        fi
        ;;
    esac
  done
  checked=$((checked + 1))
}
for doc in docs/OPERATIONS.md docs/OPERATIONS.ja.md; do
  [ -f "$doc" ] || { fail "$doc missing"; continue; }
  before=$checked
  while IFS= read -r line; do
    # Split pipelines and lists; each part is its own command.
    line="${line//&&/;}"
    line="${line//||/;}"
    line="${line//|/;}"
    IFS=';' read -r -a segs <<<"$line"
    for seg in "${segs[@]}"; do
      seg="${seg#"${seg%%[![:space:]]*}"}"
      seg="${seg#(}"
      if [ -n "$seg" ]; then
        check_segment "$doc" "$seg"
      fi
    done
  done < <(extract "$doc")
  ok "$doc: $((checked - before)) obi/scripts/systemctl commands checked"
done

# --- 7. the agent's system calls against its seccomp filter -----------------------------
step "7. obi-agent system calls (strace) against SystemCallFilter= of obi-agent.service"
# systemd-analyze cannot tell whether the filter fits the program. This runs the agent's real
# work under strace (serve: health, metrics, kill, reset, an alert webhook; one-shot backup,
# verify and restore) and fails on any system call outside the allowed groups or inside the
# denied ones, which in production would be an EPERM from seccomp.
strace_ok=1
if ! command -v strace >/dev/null; then
  strace_ok=0
  if [ "${OBI_REQUIRE_TOOLS:-0}" = 1 ]; then
    fail "strace not installed (apt-get install -y strace)"
  else
    skip "syscall audit: strace not installed (apt-get install -y strace)"
  fi
elif [ "$have_analyze" = 0 ]; then
  strace_ok=0
  skip "syscall audit: systemd-analyze missing"
elif ! strace -f -qq -o /dev/null true 2>/dev/null; then
  strace_ok=0
  if [ "${OBI_REQUIRE_TOOLS:-0}" = 1 ]; then
    fail "strace cannot trace here (ptrace not permitted)"
  else
    skip "syscall audit: ptrace not permitted here"
  fi
fi
# Every system call of the filter groups given, nested groups expanded.
expand_group() {
  local g x
  for g in "$@"; do
    while read -r x; do
      case "$x" in
        '' | '#'*) ;;
        @*) expand_group "$x" ;;
        *) echo "$x" ;;
      esac
    done < <(systemd-analyze syscall-filter "$g" | tail -n +2)
  done
}
# System call names in strace -f output files.
syscalls_of() {
  sed -E 's/^[0-9]+ +//; s/^<\.\.\. ([a-z0-9_]+) resumed>.*/\1/; s/^([a-z0-9_]+)\(.*/\1/' "$@" |
    grep -E '^[a-z0-9_]+$' | sort -u
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo "$1"
}
if [ "$strace_ok" = 1 ]; then
  sc="$tmp/syscalls"
  mkdir -p "$sc/state" "$sc/backups"
  allow_groups=()
  deny_groups=()
  while IFS= read -r line; do
    value="${line#SystemCallFilter=}"
    if [ "${value#\~}" != "$value" ]; then
      read -r -a groups <<<"${value#\~}"
      deny_groups+=("${groups[@]}")
    else
      read -r -a groups <<<"$value"
      allow_groups+=("${groups[@]}")
    fi
  done < <(grep '^SystemCallFilter=' systemd/obi-agent.service)
  expand_group "${allow_groups[@]}" | sort -u >"$sc/allowed"
  expand_group "${deny_groups[@]}" | sort -u >"$sc/denied"
  # A stats file from a real engine run when the recordings are here (the agent maps it),
  # else the agent's no-engine path.
  recording="${OBI_SHARED_DATA:-../shared/data}/hftbacktest-sample/usdm/ethusdt_20240808.gz"
  if [ -f "$recording" ]; then
    "$engine" replay --no-timing --shm-path "$sc/engine.stats" "$recording" >/dev/null 2>&1 || true
  fi
  sport="$(free_port 19465)"
  hport="$(free_port 19466)"
  {
    echo "[http]"
    echo "listen = \"127.0.0.1:$sport\""
    echo "[engine]"
    echo "shm_path = \"$sc/engine.stats\""
    echo "state_dir = \"$sc/state\""
    echo "min_free_disk_mib = 1"
    echo "[backup]"
    echo "enabled = false"
    echo "dir = \"$sc/backups\""
    echo "[[alerts.sinks]]"
    echo "name = \"check-ops\""
    echo "kind = \"webhook\""
    echo "url_env = \"OBI_CHECK_OPS_HOOK\""
  } >"$sc/agent.toml"
  hook_pid=""
  if command -v python3 >/dev/null; then
    python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$hport" &
    hook_pid=$!
  fi
  OBI_AGENT_TOKEN="$token" OBI_CHECK_OPS_HOOK="http://localhost:$hport/hook" \
    strace -f -qq -o "$sc/serve.trace" "$agent" serve --config "$sc/agent.toml" >"$sc/serve.log" 2>&1 &
  agent_pid=$!
  for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$sport/healthz" && break
    sleep 0.1
  done
  for path in /healthz /healthz/detailed /metrics; do
    curl -s -o /dev/null "http://127.0.0.1:$sport$path" || true
  done
  OBI_AGENT_URL="http://127.0.0.1:$sport" OBI_AGENT_TOKEN="$token" OBI_AGENT_ENV="$tmp/none.env" \
    scripts/kill.sh --state-dir "$sc/state" --reason audit >/dev/null 2>&1 || true
  OBI_AGENT_URL="http://127.0.0.1:$sport" OBI_AGENT_TOKEN="$token" OBI_AGENT_ENV="$tmp/none.env" \
    scripts/reset.sh --state-dir "$sc/state" --reason audit >/dev/null 2>&1 || true
  sleep 1.5 # alert evaluation and the webhook send
  # SIGTERM to the agent (strace's child), so its shutdown path is traced too.
  serve_child="$(pgrep -P "$agent_pid" || true)"
  if [ -n "$serve_child" ]; then
    kill "$serve_child" 2>/dev/null || true
  fi
  wait "$agent_pid" 2>/dev/null || true
  agent_pid=""
  if [ -n "$hook_pid" ]; then
    kill "$hook_pid" 2>/dev/null || true
    wait "$hook_pid" 2>/dev/null || true
  fi
  strace -f -qq -o "$sc/backup.trace" "$agent" backup --config "$sc/agent.toml" >"$sc/backup.log" 2>&1 || true
  strace -f -qq -o "$sc/verify.trace" "$agent" backup verify --latest --config "$sc/agent.toml" >>"$sc/backup.log" 2>&1 || true
  archive="$(find "$sc/backups" -name 'obi-backup-*.tar*' ! -name '*.sha256' | head -n 1)"
  if [ -n "$archive" ]; then
    rm -f "$sc/engine.stats"
    strace -f -qq -o "$sc/restore.trace" "$agent" restore --config "$sc/agent.toml" "$archive" >>"$sc/backup.log" 2>&1 || true
  fi
  syscalls_of "$sc"/*.trace >"$sc/used"
  outside="$(comm -23 "$sc/used" "$sc/allowed" | tr '\n' ' ')"
  denied="$(comm -12 "$sc/used" "$sc/denied" | tr '\n' ' ')"
  if [ ! -s "$sc/restore.trace" ] || ! grep -q 'restore ok' "$sc/backup.log"; then
    cat "$sc/serve.log" "$sc/backup.log"
    fail "syscall audit: the traced runs did not complete (archive '${archive:-none}')"
  elif [ -n "$outside$denied" ]; then
    [ -z "$outside" ] || fail "obi-agent uses system calls outside ${allow_groups[*]}: $outside"
    [ -z "$denied" ] || fail "obi-agent uses denied system calls (~${deny_groups[*]}): $denied"
  else
    ok "obi-agent: $(wc -l <"$sc/used") distinct system calls (serve, kill, reset, webhook, backup, verify, restore), all in ${allow_groups[*]}, none in ~${deny_groups[*]}"
  fi
fi

step "summary"
echo "check-ops: $failures failure(s) in $((SECONDS - started)) s"
[ "$failures" = 0 ]
