#!/usr/bin/env bash
# Runs the whole adsync system on this machine, end to end: PostgreSQL and RabbitMQ (through
# scripts/services.sh), a debug build of every binary, then the Meta sandbox, the api, the
# scheduler and the worker as local processes, and the demo driver (testkit/src/bin/demo.rs),
# which creates a demo tenant with several Meta accounts, syncs them into the warehouse and
# compares the result with the sandbox. Then it stays in the foreground until Ctrl-C.
#
# Usage: scripts/demo.sh [--exit] | stop | help
# Run `scripts/demo.sh help` for the details (ports, files, environment).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/demo.sh [--exit]
       scripts/demo.sh stop | help

  (no argument)  Start PostgreSQL and RabbitMQ (scripts/services.sh up), build the workspace,
                 start sandbox, api, scheduler and worker, run the demo driver, print where to
                 look, then stay in the foreground: Ctrl-C or SIGTERM stops the four processes.
  --exit         The same, but stop the four processes and exit right after printing; the exit
                 status is the driver's (0: every job succeeded and matches the sandbox).
                 ADSYNC_DEMO_EXIT=1 does the same.
  stop           Stop a demo left running in the background (found by the pid files in .run/).

A demo still running from an earlier invocation is stopped first. PostgreSQL and RabbitMQ keep
running afterwards; `scripts/services.sh down` stops them.

Environment (defaults in brackets):
  ADSYNC_DEMO_API_PORT        api                                               [8080]
  ADSYNC_DEMO_WORKER_PORT     worker health and metrics                         [9091]
  ADSYNC_DEMO_SCHEDULER_PORT  scheduler health and metrics                      [9092]
  ADSYNC_DEMO_SANDBOX_PORT    the Meta sandbox                                  [9100]
  ADSYNC_DEMO_START_TIMEOUT   seconds each process gets to become healthy       [60]
  ADSYNC_DEMO_STOP_TIMEOUT    seconds each process gets to stop before SIGKILL  [15]
  ADSYNC_DEMO_JOB_TIMEOUT     seconds the driver waits for the sync jobs        [120]
  and those of scripts/services.sh (ADSYNC_PG_PORT, ADSYNC_AMQP_PORT, ...).

Files, under .run/ (git-ignored):
  secrets.env       generated on the first run (mode 600): the encryption key and the operator
                    key. Keep it: access tokens stored earlier only decrypt with its key.
  demo-tenant.env   the demo tenant's id and API key (mode 600), rewritten by every run
  logs/<name>.log   output of sandbox, api, scheduler, worker and migrate (truncated each run)
  <name>.pid        pid of each running process, and demo.pid of this script
EOF
}

# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------

REPO_ROOT=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO_ROOT"

