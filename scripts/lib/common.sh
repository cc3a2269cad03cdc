#!/usr/bin/env bash
# Shared helpers for the operator scripts (install, kill, reset, status, ...). Sourced, never
# run. Paths are the installed layout (see systemd/README.md); every one can be overridden
# through the environment so the scripts also work against a staging root or a test host.
# shellcheck disable=SC2034  # the variables below are used by the scripts that source this

OBI_ETC="${OBI_ETC:-/etc/obi}"
OBI_ENGINE_CONFIG="${OBI_ENGINE_CONFIG:-$OBI_ETC/engine.toml}"
OBI_AGENT_CONFIG="${OBI_AGENT_CONFIG:-$OBI_ETC/agent.toml}"
OBI_AGENT_ENV="${OBI_AGENT_ENV:-$OBI_ETC/agent.env}"
OBI_STATE_DIR="${OBI_STATE_DIR:-/var/lib/obi/state}"
OBI_AGENT_URL="${OBI_AGENT_URL:-http://127.0.0.1:9464}"
OBI_USER="${OBI_USER:-obi}"

# The repository root (scripts/lib/.. /..).
OBI_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

say() { printf '%s\n' "$*"; }
# PREFIX then a command, each word shell-quoted so the line can be copied and run.
show() {
  local prefix="$1"
  shift
  printf '%s' "$prefix"
  printf ' %q' "$@"
  printf '\n'
}
warn() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() {
  warn "$*"
  exit 1
}

# An obi binary: the installed one, else one on PATH, else the repo's release build.
obi_bin() {
  local name="$1" candidate
  for candidate in "${OBI_BIN_DIR:-/usr/local/bin}/$name" \
    "$(command -v "$name" 2>/dev/null || true)" \
    "${CARGO_TARGET_DIR:-$OBI_REPO/target}/release/$name"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  die "$name not found (install it with scripts/install.sh, or set OBI_BIN_DIR)"
}

# Reads KEY from a systemd EnvironmentFile (KEY=value, optional quotes); empty if absent or
# unreadable. Never sources the file.
env_file_value() {
  local file="$1" key="$2" line value=""
  [ -r "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      "$key="*)
        value="${line#"$key="}"
        value="${value%\"}"
        value="${value#\"}"
        value="${value%\'}"
        value="${value#\'}"
        ;;
    esac
  done <"$file"
  printf '%s' "$value"
}

# The agent's bearer token: $OBI_AGENT_TOKEN, else the file in $OBI_AGENT_TOKEN_FILE, else
# OBI_AGENT_TOKEN in the agent's EnvironmentFile (readable by root only). Empty when none.
agent_token() {
  if [ -n "${OBI_AGENT_TOKEN:-}" ]; then
    printf '%s' "$OBI_AGENT_TOKEN"
  elif [ -n "${OBI_AGENT_TOKEN_FILE:-}" ] && [ -r "$OBI_AGENT_TOKEN_FILE" ]; then
    tr -d '\n' <"$OBI_AGENT_TOKEN_FILE"
  else
    env_file_value "$OBI_AGENT_ENV" OBI_AGENT_TOKEN
  fi
}

# POST to the agent with the bearer token (and TOTP code when given). Prints the HTTP status
# and body; returns 0 on 2xx. Arguments: path, JSON body, token, TOTP code (may be empty).
# The token goes to curl through a header file on stdin, never on the command line.
agent_post() {
  local path="$1" body="$2" token="$3" totp="$4" out status
  local -a headers=(-H 'Content-Type: application/json')
  [ -n "$totp" ] && headers+=(-H "X-2FA-Token: $totp")
  out=$(printf 'Authorization: Bearer %s\n' "$token" |
    curl -sS --max-time 5 -X POST -H @- "${headers[@]}" -d "$body" \
      -w '\n%{http_code}' "$OBI_AGENT_URL$path" 2>&1) || {
    say "agent: no answer at $OBI_AGENT_URL ($out)"
    return 1
  }
  status="${out##*$'\n'}"
  say "agent: HTTP $status ${out%$'\n'*}"
  case "$status" in
    2??) return 0 ;;
    *) return 1 ;;
  esac
}

# A JSON string literal for TEXT (quotes, backslashes and control characters escaped).
json_string() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  s="${s//$'\n'/\\n}"
  s="${s//$'\r'/\\r}"
  s="${s//$'\t'/\\t}"
  printf '"%s"' "$s"
}

# Exports every KEY=value line of a systemd EnvironmentFile into this shell's environment
# (quotes stripped; comments, blank and malformed lines skipped; nothing evaluated), so a
# command run from here sees what the service sees, without secrets on any command line.
export_env_file() {
  local file="$1" line key value
  [ -r "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in '' | '#'* | ';'*) continue ;; esac
    key="${line%%=*}"
    [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    [ "$key" != "$line" ] || continue
    value="${line#*=}"
    value="${value%\"}"
    value="${value#\"}"
    value="${value%\'}"
    value="${value#\'}"
    export "$key=$value"
  done <"$file"
}

# Runs a command as the obi user when called as root (files it writes stay obi's, and it
# sees what the services see), else as the caller. The environment is kept.
as_obi() {
  if [ "$(id -u)" = 0 ] && id -u "$OBI_USER" >/dev/null 2>&1; then
    runuser -u "$OBI_USER" -m -- "$@"
  else
    "$@"
  fi
}

# True when systemd manages this host (units can be queried).
have_systemd() {
  command -v systemctl >/dev/null && [ -d /run/systemd/system ]
}
