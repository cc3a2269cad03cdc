#!/usr/bin/env bash
# Host tuning for the engine core: reports each setting against the recommendation and, with
# --apply, applies the runtime ones (CPU governor, transparent huge pages, IRQ affinity away
# from the engine core, swappiness). CPU isolation (isolcpus/nohz_full/rcu_nocbs) is kernel
# command line: advice only. Never reboots. On a VM or container without these files each
# item says "not available" and nothing fails.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<'EOF'
Usage: scripts/tune-host.sh [--apply] [--engine-core N] [--swappiness N]

  --engine-core N   the CPU the engine's core thread busy-polls ([engine] core_id, and in
                    CPUAffinity= of obi-engine.service); default 1
  --swappiness N    vm.swappiness to recommend/apply; default 1
  --apply           apply the runtime settings (root); otherwise only report
  -h, --help        this text

Runtime settings last until the next boot, except swappiness, which --apply also writes
to /etc/sysctl.d/90-obi.conf. Exit status 0, also when items are not available.
Roots (override for tests): $OBI_SYSFS (default /sys), $OBI_PROCFS (/proc),
$OBI_SYSCTL_CONF (/etc/sysctl.d/90-obi.conf).
EOF
}

apply=0
core=1
swappiness=1
while [ $# -gt 0 ]; do
  case "$1" in
    --apply) apply=1 ;;
    --engine-core)
      [ $# -ge 2 ] || die "--engine-core needs a CPU number"
      core="$2"
      shift
      ;;
    --swappiness)
      [ $# -ge 2 ] || die "--swappiness needs a number"
      swappiness="$2"
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
[[ "$core" =~ ^[0-9]+$ ]] || die "--engine-core must be a CPU number"
[[ "$swappiness" =~ ^[0-9]+$ ]] || die "--swappiness must be a number"
if [ "$apply" = 1 ] && [ "$(id -u)" != 0 ]; then
  die "--apply needs root"
fi

sys="${OBI_SYSFS:-/sys}"
proc="${OBI_PROCFS:-/proc}"
fixes=0

# Item line: STATUS NAME DETAIL. STATUS is ok, TUNE (differs from advice), n/a, applied, failed.
item() { printf '%-8s %-22s %s\n' "$1" "$2" "$3"; }
# Writes VALUE to FILE when --apply, reporting the outcome; counts what would change.
set_value() {
  local name="$1" file="$2" value="$3"
  if [ "$apply" = 0 ]; then
    fixes=$((fixes + 1))
    return
  fi
  if printf '%s\n' "$value" 2>/dev/null >"$file"; then
    item applied "$name" "$file <- $value"
  else
    item failed "$name" "could not write $file (read-only here?)"
  fi
}
# CPU list (e.g. 0-3,6) expanded to one number per line.
expand_cpus() {
  local part a b
  local IFS=,
  for part in $1; do
    case "$part" in
      *-*)
        a="${part%-*}"
        b="${part#*-}"
        seq "$a" "$b"
        ;;
      '') ;;
      *) echo "$part" ;;
    esac
  done
}

# True when CPU is in LIST (no pipe into grep -q: with pipefail an early exit of grep could
# kill the writer with SIGPIPE and turn a match into a failure).
cpu_in_list() {
  local cpu="$1" c
  local -a list
  mapfile -t list < <(expand_cpus "$2")
  for c in "${list[@]}"; do
    [ "$c" = "$cpu" ] && return 0
  done
  return 1
}

online="$(cat "$sys/devices/system/cpu/online" 2>/dev/null || echo 0)"
mapfile -t cpus < <(expand_cpus "$online")
others=()
for c in "${cpus[@]}"; do
  [ "$c" = "$core" ] || others+=("$c")
done
housekeeping="$(
  IFS=,
  echo "${others[*]}"
)"
say "obi host tuning: engine core $core; online CPUs $online; $([ "$apply" = 1 ] && echo applying || echo report only)"
if ! cpu_in_list "$core" "$online"; then
  item TUNE engine-core "CPU $core is not online here: choose --engine-core from $online"