RUN_DIR=$REPO_ROOT/.run
LOG_DIR=$RUN_DIR/logs
SECRETS_FILE=$RUN_DIR/secrets.env
TENANT_FILE=$RUN_DIR/demo-tenant.env
DEMO_PID_FILE=$RUN_DIR/demo.pid
# cargo's output directory (CARGO_TARGET_DIR, if set, is relative to the repository root here).
TARGET_DIR=${CARGO_TARGET_DIR:-$REPO_ROOT/target}
[[ $TARGET_DIR == /* ]] || TARGET_DIR=$REPO_ROOT/$TARGET_DIR
BIN_DIR=$TARGET_DIR/debug

API_PORT=${ADSYNC_DEMO_API_PORT:-8080}
WORKER_PORT=${ADSYNC_DEMO_WORKER_PORT:-9091}
SCHEDULER_PORT=${ADSYNC_DEMO_SCHEDULER_PORT:-9092}
SANDBOX_PORT=${ADSYNC_DEMO_SANDBOX_PORT:-9100}
START_TIMEOUT=${ADSYNC_DEMO_START_TIMEOUT:-60}
STOP_TIMEOUT=${ADSYNC_DEMO_STOP_TIMEOUT:-15}
JOB_TIMEOUT=${ADSYNC_DEMO_JOB_TIMEOUT:-120}

# Start order. They stop in two rounds: first those that run jobs, then those they call.
PROCESSES=(sandbox api scheduler worker)

# name=pid of every process this invocation started; the EXIT trap stops them.
STARTED=()
# 1 once the demo is up and this script only waits for Ctrl-C.
IN_FOREGROUND=0
DRIVER_STATUS=0

# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

log() { printf 'demo: %s\n' "$*" >&2; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

# Milliseconds since the epoch (EPOCHREALTIME may use a locale's decimal comma).
now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((t / 1000)); }
elapsed() { local ms=$(($(now_ms) - $1)); printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100)); }

is_port_number() { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= 1024 && $1 <= 65535)); }
is_seconds() { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= 1)); }

read_pid_file() {
  local pid=""
  [[ -f $1 ]] || return 1
  read -r pid <"$1" || true
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  echo "$pid"
}

# True if the process exists and is not a zombie (where PID 1 does not reap orphans, a stopped
# process can linger as <defunct>, and `kill -0` would still succeed on it).
proc_alive() {
  local stat
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != [ZX] ]]
}

# True if process $1 runs our binary $2 (also when a rebuild has replaced the file since).
is_our_binary() {
  local exe
  proc_alive "$1" || return 1
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [[ ${exe% (deleted)} == "$BIN_DIR/$2" ]]
}

# True if process $1 is another scripts/demo.sh of this repository.
is_demo_script() {
  local cmdline cwd
  [[ $1 != "$$" ]] && proc_alive "$1" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *demo.sh* ]] || return 1
  cwd=$(readlink "/proc/$1/cwd" 2>/dev/null) || return 1
  [[ $cwd == "$REPO_ROOT" ]]
}

wait_gone() {
  local pid=$1 deadline=$(($(now_ms) + $2 * 1000))
  while proc_alive "$pid"; do
    (($(now_ms) < deadline)) || return 1
    sleep 0.1
  done
}

port_of() {
  case $1 in
    sandbox) echo "$SANDBOX_PORT" ;;
    api) echo "$API_PORT" ;;
    scheduler) echo "$SCHEDULER_PORT" ;;
    worker) echo "$WORKER_PORT" ;;
  esac
}

port_variable_of() {
  case $1 in
    sandbox) echo ADSYNC_DEMO_SANDBOX_PORT ;;
    api) echo ADSYNC_DEMO_API_PORT ;;
    scheduler) echo ADSYNC_DEMO_SCHEDULER_PORT ;;
    worker) echo ADSYNC_DEMO_WORKER_PORT ;;
  esac
}

health_path_of() {
  case $1 in
    sandbox) echo /_sandbox/health ;;
    *) echo /healthz ;;
  esac
}

# Prints the HTTP status of GET http://127.0.0.1:$1$2, or nothing if nobody answers. Plain bash,
# so a fresh machine needs no curl.
http_status() {
  # shellcheck disable=SC2016 # $1 and $2 are expanded by the inner bash
  timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n" "$2" "$1" >&3
    read -r _ code _ <&3 && printf "%s" "$code"' _ "$1" "$2" 2>/dev/null || true
}

# shellcheck disable=SC2016 # $1 is expanded by the inner bash
tcp_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }

# Describes who listens on TCP port $1 ("" if nobody): ss when present, else a connect probe.
port_user() {
  local line
  if command -v ss >/dev/null 2>&1; then
    line=$(ss -Hltnp "sport = :$1" 2>/dev/null | head -n 1) || true
    if [[ -n $line ]]; then
      if [[ $line =~ \(\(\"([^\"]*)\",pid=([0-9]+) ]]; then
        echo "${BASH_REMATCH[1]} (pid ${BASH_REMATCH[2]})"
      else
        echo "another process"
      fi
    fi
  elif tcp_open "$1"; then
    echo "another process"
  fi
}

check_settings() {
  local name port
  local -A seen=()
  for name in "${PROCESSES[@]}"; do
    port=$(port_of "$name")
    is_port_number "$port" || die "$(port_variable_of "$name")=$port is not a port number in 1024..65535"
    [[ -z ${seen[$port]:-} ]] || die "port $port is set for both ${seen[$port]} and $name; change $(port_variable_of "$name")"
    seen[$port]=$name
  done
  for name in START_TIMEOUT STOP_TIMEOUT JOB_TIMEOUT; do
    is_seconds "${!name}" || die "ADSYNC_DEMO_$name=${!name} is not a whole number of seconds"
  done
}

# --------------------------------------------------------------------------------------------
# Stopping
# --------------------------------------------------------------------------------------------

# Stops the processes given as name=pid: SIGTERM to all, wait up to STOP_TIMEOUT, then SIGKILL.
stop_processes() {
  local entry deadline left=()
  (($# > 0)) || return 0
  for entry in "$@"; do kill -TERM "${entry#*=}" 2>/dev/null || true; done
  deadline=$(($(now_ms) + STOP_TIMEOUT * 1000))
  while :; do
    left=()
    for entry in "$@"; do
      if proc_alive "${entry#*=}"; then left+=("$entry"); fi
    done
    ((${#left[@]} > 0 && $(now_ms) < deadline)) || break
    sleep 0.1
  done
  for entry in "${left[@]}"; do
    log "${entry%%=*} (pid ${entry#*=}) did not stop within ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "${entry#*=}" 2>/dev/null || true
    wait_gone "${entry#*=}" 5 || log "${entry%%=*} (pid ${entry#*=}) survived SIGKILL"
  done
  # Reap those that are our children (a no-op for the others).
  for entry in "$@"; do wait "${entry#*=}" 2>/dev/null || true; done
}

# Stops name=pid entries in two rounds (worker and scheduler, then api and sandbox) and removes
# their pid files.
stop_in_order() {
  local entry first=() second=() names=()
  for entry in "$@"; do
    case ${entry%%=*} in
      worker | scheduler) first+=("$entry") ;;
      *) second+=("$entry") ;;
    esac
    names+=("${entry%%=*}")
  done
  (($# > 0)) || return 0
  log "stopping ${names[*]}"
  stop_processes "${first[@]}"
  stop_processes "${second[@]}"
  for entry in "$@"; do rm -f -- "$RUN_DIR/${entry%%=*}.pid"; done
}

# Stops whatever an earlier invocation left running: its script (which stops its processes),
# then any process of ours a pid file still names. Returns 1 if there was nothing to stop.
stop_previous() {
  local pid name entries=() found=1
  if pid=$(read_pid_file "$DEMO_PID_FILE") && is_demo_script "$pid"; then
    found=0
    log "stopping the demo still running (scripts/demo.sh, pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    wait_gone "$pid" $((2 * STOP_TIMEOUT + 10)) || log "scripts/demo.sh (pid $pid) did not exit; stopping its processes directly"
  fi
  if pid=$(read_pid_file "$DEMO_PID_FILE") && [[ $pid == "$$" ]]; then :; else rm -f -- "$DEMO_PID_FILE"; fi
  for name in "${PROCESSES[@]}"; do
    if pid=$(read_pid_file "$RUN_DIR/$name.pid") && is_our_binary "$pid" "$name"; then
      entries+=("$name=$pid")
    else
      rm -f -- "$RUN_DIR/$name.pid"
    fi
  done
  ((${#entries[@]} == 0)) || found=0
  stop_in_order "${entries[@]}"
  return "$found"
}

# The EXIT trap: stops what this invocation started.
cleanup() {
  local status=$?
  trap '' INT TERM
  stop_in_order "${STARTED[@]}"
  STARTED=()
  local pid
  if pid=$(read_pid_file "$DEMO_PID_FILE") && [[ $pid == "$$" ]]; then rm -f -- "$DEMO_PID_FILE"; fi
  exit "$status"
}

# Ctrl-C or SIGTERM: once the demo is up that is the normal way to end it, so the status is the
# driver's; before, it is the conventional 128 + signal number.
on_signal() {
  echo >&2
  if ((IN_FOREGROUND)); then exit "$DRIVER_STATUS"; fi
  exit "$1"
}

# --------------------------------------------------------------------------------------------
# Starting
# --------------------------------------------------------------------------------------------

ensure_secrets() {
  local key operator
  if [[ ! -f $SECRETS_FILE ]]; then
    key=$(head -c 32 /dev/urandom | base64 -w 0)
    operator=$(head -c 24 /dev/urandom | base64 -w 0 | tr '+/' '-_' | tr -d '=')
    (
      umask 077
      cat >"$SECRETS_FILE.tmp" <<EOF
# Generated by scripts/demo.sh. Keep this file: access tokens stored in the database only decrypt
# with this key. Loaded into the environment of the demo's processes.
ADSYNC__CRYPTO__KEYS__PRIMARY='$key'
ADSYNC__API__OPERATOR_KEY='$operator'
EOF
    )
    mv -f -- "$SECRETS_FILE.tmp" "$SECRETS_FILE"
    log "generated $SECRETS_FILE (encryption key and operator key; keep it)"
  fi
  chmod 600 "$SECRETS_FILE"
  set -a
  # shellcheck source=/dev/null
  source "$SECRETS_FILE"
  set +a
  [[ -n ${ADSYNC__CRYPTO__KEYS__PRIMARY:-} && -n ${ADSYNC__API__OPERATOR_KEY:-} ]] ||
    die "$SECRETS_FILE must set ADSYNC__CRYPTO__KEYS__PRIMARY and ADSYNC__API__OPERATOR_KEY; fix it, or delete it to generate new keys (tokens stored with the old key then no longer decrypt)"
}

require_free_ports() {
  local name port user
  for name in "${PROCESSES[@]}"; do
    port=$(port_of "$name")
    user=$(port_user "$port")
    [[ -z $user ]] || die "port $port ($name) is already in use by $user. Stop it, or choose another port with $(port_variable_of "$name")=<port>."
  done
}

start_process() {
  local name=$1
  shift
  [[ -x $BIN_DIR/$name ]] || die "$BIN_DIR/$name is missing after the build"
  "$BIN_DIR/$name" "$@" </dev/null >"$LOG_DIR/$name.log" 2>&1 &
  STARTED+=("$name=$!")
  echo "$!" >"$RUN_DIR/$name.pid"
}

# Prints the end of a process's log and exits (the EXIT trap stops everything).
fail_start() {
  log "$1 $2; last lines of $LOG_DIR/$1.log:"
  tail -n 30 -- "$LOG_DIR/$1.log" >&2 || true
  exit 1
}

# Waits until GET $3 on the process's port answers 200, the process dies, or the deadline.
wait_ready() {
  local name=$1 pid=$2 path=$3 port deadline
  port=$(port_of "$name")
  deadline=$(($(now_ms) + START_TIMEOUT * 1000))
  until [[ $(http_status "$port" "$path") == 200 ]]; do
    proc_alive "$pid" || fail_start "$name" "exited during startup"
    (($(now_ms) < deadline)) || fail_start "$name" "did not answer GET http://127.0.0.1:$port$path with 200 within ${START_TIMEOUT}s"
    sleep 0.1
  done
}

start_all() {
  local start entry
  start=$(now_ms)
  "$BIN_DIR/api" migrate >"$LOG_DIR/migrate.log" 2>&1 || fail_start migrate "failed"
  start_process sandbox --listen "127.0.0.1:$SANDBOX_PORT"
  start_process api
  start_process scheduler
  start_process worker
  for entry in "${STARTED[@]}"; do
    wait_ready "${entry%%=*}" "${entry#*=}" "$(health_path_of "${entry%%=*}")"
  done
  wait_ready api "$(read_pid_file "$RUN_DIR/api.pid")" /readyz
  log "migrated and started ${PROCESSES[*]} in $(elapsed "$start") (logs in ${LOG_DIR#"$REPO_ROOT"/}/)"
}

# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------

# Reads the tenant id and key the driver wrote (NAME='value' lines).
read_tenant_file() {
  local name value
  TENANT_ID="" TENANT_KEY=""
  [[ -f $TENANT_FILE ]] || return 0
  while IFS='=' read -r name value; do
    value=${value#\'}
    value=${value%\'}
    case $name in
      ADSYNC_DEMO_TENANT_ID) TENANT_ID=$value ;;
      ADSYNC_DEMO_API_KEY) TENANT_KEY=$value ;;
    esac
  done <"$TENANT_FILE"
}

print_where_to_look() {
  local api=http://127.0.0.1:$API_PORT where sql
  read_tenant_file
  where="the tenant's rows"
  sql="select account_id, currency, time_zone, count(*) as rows, sum(spend) as spend, max(synced_at) as synced_at from warehouse.meta_ads_campaign"
  if [[ -n $TENANT_ID ]]; then
    sql+=" where tenant_id = '$TENANT_ID'"
  else
    where="all rows"
  fi
  sql+=" group by 1, 2, 3 order by 1"
  echo
  if ((EXIT_AFTER)); then
    echo "The demo ran (--exit: sandbox, api, scheduler and worker stop now; run without --exit to keep them)."
  else
    echo "adsync is running: sandbox, api, scheduler and worker (pids in ${RUN_DIR#"$REPO_ROOT"/}/)."
  fi
  echo
  printf '  %-10s %s\n' "API" "$api"
  if [[ -n $TENANT_KEY ]]; then
    printf '  %-10s %s\n' "" "tenant 'Demo Agency', API key in ${TENANT_FILE#"$REPO_ROOT"/}; for example:"
    printf '  %-10s %s\n' "" "curl -s -H 'Authorization: Bearer $TENANT_KEY' '$api/v1/jobs?limit=4'"
  fi
  printf '  %-10s %s\n' "" "operator key: ADSYNC__API__OPERATOR_KEY in ${SECRETS_FILE#"$REPO_ROOT"/}"
  printf '  %-10s %s\n' "RabbitMQ" "${ADSYNC_AMQP_MANAGEMENT_URL:-?}  (user guest, password guest)"
  printf '  %-10s %s\n' "Warehouse" "$where:"
  printf '  %-10s %s\n' "" "psql '$ADSYNC__DATABASE__URL' -c \"$sql\""
  printf '  %-10s %s\n' "Sandbox" "http://127.0.0.1:$SANDBOX_PORT/_sandbox/meta_ads/accounts/1100 (an account's facts)"
  printf '  %-10s %s\n' "Metrics" "$api/metrics, http://127.0.0.1:$WORKER_PORT/metrics (worker), http://127.0.0.1:$SCHEDULER_PORT/metrics (scheduler)"
  printf '  %-10s %s\n' "Logs" "${LOG_DIR#"$REPO_ROOT"/}/{sandbox,api,scheduler,worker,migrate}.log"
  if ((EXIT_AFTER)); then
    printf '  %-10s %s\n' "Stop" "scripts/services.sh down stops PostgreSQL and RabbitMQ."
  else
    printf '  %-10s %s\n' "Stop" "Ctrl-C here (or scripts/demo.sh stop from elsewhere); then"
    printf '  %-10s %s\n' "" "scripts/services.sh down stops PostgreSQL and RabbitMQ."
  fi
  echo
}

# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------

# Stays in the foreground until a signal; exits if one of the processes dies on its own.
supervise() {
  local entry status
  IN_FOREGROUND=1
  log "running; press Ctrl-C to stop"
  while :; do
    for entry in "${STARTED[@]}"; do
      proc_alive "${entry#*=}" && continue
      status=0
      wait "${entry#*=}" 2>/dev/null || status=$?
      fail_start "${entry%%=*}" "exited on its own (status $status)"
    done
    sleep 1
  done
}

cmd_run() {
  local start
  start=$(now_ms)
  check_settings
  command -v cargo >/dev/null 2>&1 || die "cargo is not installed: install Rust (https://rustup.rs), version 1.92 or newer"
  mkdir -p "$LOG_DIR"
  chmod 700 "$RUN_DIR"

  trap cleanup EXIT
  trap 'on_signal 130' INT
  trap 'on_signal 143' TERM
  stop_previous || true
  echo "$$" >"$DEMO_PID_FILE"
  require_free_ports # now, rather than after a long build; checked again before starting

  scripts/services.sh up >&2
  eval "$(scripts/services.sh env)"

  log "building the workspace (cargo build --workspace --bins)"
  cargo build --workspace --bins

  ensure_secrets
  export ADSYNC__API__LISTEN=127.0.0.1:$API_PORT
  export ADSYNC__WORKER__LISTEN=127.0.0.1:$WORKER_PORT
  export ADSYNC__SCHEDULER__LISTEN=127.0.0.1:$SCHEDULER_PORT
  export ADSYNC__CONNECTORS__META_ADS__BASE_URL=http://127.0.0.1:$SANDBOX_PORT/meta_ads
  export NO_COLOR=1 # plain text in the log files
  # Errors print their message, not a backtrace that pushes it out of the log's tail (panics
  # still print theirs if RUST_BACKTRACE asks for it).
  export RUST_LIB_BACKTRACE=${RUST_LIB_BACKTRACE:-0}

  require_free_ports
  start_all

  rm -f -- "$TENANT_FILE"
  echo
  "$BIN_DIR/demo" --api-url "http://127.0.0.1:$API_PORT" --sandbox-url "http://127.0.0.1:$SANDBOX_PORT" \
    --tenant-file "$TENANT_FILE" --timeout "$JOB_TIMEOUT" || DRIVER_STATUS=$?
  ((DRIVER_STATUS == 0)) || log "the demo driver reported a problem (exit status $DRIVER_STATUS; details above)"

  print_where_to_look
  log "whole demo took $(elapsed "$start")"
  if ((EXIT_AFTER)); then
    exit "$DRIVER_STATUS"
  fi
  supervise
}

cmd_stop() {
  mkdir -p "$RUN_DIR"
  if stop_previous; then
    log "stopped (scripts/services.sh down stops PostgreSQL and RabbitMQ)"
  else
    log "no demo is running (scripts/services.sh down stops PostgreSQL and RabbitMQ)"
  fi
}

main() {
  EXIT_AFTER=0
  case ${ADSYNC_DEMO_EXIT:-} in
    1 | true | yes) EXIT_AFTER=1 ;;
  esac
  case ${1:-} in
    "") ;;
    --exit) EXIT_AFTER=1 ;;
    stop) (($# == 1)) || die "stop takes no arguments"; cmd_stop; return ;;
    help | -h | --help) usage; return ;;
    *) printf 'demo: unknown argument: %s\n\n' "$1" >&2; usage >&2; exit 2 ;;
  esac
  (($# <= 1)) || die "too many arguments: $*"
  cmd_run
}

main "$@"