fi
if [ ${#others[@]} -eq 0 ]; then
  item TUNE housekeeping "only one CPU: nothing to keep off the engine core; expect jitter"
fi

# --- 1. CPU isolation (kernel command line; advice only) -------------------------------
cmdline="$(cat "$proc/cmdline" 2>/dev/null || true)"
isolated="$(cat "$sys/devices/system/cpu/isolated" 2>/dev/null || true)"
nohz="$(cat "$sys/devices/system/cpu/nohz_full" 2>/dev/null || true)"
if [ -z "$cmdline" ]; then
  item n/a cpu-isolation "$proc/cmdline not readable"
elif cpu_in_list "$core" "$isolated" && cpu_in_list "$core" "${nohz//(null)/}"; then
  item ok cpu-isolation "CPU $core isolated ($isolated) and nohz_full ($nohz)"
else
  item TUNE cpu-isolation "CPU $core is not isolated (isolated: '${isolated:-none}', nohz_full: '${nohz:-none}')"
  say "         advice (not applied; needs a reboot at a planned time): add to the kernel"
  say "         command line, e.g. GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub:"
  say "           isolcpus=managed_irq,domain,$core nohz_full=$core rcu_nocbs=$core${housekeeping:+ irqaffinity=$housekeeping}"
  say "         and keep [engine] core_id = $core with CPUAffinity=${housekeeping%%,*} $core in obi-engine.service."
fi

# --- 2. CPU frequency governor ----------------------------------------------------------
gov_files=("$sys"/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor)
if [ ! -e "${gov_files[0]}" ]; then
  item n/a governor "no cpufreq here (typical for VMs: the hypervisor decides)"
else
  not_perf=()
  for f in "${gov_files[@]}"; do
    [ "$(cat "$f" 2>/dev/null)" = performance ] || not_perf+=("$f")
  done
  if [ ${#not_perf[@]} -eq 0 ]; then
    item ok governor "performance on every CPU"
  else
    item TUNE governor "${#not_perf[@]} CPU(s) not on 'performance' (e.g. $(cat "${not_perf[0]}" 2>/dev/null))"
    for f in "${not_perf[@]}"; do
      set_value governor "$f" performance
    done
  fi
fi

# --- 3. Transparent huge pages ----------------------------------------------------------
# Advice: never. khugepaged collapsing and direct compaction stall the faulting thread at
# unpredictable moments; the engine preallocates and locks its memory instead.
for knob in enabled defrag; do
  f="$sys/kernel/mm/transparent_hugepage/$knob"
  if [ ! -r "$f" ]; then
    item n/a "thp-$knob" "$f not available"
    continue
  fi
  # The kernel brackets the current choice: "always madvise [never]".
  current="$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$f")"
  [ -n "$current" ] || current="$(cat "$f")"
  if [ "$current" = never ]; then
    item ok "thp-$knob" "never"
  else
    item TUNE "thp-$knob" "$current (advice: never)"
    set_value "thp-$knob" "$f" never
  fi
done

# --- 4. IRQ affinity away from the engine core ------------------------------------------
if [ ${#others[@]} -eq 0 ]; then
  item n/a irq-affinity "single CPU: no other core to move interrupts to"
elif [ ! -d "$proc/irq" ]; then
  item n/a irq-affinity "$proc/irq not available"
else
  on_core=()
  for f in "$proc"/irq/[0-9]*/smp_affinity_list; do
    [ -r "$f" ] || continue
    if cpu_in_list "$core" "$(cat "$f")"; then
      on_core+=("$f")
    fi
  done
  if [ ${#on_core[@]} -eq 0 ]; then
    item ok irq-affinity "no IRQ may run on CPU $core"
  else
    item TUNE irq-affinity "${#on_core[@]} IRQ(s) may run on CPU $core (advice: $housekeeping only)"
    moved=0
    failed=0
    if [ "$apply" = 1 ]; then
      for f in "${on_core[@]}"; do
        if printf '%s\n' "$housekeeping" 2>/dev/null >"$f"; then
          moved=$((moved + 1))
        else
          failed=$((failed + 1))
        fi
      done
      item applied irq-affinity "$moved IRQ(s) moved to $housekeeping; $failed refused (per-CPU or managed IRQs stay)"
      # A hex mask; one 32-bit group is enough below 32 CPUs (larger hosts: irqaffinity=).
      if [ -w "$proc/irq/default_smp_affinity" ] && [ "${cpus[-1]}" -lt 32 ]; then
        mask=0
        for c in "${others[@]}"; do
          mask=$((mask | (1 << c)))
        done
        set_value irq-default "$proc/irq/default_smp_affinity" "$(printf '%x' "$mask")"
      fi
    else
      fixes=$((fixes + 1))
    fi
  fi
  if command -v systemctl >/dev/null && systemctl is-active --quiet irqbalance 2>/dev/null; then
    item TUNE irqbalance "running: it will move IRQs back; set IRQBALANCE_BANNED_CPULIST=$core in /etc/default/irqbalance and restart it (advice)"
  fi
fi

# --- 5. Swappiness ----------------------------------------------------------------------
f="$proc/sys/vm/swappiness"
if [ ! -r "$f" ]; then
  item n/a swappiness "$f not available"
else
  current="$(cat "$f")"
  if [ "$current" -le "$swappiness" ]; then
    item ok swappiness "$current"
  else
    item TUNE swappiness "$current (advice: $swappiness)"
    set_value swappiness "$f" "$swappiness"
    if [ "$apply" = 1 ]; then
      conf="${OBI_SYSCTL_CONF:-/etc/sysctl.d/90-obi.conf}"
      if printf '# obi: keep the engine resident (scripts/tune-host.sh)\nvm.swappiness = %s\n' "$swappiness" 2>/dev/null >"$conf"; then
        item applied swappiness "persisted in $conf"
      else
        item failed swappiness "could not write $conf"
      fi
    fi
  fi
fi

# --- 6. Clock sync (report only): signed requests fail outside the venue's recvWindow ---
if command -v timedatectl >/dev/null && [ -d /run/systemd/system ]; then
  synced="$(timedatectl show -p NTPSynchronized --value 2>/dev/null || true)"
  if [ "$synced" = yes ]; then
    item ok clock-sync "NTP synchronized"
  else
    item TUNE clock-sync "not synchronized ('${synced:-unknown}'): enable chrony or systemd-timesyncd (advice)"
  fi
else
  item n/a clock-sync "timedatectl not available"
fi

# --- 7. Idle wake-up latency (report only) ----------------------------------------------
# A thread blocked in epoll on an idle CPU runs only once that CPU leaves its idle state; in
# a VM guest without a cpuidle driver that means the hypervisor scheduling the vCPU again
# (35 us to 1.2 ms measured on a Firecracker guest, see bench/results/). A spinning engine
# core never idles.
idle_dir="$sys/devices/system/cpu/cpuidle"
driver="$(cat "$idle_dir/current_driver" 2>/dev/null || true)"
if [ -z "$driver" ]; then
  item n/a idle-wakeup "$idle_dir not available"
elif [ "$driver" = none ]; then
  item TUNE idle-wakeup "no cpuidle driver (a VM guest): waking a thread on an idle vCPU waits for the hypervisor; keep [engine] poll_mode = \"spin\" with the engine core isolated (advice)"
else
  governor="$(cat "$idle_dir/current_governor" 2>/dev/null || echo unknown)"
  item ok idle-wakeup "cpuidle driver $driver, governor $governor; [engine] poll_mode = \"spin\" keeps the engine core out of idle states"
fi

if [ "$apply" = 0 ]; then
  say "report only: $fixes runtime change(s) suggested; scripts/tune-host.sh --apply makes them (root)."
fi
