#!/usr/bin/env bash
# Starts and stops the project-local PostgreSQL and RabbitMQ that development, `cargo test`
# and the benchmarks run against: one instance of each, on 127.0.0.1 only, with all state under
# .services/ at the repository root. Works without systemd or Docker, as root or as a normal user.
# Tests that stop and restart a server get a private instance of their own: another state
# directory (ADSYNC_SERVICES_DIR) and other ports, managed one service at a time.
#
# With --cluster the same commands act on a cluster instead: three RabbitMQ nodes joined into one
# cluster and a PostgreSQL primary with one streaming standby (see `help`).
#
# Usage: scripts/services.sh up [SERVICE] | down [SERVICE] [--purge] [--kill] | purge [SERVICE]
#                            | status [SERVICE] | env | help          (SERVICE: postgres | rabbitmq)
#        scripts/services.sh <command> --cluster [MEMBER] | promote --cluster
# Run `scripts/services.sh help` for the details (ports, files, environment).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/services.sh <command> [postgres|rabbitmq]

  up              Install the Debian packages if missing, start PostgreSQL and RabbitMQ
                  (management plugin on) on 127.0.0.1, wait until both answer, print the URLs.
                  Idempotent: whatever already runs is left alone.
  down [--purge] [--kill]
                  Stop exactly the processes `up` started (by pid file). Data is kept;
                  --purge also deletes .services/ (the state directory).
                  --kill: crash stop instead of a clean one (SIGKILL for RabbitMQ, an
                  immediate shutdown for PostgreSQL): instant, and what a fault test wants.
                  Data already confirmed/committed survives; the next start recovers.
  purge           Same as `down --purge`.
  status          Show each service's pid and ports; exit 1 if either is not running.
  env             Print `export` lines for: eval "$(scripts/services.sh env)"
                  (starts nothing).

  up, down, purge and status act on both services, or only on the one named after the
  command (`up rabbitmq`, `down postgres --purge`, ...). With --purge and one service named,
  only that service's directory is deleted (the state directory too once it holds no other).

A private instance for a test (its own data, pid files, epmd and node name; it never touches
the default one):
  ADSYNC_SERVICES_DIR=/tmp/x ADSYNC_AMQP_PORT=41000 ADSYNC_AMQP_MGMT_PORT=41001 \
    scripts/services.sh up rabbitmq          # ... down rabbitmq, up rabbitmq, down rabbitmq --purge
Start it again with the same ports: the RabbitMQ node is named after its AMQP port, and its
data lives under that name.

Environment (defaults in brackets):
  ADSYNC_SERVICES_DIR     the state directory: data, logs, pid files, lock  [<repo>/.services]
                          --purge deletes a directory other than the default one only if it holds
                          nothing but what this script puts there
  ADSYNC_PG_PORT          PostgreSQL port                      [55432]
  ADSYNC_AMQP_PORT        RabbitMQ AMQP port                   [35672]
  ADSYNC_AMQP_MGMT_PORT   RabbitMQ management HTTP port        [35673]
  ADSYNC_AMQP_DIST_PORT   Erlang distribution port of the node [AMQP port + 20000, or - 20000 if that is > 65535]
  ADSYNC_EPMD_PORT        the node's own epmd; rabbitmqctl uses the 10 ports above it
                          [AMQP port + 1000, or AMQP port - 1011 if that does not fit]
  ADSYNC_SERVICES_TIMEOUT       seconds to wait for each server to come up  [120]
  ADSYNC_SERVICES_STOP_TIMEOUT  seconds to wait for each server to stop     [60]

Files (under the state directory, .services/ by default):
       postgres/{data/,server.log,.s.PGSQL.<port>} and
       rabbitmq/{mnesia/,log/,rabbit.pid,epmd.pid,launcher.pid,stdout.log,...}, .lock, apt.log

Cluster mode: add --cluster to up, down, purge, status or env (it runs beside the single
instances, on its own ports, under <state directory>/cluster/):
  up --cluster    three RabbitMQ nodes rabbitmq-1..3 (one epmd, one Erlang cookie; nodes 2 and 3
                  join node 1's cluster with rabbitmqctl join_cluster the first time) and
                  PostgreSQL postgres-1 (primary) with postgres-2 streaming from it
                  (pg_basebackup -R; synchronous replication, so a commit is on both). Restarts
                  any member that is down; a former primary comes back as a fresh standby.
  down --cluster [MEMBER] [--kill] [--purge]
                  MEMBER: rabbitmq, postgres, rabbitmq-1..3, postgres-1..2, postgres-primary,
                  postgres-standby. `down --cluster rabbitmq-2 --kill` is SIGKILL of that node.
  promote --cluster
                  Promotes the standby (pg_ctl promote) once the primary is down; it stays the
                  primary, and the other member rejoins as its standby at the next up --cluster.
  env --cluster   ADSYNC__DATABASE__URL with both hosts and target_session_attrs=read-write,
                  ADSYNC__RABBITMQ__URL listing the three nodes, ADSYNC__RABBITMQ__QUEUE_TYPE=quorum.
  ADSYNC_CLUSTER_AMQP_PORT  node n: AMQP base+3(n-1), management +1, distribution +2; epmd
                            base+9; rabbitmqctl base+10..base+19                 [36700]
  ADSYNC_CLUSTER_PG_PORT    postgres-1 on it, postgres-2 on the port above      [55442]
  Files: cluster/{rabbitmq-<n>/,postgres-<m>/,erlang.cookie,epmd.pid,postgres-primary}
EOF
}

# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------

REPO_ROOT=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
DEFAULT_SERVICES_DIR=$REPO_ROOT/.services
# realpath -m: absolute and free of symlinks (pid checks compare it with /proc/<pid>/cwd), even
# before the directory exists. main() rejects an unusable value.
SERVICES_DIR=$DEFAULT_SERVICES_DIR
if [[ -n ${ADSYNC_SERVICES_DIR:-} ]]; then
  SERVICES_DIR=$(realpath -m -- "$ADSYNC_SERVICES_DIR")
fi
# How messages name the directory: as before for the default one.
if [[ $SERVICES_DIR == "$DEFAULT_SERVICES_DIR" ]]; then SERVICES_LABEL=.services; else SERVICES_LABEL=$SERVICES_DIR; fi

# The services a command acts on (main() narrows this to the one named on the command line).
WANT_PG=1
WANT_RMQ=1
KILL=0     # down --kill
PG_LABEL=postgres    # how messages name the server (a cluster member's name in cluster mode)
RMQ_LABEL=rabbitmq
RMQ_KEEP_EPMD=0      # a cluster node's down leaves the shared epmd running
PG_SKIP_DATABASE=0   # pg_up does not create the database (a standby cannot)

PG_DIR=$SERVICES_DIR/postgres          # owned by the server's user; also the unix socket directory
PG_DATA=$PG_DIR/data
PG_LOG=$PG_DIR/server.log
PG_CONF_NAME=adsync-services.conf      # included from postgresql.conf, rewritten on every start
PG_DATABASE=adsync

SINGLE_PG_DIR=$PG_DIR
RMQ_DIR=$SERVICES_DIR/rabbitmq         # also the node's HOME, so its .erlang.cookie lives here
SINGLE_RMQ_DIR=$RMQ_DIR
RMQ_BIN=/usr/lib/rabbitmq/bin
RMQ_PID_FILE=$RMQ_DIR/rabbit.pid       # beam.smp, written by the node itself
RMQ_LAUNCHER_PID_FILE=$RMQ_DIR/launcher.pid   # the rabbitmq-server shell wrapper (parent of beam)
RMQ_EPMD_PID_FILE=$RMQ_DIR/epmd.pid
RMQ_INSTANCE_FILE=$RMQ_DIR/instance.env       # ports the running node was started with
RMQ_STDOUT_LOG=$RMQ_DIR/stdout.log

PG_PORT=${ADSYNC_PG_PORT:-55432}
AMQP_PORT=${ADSYNC_AMQP_PORT:-35672}
MGMT_PORT=${ADSYNC_AMQP_MGMT_PORT:-35673}
START_TIMEOUT=${ADSYNC_SERVICES_TIMEOUT:-120}
STOP_TIMEOUT=${ADSYNC_SERVICES_STOP_TIMEOUT:-60}

# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------

log() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

# Milliseconds since the epoch (EPOCHREALTIME may use a locale's decimal comma).
now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((t / 1000)); }
elapsed() { local ms=$(($(now_ms) - $1)); printf '%d.%02d s' $((ms / 1000)) $((ms % 1000 / 10)); }

is_port_number() { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= 1024 && $1 <= 65535)); }

# Prints the last lines of each log file that exists, to stderr.
show_logs() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    printf -- '----- last 40 lines of %s -----\n' "$f" >&2
    tail -n 40 -- "$f" >&2 || true
  done
}

read_pid_file() {
  local pid=""
  [[ -f $1 ]] || return 1
  read -r pid <"$1" || true
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  echo "$pid"
}

# True if the process exists and is not a zombie. (On this kind of sandbox PID 1 does not reap
# orphans, so a stopped daemon can linger as <defunct>; `kill -0` would still succeed on it.)
proc_alive() {
  local stat
  [[ $1 =~ ^[0-9]+$ ]] || return 1
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != [ZX] ]]
}

proc_comm() { { cat "/proc/$1/comm"; } 2>/dev/null || true; }

# Pids (zombies excluded) of every process in process group $1.
proc_group_members() {
  local d stat state pgrp
  for d in /proc/[0-9]*; do
    { read -r stat <"$d/stat"; } 2>/dev/null || continue
    read -r state _ pgrp _ <<<"${stat##*) }"
    [[ $pgrp == "$1" && $state != [ZX] ]] && echo "${d#/proc/}"
  done
  return 0
}

# True if the process's environment holds exactly NAME=VALUE (or cannot be read: then trust the
# other checks, which is only the case for a process of another user when we are not root).
# No `tr | grep -q` pipeline: with pipefail it fails whenever grep exits before tr has written
# everything, which happens once the environment is larger than tr's buffer (a node started
# from a test process, with cargo's variables, often is).
proc_has_env() {
  [[ -r /proc/$1/environ ]] || return 0
  grep -qzxF -- "$2" "/proc/$1/environ" 2>/dev/null
}

# Waits until the process is gone; returns 1 if it is still there at the deadline.
wait_gone() {
  local pid=$1 deadline=$(($(now_ms) + $2 * 1000))
  while proc_alive "$pid"; do
    (($(now_ms) < deadline)) || return 1
    sleep 0.1
  done
}

# SIGTERM, wait up to $2 seconds, then SIGKILL.
terminate() {
  local pid=$1 timeout=$2 what=$3
  proc_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$timeout"; then
    log "$what (pid $pid) did not exit within ${timeout}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "$what (pid $pid) survived SIGKILL"
  fi
}

# shellcheck disable=SC2016 # $1 is expanded by the inner bash
tcp_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null; }

# Describes who listens on a TCP port ("" if nobody). Uses ss when present, else a connect probe.
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

require_free_port() {
  local port=$1 what=$2 user
  user=$(port_user "$port")
  [[ -z $user ]] || die "port $port ($what) is already in use by $user, which was not started by this script. Stop it, or choose another port with $3=<port>."
}

# Runs a command as root: directly, or through sudo when we are not root.
as_root() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run: $* (not root, and sudo is not installed)"
  fi
}

# PostgreSQL refuses to run as root: as root run its tools as the postgres user, otherwise as us.
# `cd /` keeps initdb from complaining about a working directory postgres may not enter.
# fd 9 (our lock) is closed so that the server does not inherit and hold it.
as_pg() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@" 9>&-)
  else
    "$@" 9>&-
  fi
}

# --------------------------------------------------------------------------------------------
# Ports
# --------------------------------------------------------------------------------------------

# Checks the ports of the selected services and derives RabbitMQ's others. Only the selected
# services' ports must differ from each other: a private RabbitMQ need not care about
# ADSYNC_PG_PORT.
derive_ports() {
  local p name v names=()
  if ((WANT_PG)); then names+=(PG_PORT); fi
  if ((WANT_RMQ)); then names+=(AMQP_PORT MGMT_PORT); fi
  for name in "${names[@]}"; do
    is_port_number "${!name}" || die "$name=${!name} is not a port number in 1024..65535"
  done
  if ((!WANT_RMQ)); then
    DIST_PORT="" EPMD_PORT="" CTL_PORT_MIN="" CTL_PORT_MAX=""
    return 0
  fi
  if [[ -n ${ADSYNC_AMQP_DIST_PORT:-} ]]; then
    DIST_PORT=$ADSYNC_AMQP_DIST_PORT
  elif ((AMQP_PORT + 20000 <= 65535)); then
    DIST_PORT=$((AMQP_PORT + 20000))      # RabbitMQ's own convention (5672 -> 25672)
  else
    DIST_PORT=$((AMQP_PORT - 20000))
  fi
  if [[ -n ${ADSYNC_EPMD_PORT:-} ]]; then
    EPMD_PORT=$ADSYNC_EPMD_PORT
  elif ((AMQP_PORT + 1010 <= 65535)); then
    EPMD_PORT=$((AMQP_PORT + 1000))
  else
    EPMD_PORT=$((AMQP_PORT - 1011))
  fi
  # rabbitmqctl & co. start a short-lived Erlang node that listens on a port of this range.
  # Left alone, RabbitMQ 3.10 uses 35672..35682, which covers our default AMQP/management ports.
  CTL_PORT_MIN=$((EPMD_PORT + 1))
  CTL_PORT_MAX=$((EPMD_PORT + 10))
  for name in DIST_PORT EPMD_PORT CTL_PORT_MAX; do
    is_port_number "${!name}" || die "derived $name=${!name} is out of range; set ADSYNC_AMQP_DIST_PORT / ADSYNC_EPMD_PORT"
  done

  local -A seen=()
  for name in "${names[@]}" DIST_PORT EPMD_PORT; do
    v=${!name}
    [[ -z ${seen[$v]:-} ]] || die "port $v is used for both ${seen[$v]} and $name; override one of ADSYNC_PG_PORT, ADSYNC_AMQP_PORT, ADSYNC_AMQP_MGMT_PORT, ADSYNC_AMQP_DIST_PORT, ADSYNC_EPMD_PORT"
    seen[$v]=$name
  done
  for ((p = CTL_PORT_MIN; p <= CTL_PORT_MAX; p++)); do
    [[ -z ${seen[$p]:-} ]] || die "port $p (${seen[$p]}) falls in rabbitmqctl's range $CTL_PORT_MIN..$CTL_PORT_MAX (epmd port + 1..10); set ADSYNC_EPMD_PORT to another port"
  done
}

# --------------------------------------------------------------------------------------------
# Packages
# --------------------------------------------------------------------------------------------

pg_bindirs() { # every installed server, lowest version first
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x $d/postgres && -x $d/initdb && -x $d/pg_ctl ]] && echo "$d"
  done | sort -V
}

rmq_installed() { [[ -x $RMQ_BIN/rabbitmq-server && -x $RMQ_BIN/rabbitmqctl ]]; }

POLICY_RC_D=/usr/sbin/policy-rc.d
REMOVE_POLICY_RC_D=0
cleanup() {
  if ((REMOVE_POLICY_RC_D)); then
    as_root rm -f "$POLICY_RC_D" || true
    REMOVE_POLICY_RC_D=0
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

apt_candidate_missing() {
  local pkg cand
  for pkg in "$@"; do
    cand=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
    [[ -n $cand && $cand != "(none)" ]] || return 0
  done
  return 1
}

apt_install() {
  local apt_log=$SERVICES_DIR/apt.log start updated=0
  command -v apt-get >/dev/null 2>&1 || die "$* missing and apt-get is not available; install them by hand"
  start=$(now_ms)
  log "installing $* with apt-get (output in $apt_log)"
  # Without systemd, the packages' postinst would start the distribution's own PostgreSQL cluster
  # and RabbitMQ node (port 5432/5672, epmd on 0.0.0.0:4369). A policy-rc.d that answers 101
  # ("action forbidden") stops that; we only add one for the install if none exists.
  if [[ ! -e $POLICY_RC_D ]]; then
    # shellcheck disable=SC2016 # $1 is expanded by the inner sh
    as_root sh -c 'printf "#!/bin/sh\nexit 101\n" >"$1" && chmod 755 "$1"' sh "$POLICY_RC_D"
    REMOVE_POLICY_RC_D=1
  fi
  : >"$apt_log"
  if apt_candidate_missing "$@"; then
    as_root apt-get update >>"$apt_log" 2>&1 || { show_logs "$apt_log"; die "apt-get update failed"; }
    updated=1
  fi
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >>"$apt_log" 2>&1; then
    # Package lists may be stale (404 on download); refresh them once and retry.
    ((updated)) && { show_logs "$apt_log"; die "apt-get install $* failed"; }
    log "apt-get install failed; running apt-get update and retrying"
    as_root apt-get update >>"$apt_log" 2>&1 || { show_logs "$apt_log"; die "apt-get update failed"; }
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >>"$apt_log" 2>&1 ||
      { show_logs "$apt_log"; die "apt-get install $* failed"; }
  fi
  cleanup
  log "installed $* in $(elapsed "$start")"
}

ensure_packages() { # those of the selected services
  local missing=()
  if ((WANT_PG)) && [[ -z $(pg_bindirs) ]]; then missing+=(postgresql); fi
  if ((WANT_RMQ)) && ! rmq_installed; then missing+=(rabbitmq-server); fi
  ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
  if ((WANT_PG)); then
    [[ -n $(pg_bindirs) ]] || die "no PostgreSQL server found under /usr/lib/postgresql/<version>/bin after installing"
  fi
  if ((WANT_RMQ)); then
    rmq_installed || die "RabbitMQ not found in $RMQ_BIN after installing rabbitmq-server"
  fi
}

# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------

# The server binaries: the version that created the data dir, else the newest installed.
pg_bindir() {
  local version
  if [[ -f $PG_DATA/PG_VERSION ]]; then
    read -r version <"$PG_DATA/PG_VERSION"
    [[ -x /usr/lib/postgresql/$version/bin/pg_ctl ]] ||
      die "$PG_DATA was created by PostgreSQL $version, which is not installed (apt-get install postgresql-$version, or run 'purge' to start over)"
    echo "/usr/lib/postgresql/$version/bin"
  else
    pg_bindirs | tail -n 1
  fi
}

# Prints the postmaster's pid if the server of our data dir runs.
pg_pid() {
  local pid cwd
  pid=$(read_pid_file "$PG_DATA/postmaster.pid") || return 1
  proc_alive "$pid" || return 1
  [[ $(proc_comm "$pid") == postgres ]] || return 1
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || true   # the postmaster chdirs into its data dir
  [[ -z $cwd || $cwd == "$PG_DATA" ]] || return 1
  echo "$pid"
}

pg_running_port() { sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true; }

# Removes postmaster.pid and the socket lock files when their process is gone. PostgreSQL does
# this itself with kill(pid, 0), but that succeeds on a zombie, and where PID 1 does not reap
# orphans a killed postmaster stays a zombie; the next start would then refuse to run.
pg_clear_stale_pid_files() {
  local f pid
  pg_pid >/dev/null && return 0
  for f in "$PG_DATA/postmaster.pid" "$PG_DIR"/.s.PGSQL.*.lock; do
    [[ -f $f ]] || continue
    pid=$(read_pid_file "$f") || pid=""
    if [[ -z $pid ]] || ! proc_alive "$pid" || [[ $f == "$PG_DATA/postmaster.pid" ]]; then
      log "$PG_LABEL: removing stale $(basename -- "$f") (process ${pid:-?} is gone)"
      rm -f -- "$f"
    fi
  done
}

# Every directory above the data dir must be enterable by the server's user.
pg_make_reachable() {
  local d
  ((EUID == 0)) || return 0
  runuser -u postgres -- test -x "$PG_DIR" 2>/dev/null && return 0
  d=$PG_DIR
  while [[ $d != / ]]; do
    d=$(dirname -- "$d")
    if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
      log "note: chmod o+x $d so the postgres user can reach $PG_DIR"
      chmod o+x "$d"
    fi
  done
  runuser -u postgres -- test -x "$PG_DIR" || die "the postgres user cannot enter $PG_DIR"
}

pg_write_config() {
  local conf=$PG_DATA/$PG_CONF_NAME
  cat >"$conf" <<EOF
# Written by scripts/services.sh on every start; edits here are overwritten.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '${PG_DIR//\'/\'\'}'
max_connections = 400
# Benchmarks run against this server, so durability stays on.
fsync = on
synchronous_commit = on
full_page_writes = on
${PG_EXTRA_CONF:-}
EOF
  chmod 600 "$conf"
  ((EUID != 0)) || chown postgres:postgres "$conf"
  grep -qF "include_if_exists = '$PG_CONF_NAME'" "$PG_DATA/postgresql.conf" ||
    printf "\n# Added by scripts/services.sh\ninclude_if_exists = '%s'\n" "$PG_CONF_NAME" >>"$PG_DATA/postgresql.conf"
}

pg_init() {
  local bindir=$1 start
  start=$(now_ms)
  log "$PG_LABEL: initdb $PG_DATA"
  if ! as_pg "$bindir/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1; then
    show_logs "$PG_DIR/initdb.log"
    die "$PG_LABEL: initdb failed"
  fi
  log "$PG_LABEL: initdb done in $(elapsed "$start")"
}

pg_ensure_database() {
  local bindir=$1 found
  found=$("$bindir/psql" -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atqc \
    "select 1 from pg_database where datname = '$PG_DATABASE'") || die "$PG_LABEL: cannot connect to 127.0.0.1:$PG_PORT"
  if [[ $found != 1 ]]; then
    "$bindir/psql" -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc "create database $PG_DATABASE" >/dev/null ||
      die "$PG_LABEL: could not create database $PG_DATABASE"
    log "$PG_LABEL: created database $PG_DATABASE"
  fi
}

pg_up() {
  local bindir pid start socket
  bindir=$(pg_bindir)
  if pid=$(pg_pid); then
    log "$PG_LABEL: already running (pid $pid, 127.0.0.1:$PG_PORT)"
  else
    start=$(now_ms)
    pg_clear_stale_pid_files
    socket="$PG_DIR/.s.PGSQL.$PG_PORT"
    ((${#socket} <= 100)) || die "$PG_LABEL: unix socket path $socket is too long for the kernel (max ~107 bytes); move the repository to a shorter path"
    mkdir -p "$PG_DIR"
    chmod 755 "$PG_DIR"
    ((EUID != 0)) || chown postgres:postgres "$PG_DIR"
    pg_make_reachable
    [[ -f $PG_DATA/PG_VERSION ]] || pg_init "$bindir"
    pg_write_config
    log "$PG_LABEL: starting on 127.0.0.1:$PG_PORT ($("$bindir/postgres" --version))"
    if ! as_pg "$bindir/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$START_TIMEOUT" -s start; then
      show_logs "$PG_LOG"
      if pg_pid >/dev/null; then as_pg "$bindir/pg_ctl" -D "$PG_DATA" -m immediate -w -s stop || true; fi
      die "$PG_LABEL: failed to start or not ready within ${START_TIMEOUT}s (log: $PG_LOG)"
    fi
    "$bindir/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -t 10 ||
      { show_logs "$PG_LOG"; die "$PG_LABEL: started but does not accept TCP connections on 127.0.0.1:$PG_PORT"; }
    log "$PG_LABEL: ready in $(elapsed "$start") (pid $(pg_pid || echo '?'))"
  fi
  ((PG_SKIP_DATABASE)) || pg_ensure_database "$bindir"
}

pg_down() {
  local pid bindir
  if ! pid=$(pg_pid); then
    pg_clear_stale_pid_files
    log "$PG_LABEL: not running"
    return 0
  fi
  bindir=$(pg_bindir)
  if ((KILL)); then
    log "$PG_LABEL: stopping (pid $pid, immediate shutdown: like a crash, the next start recovers)"
    as_pg "$bindir/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 -s stop || true
  else
    log "$PG_LABEL: stopping (pid $pid)"
    if ! as_pg "$bindir/pg_ctl" -D "$PG_DATA" -m fast -w -t "$STOP_TIMEOUT" -s stop; then
      log "$PG_LABEL: fast shutdown did not finish in ${STOP_TIMEOUT}s; trying immediate"
      as_pg "$bindir/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 -s stop || true
    fi
  fi
  wait_gone "$pid" 10 || terminate "$pid" 5 postgres
  log "$PG_LABEL: stopped"
}

pg_status() {
  local pid
  if pid=$(pg_pid); then
    if tcp_open "$(pg_running_port)"; then
      echo "$PG_LABEL: running (pid $pid, 127.0.0.1:$(pg_running_port), socket dir $PG_DIR, data $PG_DATA)"
      return 0
    fi
    echo "$PG_LABEL: process $pid is up but 127.0.0.1:$(pg_running_port) does not accept connections"
    return 1
  fi
  echo "$PG_LABEL: not running"
  return 1
}

# --------------------------------------------------------------------------------------------
# RabbitMQ
# --------------------------------------------------------------------------------------------

rmq_nodename() { echo "adsync-$1@localhost"; }

# Loads the ports the running node was started with (falls back to the configured ones).
rmq_load_instance() {
  I_AMQP_PORT=$AMQP_PORT I_MGMT_PORT=$MGMT_PORT I_DIST_PORT=$DIST_PORT I_EPMD_PORT=$EPMD_PORT
  I_CTL_PORT_MIN=$CTL_PORT_MIN I_CTL_PORT_MAX=$CTL_PORT_MAX
  local key value
  [[ -f $RMQ_INSTANCE_FILE ]] || return 0
  while IFS='=' read -r key value; do
    case $key in
      AMQP_PORT | MGMT_PORT | DIST_PORT | EPMD_PORT | CTL_PORT_MIN | CTL_PORT_MAX)
        [[ $value =~ ^[0-9]+$ ]] && printf -v "I_$key" '%s' "$value" ;;
    esac
  done <"$RMQ_INSTANCE_FILE"
}

# The environment of our node, for the server and for its CLI tools (same HOME = same cookie,
# same node name, same epmd). Call it in a subshell.
rmq_export_env() {
  export HOME=$RMQ_DIR
  export PATH=$RMQ_BIN:$PATH
  export LC_ALL=C.UTF-8
  export RABBITMQ_NODENAME
  RABBITMQ_NODENAME=$(rmq_nodename "$I_AMQP_PORT")
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$I_AMQP_PORT RABBITMQ_DIST_PORT=$I_DIST_PORT
  export RABBITMQ_MNESIA_BASE=$RMQ_DIR/mnesia RABBITMQ_LOG_BASE=$RMQ_DIR/log
  export RABBITMQ_CONFIG_FILE=$RMQ_DIR/rabbitmq.conf RABBITMQ_CONFIG_FILES=$RMQ_DIR/conf.d
  export RABBITMQ_ADVANCED_CONFIG_FILE=$RMQ_DIR/advanced.config
  export RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ_DIR/enabled_plugins
  export RABBITMQ_PID_FILE=$RMQ_PID_FILE
  export ERL_CRASH_DUMP=$RMQ_DIR/log/erl_crash.dump   # default: the working directory
  export RABBITMQ_CONF_ENV_FILE=/dev/null        # ignore /etc/rabbitmq/rabbitmq-env.conf
  export ERL_EPMD_PORT=$I_EPMD_PORT ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export RABBITMQ_CTL_DIST_PORT_MIN=$I_CTL_PORT_MIN RABBITMQ_CTL_DIST_PORT_MAX=$I_CTL_PORT_MAX
  export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

rmq_node_log() { echo "$RMQ_DIR/log/$(rmq_nodename "$I_AMQP_PORT").log"; }

rmq_ours() { proc_has_env "$1" "RABBITMQ_MNESIA_BASE=$RMQ_DIR/mnesia"; }

rmq_beam_pid() {
  local pid
  if pid=$(read_pid_file "$RMQ_PID_FILE") && proc_alive "$pid" && [[ $(proc_comm "$pid") == beam.smp ]] && rmq_ours "$pid"; then
    echo "$pid"
    return 0
  fi
  for pid in $(rmq_group); do
    [[ $(proc_comm "$pid") == beam.smp ]] && { echo "$pid"; return 0; }
  done
  return 1
}

# The node runs in its own session and process group, led by the rabbitmq-server wrapper whose pid
# is in launcher.pid. That group still names the node's processes when the wrapper is gone or the
# node has not written its pid file yet (it does so a few seconds into the boot).
rmq_group() {
  local leader pid
  leader=$(read_pid_file "$RMQ_LAUNCHER_PID_FILE") || return 0
  for pid in $(proc_group_members "$leader"); do
    rmq_ours "$pid" && echo "$pid"
  done
  return 0
}

# True if any process of our node (booting, running or stopping) is there.
rmq_present() { rmq_beam_pid >/dev/null || [[ -n $(rmq_group) ]]; }

rmq_epmd_pid() {
  local pid cmdline
  pid=$(read_pid_file "$RMQ_EPMD_PID_FILE") || return 1
  proc_alive "$pid" && [[ $(proc_comm "$pid") == epmd ]] || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"-port $I_EPMD_PORT "* ]] || return 1
  echo "$pid"
}

rmq_write_config() {
  mkdir -p "$RMQ_DIR/mnesia" "$RMQ_DIR/log" "$RMQ_DIR/conf.d"
  cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
# Written by scripts/services.sh on every start; edits here are overwritten.
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $MGMT_PORT
log.console = false
log.file.level = info
${RMQ_EXTRA_CONF:-}
EOF
  # Written as a file, so no rabbitmq-plugins call (and no running node) is needed.
  echo '[rabbitmq_management].' >"$RMQ_DIR/enabled_plugins"
  cat >"$RMQ_INSTANCE_FILE" <<EOF
AMQP_PORT=$AMQP_PORT
MGMT_PORT=$MGMT_PORT
DIST_PORT=$DIST_PORT
EPMD_PORT=$EPMD_PORT
CTL_PORT_MIN=$CTL_PORT_MIN
CTL_PORT_MAX=$CTL_PORT_MAX
EOF
}

epmd_binary() {
  local e
  e=$(command -v epmd 2>/dev/null) && { echo "$e"; return; }
  for e in /usr/lib/erlang/bin/epmd /usr/lib/erlang/erts-*/bin/epmd; do
    [[ -x $e ]] && { echo "$e"; return; }
  done
  die "epmd not found (is erlang-base installed?)"
}

# Starts a process detached from us (new session, no stdin, output to a log) and records its
# pid from inside, so the file is right even if setsid has to fork.
spawn_detached() {
  local pid_file=$1 out=$2
  shift 2
  rm -f "$pid_file"
  (
    rmq_export_env
    cd "$RMQ_DIR"
    # shellcheck disable=SC2016 # $$ and $1 are the inner sh's
    exec setsid sh -c 'echo $$ >"$1"; shift; exec nohup "$@"' sh "$pid_file" "$@" </dev/null >>"$out" 2>&1 9>&-
  ) &
  local deadline=$(($(now_ms) + 5000))
  until [[ -s $pid_file ]]; do
    (($(now_ms) < deadline)) || die "could not start $1"
    sleep 0.05
  done
}

rmq_start_epmd() {
  local pid deadline
  if pid=$(rmq_epmd_pid); then
    log "$RMQ_LABEL: reusing our epmd (pid $pid, 127.0.0.1:$I_EPMD_PORT)"
    return 0
  fi
  spawn_detached "$RMQ_EPMD_PID_FILE" "$RMQ_DIR/epmd.log" "$(epmd_binary)" -address 127.0.0.1 -port "$EPMD_PORT"
  deadline=$(($(now_ms) + 10000))
  until tcp_open "$EPMD_PORT"; do
    if (($(now_ms) >= deadline)) || ! proc_alive "$(read_pid_file "$RMQ_EPMD_PID_FILE" || true)"; then
      show_logs "$RMQ_DIR/epmd.log"
      die "$RMQ_LABEL: epmd did not start on 127.0.0.1:$EPMD_PORT"
    fi
    sleep 0.05
  done
}

# Starts the node without waiting for it (rmq_wait does); returns early if it is already up.
RMQ_STARTED_AT=""
rmq_start() {
  local pid
  rmq_load_instance
  rmq_present && return 0    # preflight_ports checked that it uses the configured ports
  rm -f "$RMQ_PID_FILE" "$RMQ_LAUNCHER_PID_FILE"
  [[ ! -f $RMQ_EPMD_PID_FILE ]] || rmq_epmd_pid >/dev/null || rm -f "$RMQ_EPMD_PID_FILE"
  # A leftover epmd of ours on other ports is stopped before the ports change.
  if [[ $I_EPMD_PORT != "$EPMD_PORT" ]] && pid=$(rmq_epmd_pid); then terminate "$pid" 5 epmd; fi

  RMQ_STARTED_AT=$(now_ms)
  rmq_write_config
  rmq_load_instance
  rmq_start_epmd
  log "$RMQ_LABEL: starting node $(rmq_nodename "$AMQP_PORT") on 127.0.0.1:$AMQP_PORT (management :$MGMT_PORT, dist :$DIST_PORT, epmd :$EPMD_PORT)"
  spawn_detached "$RMQ_LAUNCHER_PID_FILE" "$RMQ_STDOUT_LOG" "$RMQ_BIN/rabbitmq-server"
}

rmq_fail() {
  show_logs "$RMQ_STDOUT_LOG" "$(rmq_node_log)"
  log "$RMQ_LABEL: stopping what was started"
  rmq_down >/dev/null 2>&1 || true
  die "$RMQ_LABEL: $*"
}

rmq_wait() {
  local deadline remaining pid
  deadline=$(($(now_ms) + START_TIMEOUT * 1000))
  # The AMQP listener opens near the end of boot (after the management listener), so a TCP
  # probe is the cheap first check; await_startup below is the authoritative one.
  until tcp_open "$AMQP_PORT"; do
    rmq_present || rmq_fail "the node exited during startup (logs above)"
    (($(now_ms) < deadline)) || rmq_fail "AMQP port 127.0.0.1:$AMQP_PORT did not open within ${START_TIMEOUT}s"
    sleep 0.2
  done
  if [[ -n $RMQ_STARTED_AT ]] || ! tcp_open "$MGMT_PORT"; then
    remaining=$(((deadline - $(now_ms)) / 1000))
    ((remaining >= 5)) || remaining=5
    (rmq_export_env && rabbitmqctl -q await_startup --timeout "$remaining") >&2 9>&- ||
      rmq_fail "rabbitmqctl await_startup failed"
    tcp_open "$MGMT_PORT" || rmq_fail "management port 127.0.0.1:$MGMT_PORT is not open"
  fi
  pid=$(rmq_beam_pid) || rmq_fail "the node is up but $RMQ_PID_FILE does not name it"
  if [[ -n $RMQ_STARTED_AT ]]; then
    log "$RMQ_LABEL: ready in $(elapsed "$RMQ_STARTED_AT") (pid $pid, epmd pid $(rmq_epmd_pid || echo '?'))"
  else
    log "$RMQ_LABEL: already running (pid $pid, 127.0.0.1:$AMQP_PORT)"
  fi
}

rmq_down() {
  local pid members deadline signal=TERM
  ((!KILL)) || signal=KILL
  rmq_load_instance
  if ! rmq_present && { ((RMQ_KEEP_EPMD)) || ! rmq_epmd_pid >/dev/null; }; then
    rm -f "$RMQ_PID_FILE" "$RMQ_LAUNCHER_PID_FILE"
    ((RMQ_KEEP_EPMD)) || rm -f "$RMQ_EPMD_PID_FILE"
    log "$RMQ_LABEL: not running"
    return 0
  fi
  if pid=$(rmq_beam_pid); then
    if ((KILL)); then
      log "$RMQ_LABEL: killing node (pid $pid, SIGKILL)"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 10 || die "rabbitmq (beam.smp) (pid $pid) survived SIGKILL"
    else
      log "$RMQ_LABEL: stopping node (pid $pid, SIGTERM; a clean stop takes ~6 s)"
      terminate "$pid" "$STOP_TIMEOUT" "rabbitmq (beam.smp)"
    fi
  elif [[ -f $RMQ_PID_FILE ]]; then
    log "$RMQ_LABEL: stale pid file (process $(read_pid_file "$RMQ_PID_FILE" || echo '?') is gone)"
  fi
  # The wrapper shell normally exits with the node (and reaps it: signalled first, the node would
  # stay a zombie where PID 1 does not reap orphans); stop whatever is left of the group.
  deadline=$(($(now_ms) + 2000))
  while members=$(rmq_group) && [[ -n $members ]] && (($(now_ms) < deadline)); do sleep 0.05; done
  if [[ -n $members ]]; then
    log "$RMQ_LABEL: stopping the rest of its process group: $(echo "$members" | tr '\n' ' ')"
    for pid in $members; do kill "-$signal" "$pid" 2>/dev/null || true; done
    for pid in $members; do terminate "$pid" 10 "rabbitmq process"; done
  fi
  # epmd outlives the node; stop the one we started (a cluster's nodes share one: see cl_down).
  if ((!RMQ_KEEP_EPMD)) && pid=$(rmq_epmd_pid); then
    log "$RMQ_LABEL: stopping epmd (pid $pid)"
    terminate "$pid" 5 epmd
  fi
  rm -f "$RMQ_PID_FILE" "$RMQ_LAUNCHER_PID_FILE"
  ((RMQ_KEEP_EPMD)) || rm -f "$RMQ_EPMD_PID_FILE"
  log "$RMQ_LABEL: stopped"
}

rmq_status() {
  local pid epmd rc=0
  rmq_load_instance
  if pid=$(rmq_beam_pid) && tcp_open "$I_AMQP_PORT"; then
    echo "$RMQ_LABEL: running (pid $pid, node $(rmq_nodename "$I_AMQP_PORT"), amqp 127.0.0.1:$I_AMQP_PORT, management 127.0.0.1:$I_MGMT_PORT, dist 127.0.0.1:$I_DIST_PORT)"
  elif rmq_present; then
    echo "$RMQ_LABEL: starting or unhealthy (pids $(rmq_group | tr '\n' ' '); 127.0.0.1:$I_AMQP_PORT not accepting connections)"
    rc=1
  else
    echo "$RMQ_LABEL: not running"
    rc=1
  fi
  if epmd=$(rmq_epmd_pid); then
    echo "epmd:     running (pid $epmd, 127.0.0.1:$I_EPMD_PORT)"
  elif ((rc == 0)); then
    echo "epmd:     not running (rabbitmqctl cannot reach the node)"
  fi
  return $rc
}

# --------------------------------------------------------------------------------------------
# Cluster mode (--cluster): three RabbitMQ nodes joined into one cluster and a PostgreSQL
# primary with one streaming standby, all on 127.0.0.1, under <state dir>/cluster/. Each member
# is run by the single-instance functions above, pointed at its own directory and ports by
# cl_rmq_select / cl_pg_select. The RabbitMQ nodes share one epmd and one Erlang cookie.
# --------------------------------------------------------------------------------------------

CLUSTER=0
CL_DIR=$SERVICES_DIR/cluster
CL_COOKIE_FILE=$CL_DIR/erlang.cookie
CL_EPMD_PID_FILE=$CL_DIR/epmd.pid
CL_PRIMARY_FILE=$CL_DIR/postgres-primary   # which PostgreSQL member (1 or 2) is the primary
CL_AMQP_BASE=${ADSYNC_CLUSTER_AMQP_PORT:-36700}
CL_PG_BASE=${ADSYNC_CLUSTER_PG_PORT:-55442}
CL_RMQ_ALL=(1 2 3)
CL_RMQ=(1 2 3)   # the members a command acts on (main() narrows them)
CL_PG=(1 2)
declare -A CL_STARTED=()

# Ports: node n uses AMQP base+3(n-1), management +1, Erlang distribution +2; the shared epmd
# base+9 and rabbitmqctl base+10..base+19. PostgreSQL member m listens on pg base+m-1.
derive_cluster_ports() {
  is_port_number "$CL_AMQP_BASE" || die "ADSYNC_CLUSTER_AMQP_PORT=$CL_AMQP_BASE is not a port number in 1024..65535"
  is_port_number "$CL_PG_BASE" || die "ADSYNC_CLUSTER_PG_PORT=$CL_PG_BASE is not a port number in 1024..65535"
  CL_PG_BASE=$((10#$CL_PG_BASE)) CL_AMQP_BASE=$((10#$CL_AMQP_BASE))
  ((CL_AMQP_BASE + 19 <= 65535)) || die "ADSYNC_CLUSTER_AMQP_PORT=$CL_AMQP_BASE: the cluster uses it and the 19 ports above it, which must stay <= 65535"
  ((CL_PG_BASE + 1 <= 65535)) || die "ADSYNC_CLUSTER_PG_PORT=$CL_PG_BASE: the standby uses the port above it, which must stay <= 65535"
  if ((CL_PG_BASE + 1 >= CL_AMQP_BASE && CL_PG_BASE <= CL_AMQP_BASE + 19)); then
    die "ADSYNC_CLUSTER_PG_PORT=$CL_PG_BASE (and +1) overlaps the RabbitMQ cluster's ports $CL_AMQP_BASE..$((CL_AMQP_BASE + 19)) (ADSYNC_CLUSTER_AMQP_PORT)"
  fi
}

cl_amqp_port() { echo $((CL_AMQP_BASE + 3 * ($1 - 1))); }
cl_pg_port() { echo $((CL_PG_BASE + $1 - 1)); }

# Points the RabbitMQ functions at node $1.
cl_rmq_select() {
  RMQ_DIR=$CL_DIR/rabbitmq-$1
  RMQ_PID_FILE=$RMQ_DIR/rabbit.pid
  RMQ_LAUNCHER_PID_FILE=$RMQ_DIR/launcher.pid
  RMQ_EPMD_PID_FILE=$CL_EPMD_PID_FILE
  RMQ_INSTANCE_FILE=$RMQ_DIR/instance.env
  RMQ_STDOUT_LOG=$RMQ_DIR/stdout.log
  AMQP_PORT=$(cl_amqp_port "$1")
  MGMT_PORT=$((AMQP_PORT + 1))
  DIST_PORT=$((AMQP_PORT + 2))
  EPMD_PORT=$((CL_AMQP_BASE + 9))
  CTL_PORT_MIN=$((EPMD_PORT + 1))
  CTL_PORT_MAX=$((EPMD_PORT + 10))
  RMQ_LABEL=rabbitmq-$1
  RMQ_KEEP_EPMD=1
  RMQ_STARTED_AT=${CL_STARTED[$1]:-}
  # pause_minority: a node cut off from the majority stops serving rather than diverging.
  RMQ_EXTRA_CONF="cluster_name = adsync
cluster_partition_handling = pause_minority"
  # Nodes 2 and 3, booting for the first time, join node 1's cluster by themselves (peer
  # discovery, retried while node 1 boots); cl_rmq_join checks, and joins them with
  # rabbitmqctl join_cluster if they did not. A node that has joined ignores this.
  if (($1 != 1)); then
    RMQ_EXTRA_CONF+="
cluster_formation.peer_discovery_backend = classic_config
cluster_formation.classic_config.nodes.1 = $(rmq_nodename "$(cl_amqp_port 1)")
cluster_formation.discovery_retry_limit = 120
cluster_formation.discovery_retry_interval = 1000"
  fi
}

cl_primary() {
  local member=1
  [[ -f $CL_PRIMARY_FILE ]] && read -r member <"$CL_PRIMARY_FILE"
  [[ $member == 2 ]] && echo 2 || echo 1
}
cl_standby() { echo $((3 - $(cl_primary))); }

# Points the PostgreSQL functions at member $1, configured for its role.
cl_pg_select() {
  local sync=""
  PG_DIR=$CL_DIR/postgres-$1
  PG_DATA=$PG_DIR/data
  PG_LOG=$PG_DIR/server.log
  PG_PORT=$(cl_pg_port "$1")
  if [[ $1 == "$(cl_primary)" ]]; then
    PG_LABEL="postgres-$1 (primary)"
    sync="'*'"
  else
    PG_LABEL="postgres-$1 (standby)"
    sync="''"
  fi
  PG_SKIP_DATABASE=1
  # Synchronous replication: a commit returns once the standby has it, so promoting the
  # standby loses no committed job. The cost: while the standby is down, commits wait.
  PG_EXTRA_CONF="wal_level = replica
max_wal_senders = 4
wal_keep_size = '256MB'
hot_standby = on
synchronous_standby_names = $sync"
}

# Every RabbitMQ node of the cluster gets the same Erlang cookie, made once.
cl_rmq_cookie() {
  local n
  mkdir -p "$CL_DIR"
  if [[ ! -s $CL_COOKIE_FILE ]]; then
    (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$CL_COOKIE_FILE")
  fi
  for n in "${CL_RMQ[@]}"; do
    mkdir -p "$CL_DIR/rabbitmq-$n"
    if ! cmp -s "$CL_COOKIE_FILE" "$CL_DIR/rabbitmq-$n/.erlang.cookie"; then
      rm -f "$CL_DIR/rabbitmq-$n/.erlang.cookie"
      install -m 400 "$CL_COOKIE_FILE" "$CL_DIR/rabbitmq-$n/.erlang.cookie"
    fi
  done
}

cl_preflight_ports() {
  local n m
  for n in "${CL_RMQ[@]}"; do
    cl_rmq_select "$n"
    rmq_load_instance
    rmq_present && continue
    require_free_port "$AMQP_PORT" "rabbitmq-$n AMQP" ADSYNC_CLUSTER_AMQP_PORT
    require_free_port "$MGMT_PORT" "rabbitmq-$n management" ADSYNC_CLUSTER_AMQP_PORT
    require_free_port "$DIST_PORT" "rabbitmq-$n Erlang distribution" ADSYNC_CLUSTER_AMQP_PORT
  done
  if ((${#CL_RMQ[@]})) && ! rmq_epmd_pid >/dev/null; then
    require_free_port "$EPMD_PORT" "the RabbitMQ cluster's epmd" ADSYNC_CLUSTER_AMQP_PORT
  fi
  for m in "${CL_PG[@]}"; do
    cl_pg_select "$m"
    pg_pid >/dev/null || require_free_port "$PG_PORT" "postgres-$m" ADSYNC_CLUSTER_PG_PORT
  done
}

# The cluster's nodes as node $1's management API lists them (JSON); through rabbitmqctl when
# curl is missing (slower: it boots an Erlang VM).
cl_rmq_members() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -m 10 -u guest:guest "http://127.0.0.1:$1/api/nodes?columns=name" 2>/dev/null || true
  else
    (rmq_export_env && rabbitmqctl -q cluster_status --formatter json) 2>/dev/null 9>&- || true
  fi
}

# Joins node $1 to the cluster through a running node that already belongs to it. Done once per
# node (marked by a file `joined`); a node restarted later finds its cluster by itself.
cl_rmq_join() {
  local n=$1 seed="" other start
  cl_rmq_select "$n"
  [[ -f $RMQ_DIR/joined ]] && return 0
  for other in "${CL_RMQ_ALL[@]}"; do
    [[ $other != "$n" && -f $CL_DIR/rabbitmq-$other/joined ]] || continue
    cl_rmq_select "$other"
    rmq_load_instance
    if rmq_beam_pid >/dev/null; then seed=$(rmq_nodename "$I_AMQP_PORT"); break; fi
  done
  cl_rmq_select "$n"
  rmq_load_instance
  if [[ -z $seed ]]; then
    # The first node up forms the cluster the others join.
    touch "$RMQ_DIR/joined"
    return 0
  fi
  if cl_rmq_members "$I_MGMT_PORT" | grep -qF "\"$seed\""; then
    log "$RMQ_LABEL: joined the cluster of $seed at boot"
    touch "$RMQ_DIR/joined"
    return 0
  fi
  start=$(now_ms)
  log "$RMQ_LABEL: joining the cluster of $seed"
  (rmq_export_env && rabbitmqctl -q stop_app && rabbitmqctl -q join_cluster "$seed" &&
    rabbitmqctl -q start_app && rabbitmqctl -q await_startup --timeout "$START_TIMEOUT") >&2 9>&- ||
    rmq_fail "could not join the cluster of $seed"
  touch "$RMQ_DIR/joined"
  log "$RMQ_LABEL: joined in $(elapsed "$start")"
}

cl_rmq_up() {
  local n
  ((${#CL_RMQ[@]})) || return 0
  cl_rmq_cookie
  # Every node boots at once: a node restarted after a full stop waits for its peers.
  for n in "${CL_RMQ[@]}"; do
    cl_rmq_select "$n"
    RMQ_STARTED_AT=""
    rmq_start
    CL_STARTED[$n]=$RMQ_STARTED_AT
  done
}

cl_rmq_wait() {
  local n
  for n in "${CL_RMQ[@]}"; do
    cl_rmq_select "$n"
    rmq_wait
  done
  for n in "${CL_RMQ[@]}"; do cl_rmq_join "$n"; done
}

# Waits until the primary sees a streaming standby (commits would wait for it anyway).
cl_pg_wait_streaming() {
  local bindir=$1 port=$2 deadline found
  deadline=$(($(now_ms) + START_TIMEOUT * 1000))
  while :; do
    found=$("$bindir/psql" -X -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc \
      "select count(*) from pg_stat_replication where state = 'streaming'" 2>/dev/null) || found=0
    ((found > 0)) && return 0
    (($(now_ms) < deadline)) || { show_logs "$PG_LOG"; die "$PG_LABEL: not streaming from 127.0.0.1:$port within ${START_TIMEOUT}s"; }
    sleep 0.2
  done
}

cl_pg_up() {
  local primary standby bindir primary_port pid start want_primary=0 want_standby=0 m
  primary=$(cl_primary) standby=$(cl_standby)
  for m in "${CL_PG[@]}"; do
    [[ $m == "$primary" ]] && want_primary=1
    [[ $m == "$standby" ]] && want_standby=1
  done
  cl_pg_select "$primary"
  primary_port=$PG_PORT
  if ((want_primary)); then
    [[ ! -f $PG_DATA/standby.signal ]] ||
      die "$PG_LABEL is recorded as the primary but its data is a standby's ($CL_PRIMARY_FILE); promote it or purge the cluster"
    if pid=$(pg_pid); then
      # Its role may have changed since it started (a promoted standby): apply the config.
      pg_write_config
      as_pg "$(pg_bindir)/pg_ctl" -D "$PG_DATA" -s reload || die "$PG_LABEL: reload failed"
    fi
    pg_up
  fi
  bindir=$(pg_bindir)
  if ((want_standby)); then
    pg_pid >/dev/null || die "postgres-$primary (the primary) is not running; start it first (up --cluster postgres)"
    cl_pg_select "$standby"
    if [[ -f $PG_DATA/PG_VERSION && ! -f $PG_DATA/standby.signal ]]; then
      # A former primary (its standby was promoted): its history diverged; clone it anew.
      pg_pid >/dev/null && die "$PG_LABEL runs as a primary beside postgres-$primary; stop it first"
      log "$PG_LABEL: was a primary before postgres-$primary was promoted; cloning it again as a standby"
      rm -rf -- "$PG_DATA"
    fi
    if [[ ! -f $PG_DATA/PG_VERSION ]]; then
      start=$(now_ms)
      mkdir -p "$PG_DIR"
      chmod 755 "$PG_DIR"
      ((EUID != 0)) || chown postgres:postgres "$PG_DIR"
      pg_make_reachable
      log "$PG_LABEL: pg_basebackup from 127.0.0.1:$primary_port"
      as_pg "$bindir/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$PG_DATA" \
        -R -X stream -c fast -w >"$PG_DIR/basebackup.log" 2>&1 ||
        { show_logs "$PG_DIR/basebackup.log"; die "$PG_LABEL: pg_basebackup failed"; }
      log "$PG_LABEL: base backup done in $(elapsed "$start")"
    fi
    pg_up
    cl_pg_select "$primary"
    pg_pid >/dev/null && cl_pg_wait_streaming "$bindir" "$primary_port"
  fi
  cl_pg_select "$primary"
  if pg_pid >/dev/null; then
    # With the standby down, this waits for it (synchronous replication) unless the database
    # exists already, which needs no commit.
    pg_ensure_database "$bindir"
  fi
}

# Promotes the standby to primary. Refused while the primary runs: two primaries would diverge.
cl_pg_promote() {
  local primary standby start
  primary=$(cl_primary) standby=$(cl_standby)
  cl_pg_select "$primary"
  pg_pid >/dev/null && die "postgres-$primary (the primary) is running; stop or kill it before promoting postgres-$standby"
  cl_pg_select "$standby"
  pg_pid >/dev/null || die "$PG_LABEL is not running; nothing to promote"
  start=$(now_ms)
  as_pg "$(pg_bindir)/pg_ctl" -D "$PG_DATA" -w -t "$START_TIMEOUT" -s promote ||
    { show_logs "$PG_LOG"; die "$PG_LABEL: promotion failed"; }
  echo "$standby" >"$CL_PRIMARY_FILE"
  log "postgres-$standby: promoted to primary in $(elapsed "$start"); postgres-$primary becomes its standby at the next 'up --cluster'"
}

cl_rmq_down() {
  local n pids=() rc=0 pid
  ((${#CL_RMQ[@]})) || return 0
  # In parallel: a clean stop takes ~6 s per node.
  for n in "${CL_RMQ[@]}"; do
    (cl_rmq_select "$n" && rmq_down) &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  ((rc == 0)) || die "stopping the RabbitMQ cluster failed (see above)"
  # The shared epmd goes once no node is left.
  for n in "${CL_RMQ_ALL[@]}"; do
    cl_rmq_select "$n"
    rmq_load_instance
    rmq_present && return 0
  done
  if pid=$(rmq_epmd_pid); then
    log "rabbitmq cluster: stopping epmd (pid $pid)"
    terminate "$pid" 5 epmd
  fi
  rm -f "$CL_EPMD_PID_FILE"
}

cl_pg_down() {
  local m
  # The primary first, so that a clean stop leaves the standby with all of its WAL.
  for m in $(cl_primary) $(cl_standby); do
    [[ " ${CL_PG[*]} " == *" $m "* ]] || continue
    cl_pg_select "$m"
    pg_down
  done
}

cl_status() {
  local n m rc=0 epmd
  for m in "${CL_PG[@]}"; do
    cl_pg_select "$m"
    pg_status || rc=1
  done
  for n in "${CL_RMQ[@]}"; do
    cl_rmq_select "$n"
    RMQ_KEEP_EPMD=1
    rmq_load_instance
    if pid=$(rmq_beam_pid) && tcp_open "$I_AMQP_PORT"; then
      echo "$RMQ_LABEL: running (pid $pid, node $(rmq_nodename "$I_AMQP_PORT"), amqp 127.0.0.1:$I_AMQP_PORT, management 127.0.0.1:$I_MGMT_PORT)"
    elif rmq_present; then
      echo "$RMQ_LABEL: starting or unhealthy (127.0.0.1:$I_AMQP_PORT not accepting connections)"
      rc=1
    else
      echo "$RMQ_LABEL: not running"
      rc=1
    fi
  done
  if ((${#CL_RMQ[@]})); then
    if epmd=$(rmq_epmd_pid); then echo "epmd:       running (pid $epmd, 127.0.0.1:$I_EPMD_PORT)"; else echo "epmd:       not running"; fi
  fi
  return $rc
}

cl_database_url() {
  echo "postgres://postgres@127.0.0.1:$(cl_pg_port 1),127.0.0.1:$(cl_pg_port 2)/$1?target_session_attrs=read-write"
}
cl_amqp_urls() {
  local n urls=()
  for n in "${CL_RMQ_ALL[@]}"; do urls+=("amqp://guest:guest@127.0.0.1:$(cl_amqp_port "$n")/%2f"); done
  (IFS=, && echo "${urls[*]}")
}
cl_mgmt_urls() {
  local n urls=()
  for n in "${CL_RMQ_ALL[@]}"; do urls+=("http://127.0.0.1:$(($(cl_amqp_port "$n") + 1))"); done
  (IFS=, && echo "${urls[*]}")
}

cl_up() {
  local start
  start=$(now_ms)
  mkdir -p "$SERVICES_DIR"
  chmod 755 "$SERVICES_DIR"
  lock_services_dir
  ensure_packages
  cl_preflight_ports
  cl_rmq_up     # RabbitMQ boots for ~10 s; PostgreSQL starts meanwhile
  if ((${#CL_PG[@]})); then cl_pg_up; fi
  if ((${#CL_RMQ[@]})); then cl_rmq_wait; fi
  log "cluster up in $(elapsed "$start"); load the URLs with: eval \"\$(scripts/services.sh env --cluster)\""
  printf 'postgres   %s\n' "$(cl_database_url "$PG_DATABASE")"
  printf 'amqp       %s\n' "$(cl_amqp_urls)"
  printf 'management %s (user guest, password guest)\n' "$(cl_mgmt_urls)"
}

cl_down() {
  local purge=$1 start m n
  start=$(now_ms)
  ((!purge)) || check_purgeable
  if [[ -d $CL_DIR ]]; then
    lock_services_dir
    cl_rmq_down
    cl_pg_down
  else
    log "nothing to stop ($CL_DIR does not exist)"
  fi
  if ((purge)) && [[ -d $CL_DIR ]]; then
    if ((${#CL_RMQ[@]} == 3 && ${#CL_PG[@]} == 2)); then
      PURGE_DIRS=("$CL_DIR")
    else
      PURGE_DIRS=()
      for n in "${CL_RMQ[@]}"; do PURGE_DIRS+=("$CL_DIR/rabbitmq-$n"); done
      for m in "${CL_PG[@]}"; do PURGE_DIRS+=("$CL_DIR/postgres-$m"); done
    fi
    purge_services_dir
  fi
  log "down in $(elapsed "$start")"
}

cl_env() {
  local name value
  for name in ADSYNC__DATABASE__URL ADSYNC__RABBITMQ__URL ADSYNC__RABBITMQ__QUEUE_TYPE \
    ADSYNC_CLUSTER_DATABASE_URL ADSYNC_CLUSTER_AMQP_URLS ADSYNC_CLUSTER_MANAGEMENT_URLS \
    ADSYNC_CLUSTER_PG_PORT ADSYNC_CLUSTER_AMQP_PORT; do
    case $name in
      ADSYNC__DATABASE__URL) value=$(cl_database_url "$PG_DATABASE") ;;
      ADSYNC_CLUSTER_DATABASE_URL) value=$(cl_database_url postgres) ;;   # for creating databases
      ADSYNC__RABBITMQ__URL | ADSYNC_CLUSTER_AMQP_URLS) value=$(cl_amqp_urls) ;;
      ADSYNC__RABBITMQ__QUEUE_TYPE) value=quorum ;;
      ADSYNC_CLUSTER_MANAGEMENT_URLS) value=$(cl_mgmt_urls) ;;           # user guest, password guest
      ADSYNC_CLUSTER_PG_PORT) value=$CL_PG_BASE ;;
      ADSYNC_CLUSTER_AMQP_PORT) value=$CL_AMQP_BASE ;;
    esac
    printf "export %s='%s'\n" "$name" "$value"
  done
}

# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------

pg_url() { echo "postgres://postgres@127.0.0.1:$PG_PORT/$1"; }
amqp_url() { echo "amqp://guest:guest@127.0.0.1:$AMQP_PORT/%2f"; }
mgmt_url() { echo "http://127.0.0.1:$MGMT_PORT"; }

lock_services_dir() {
  exec 9>"$SERVICES_DIR/.lock"
  flock -w "$((START_TIMEOUT + STOP_TIMEOUT))" 9 || die "another scripts/services.sh is still running (lock $SERVICES_DIR/.lock)"
}

# Checks, before anything starts, that the ports of each service that has to be started are free,
# so a conflict never leaves one service half-started.
preflight_ports() {
  local pid running_port
  if ((WANT_PG)); then
    if pg_pid >/dev/null; then
      running_port=$(pg_running_port)
      [[ $running_port == "$PG_PORT" ]] ||
        die "postgres from $SERVICES_LABEL already runs on port $running_port, not ADSYNC_PG_PORT=$PG_PORT; run 'scripts/services.sh down' first"
    else
      require_free_port "$PG_PORT" "PostgreSQL" ADSYNC_PG_PORT
    fi
  fi
  ((WANT_RMQ)) || return 0
  rmq_load_instance
  if rmq_present; then
    [[ $I_AMQP_PORT == "$AMQP_PORT" && $I_MGMT_PORT == "$MGMT_PORT" && $I_DIST_PORT == "$DIST_PORT" && $I_EPMD_PORT == "$EPMD_PORT" ]] ||
      die "rabbitmq from $SERVICES_LABEL already runs with AMQP port $I_AMQP_PORT, management $I_MGMT_PORT, dist $I_DIST_PORT, epmd $I_EPMD_PORT, not the configured ones; run 'scripts/services.sh down' first"
  else
    require_free_port "$AMQP_PORT" "RabbitMQ AMQP" ADSYNC_AMQP_PORT
    require_free_port "$MGMT_PORT" "RabbitMQ management" ADSYNC_AMQP_MGMT_PORT
    require_free_port "$DIST_PORT" "RabbitMQ Erlang distribution" ADSYNC_AMQP_DIST_PORT
    if ! pid=$(rmq_epmd_pid) || [[ $I_EPMD_PORT != "$EPMD_PORT" ]]; then
      require_free_port "$EPMD_PORT" "Erlang port mapper for RabbitMQ" ADSYNC_EPMD_PORT
    fi
  fi
}

cmd_up() {
  local start
  start=$(now_ms)
  mkdir -p "$SERVICES_DIR"
  chmod 755 "$SERVICES_DIR"
  lock_services_dir
  ensure_packages
  preflight_ports
  if ((WANT_RMQ)); then rmq_start; fi   # RabbitMQ takes ~10 s to boot, so PostgreSQL starts while it does
  if ((WANT_PG)); then pg_up; fi
  if ((WANT_RMQ)); then rmq_wait; fi
  log "up in $(elapsed "$start"); load the URLs with: eval \"\$(scripts/services.sh env)\""
  if ((WANT_PG)); then printf 'postgres   %s\n' "$(pg_url "$PG_DATABASE")"; fi
  if ((WANT_RMQ)); then
    printf 'amqp       %s\n' "$(amqp_url)"
    printf 'management %s (user guest, password guest)\n' "$(mgmt_url)"
  fi
}

# The entries of the state directory, one per line, as `ls -A` would list them.
services_dir_entries() { find "$SERVICES_DIR" -mindepth 1 -maxdepth 1 -printf '%f\n'; }

# --purge deletes a state directory other than the default one only if it holds nothing but what
# this script creates there, so a mistyped ADSYNC_SERVICES_DIR cannot delete anything else.
# Checked before anything is stopped.
check_purgeable() {
  local entry unknown=()
  [[ $SERVICES_DIR != "$DEFAULT_SERVICES_DIR" ]] || return 0
  [[ -d $SERVICES_DIR ]] || return 0
  while IFS= read -r entry; do
    case $entry in
      .lock | apt.log | postgres | rabbitmq | cluster) ;;
      *) unknown+=("$entry") ;;
    esac
  done < <(services_dir_entries)
  ((${#unknown[@]} == 0)) ||
    die "refusing to purge $SERVICES_DIR: it holds files this script did not create (${unknown[*]:0:5}); delete it by hand"
}

# Deletes the selected services' directories, and the state directory once no service's is left.
purge_services_dir() {
  [[ -d $SERVICES_DIR ]] || return 0
  local dir deleted=()
  for dir in "${PURGE_DIRS[@]}"; do
    [[ -e $dir || -L $dir ]] || continue
    rm -rf -- "$dir"
    deleted+=("$dir")
  done
  for dir in "$SINGLE_PG_DIR" "$SINGLE_RMQ_DIR" "$CL_DIR"; do
    if [[ -e $dir || -L $dir ]]; then
      ((${#deleted[@]} == 0)) || log "deleted ${deleted[*]}"
      return 0
    fi
  done
  if [[ $SERVICES_DIR == "$DEFAULT_SERVICES_DIR" ]]; then
    [[ -n $REPO_ROOT ]] || die "refusing to delete $SERVICES_DIR"
    rm -rf -- "$SERVICES_DIR"
  else
    # Only what check_purgeable allowed: rmdir fails rather than delete anything that appeared since.
    rm -f -- "$SERVICES_DIR/apt.log" "$SERVICES_DIR/.lock"
    rmdir -- "$SERVICES_DIR" || die "could not delete $SERVICES_DIR (files appeared in it)"
  fi
  log "deleted $SERVICES_DIR"
}

cmd_down() {
  local purge=$1 start
  start=$(now_ms)
  ((!purge)) || check_purgeable
  if [[ -d $SERVICES_DIR ]]; then
    lock_services_dir
    if ((WANT_RMQ)); then rmq_down; fi
    if ((WANT_PG)); then pg_down; fi
  else
    log "nothing to stop ($SERVICES_DIR does not exist)"
  fi
  if ((purge)); then
    PURGE_DIRS=()
    if ((WANT_PG)); then PURGE_DIRS+=("$PG_DIR"); fi
    if ((WANT_RMQ)); then PURGE_DIRS+=("$RMQ_DIR"); fi
    purge_services_dir
  fi
  log "down in $(elapsed "$start")"
}

cmd_status() {
  local rc=0
  if ((WANT_PG)); then pg_status || rc=1; fi
  if ((WANT_RMQ)); then rmq_status || rc=1; fi
  return $rc
}

cmd_env() {
  local name value
  for name in ADSYNC__DATABASE__URL ADSYNC__RABBITMQ__URL ADSYNC_TEST_DATABASE_URL ADSYNC_TEST_AMQP_URL \
    ADSYNC_AMQP_MANAGEMENT_URL ADSYNC_PG_PORT ADSYNC_AMQP_PORT ADSYNC_AMQP_MGMT_PORT; do
    case $name in
      ADSYNC__DATABASE__URL) value=$(pg_url "$PG_DATABASE") ;;
      ADSYNC_TEST_DATABASE_URL) value=$(pg_url postgres) ;;   # the test harness creates its own databases
      ADSYNC__RABBITMQ__URL | ADSYNC_TEST_AMQP_URL) value=$(amqp_url) ;;
      ADSYNC_AMQP_MANAGEMENT_URL) value=$(mgmt_url) ;;      # user guest, password guest
      ADSYNC_PG_PORT) value=$PG_PORT ;;
      ADSYNC_AMQP_PORT) value=$AMQP_PORT ;;
      ADSYNC_AMQP_MGMT_PORT) value=$MGMT_PORT ;;
    esac
    printf "export %s='%s'\n" "$name" "$value"
  done
}

main() {
  local cmd=${1:-} arg service="" purge=0 members=()
  (($# == 0)) || shift
  case $cmd in
    help | -h | --help) usage; return 0 ;;
    up | down | purge | status | env | promote) ;;
    "") usage >&2; exit 2 ;;
    *) printf 'services: unknown command: %s\n\n' "$cmd" >&2; usage >&2; exit 2 ;;
  esac
  [[ $cmd != purge ]] || purge=1
  for arg in "$@"; do
    case $arg in
      --cluster) CLUSTER=1 ;;
      --purge) [[ $cmd == down ]] || die "unknown option for $cmd: $arg"; purge=1 ;;
      --kill) [[ $cmd == down ]] || die "unknown option for $cmd: $arg"; KILL=1 ;;
      -*) die "unknown option for $cmd: $arg (down takes --purge and --kill; every command takes --cluster)" ;;
      *) members+=("$arg") ;;
    esac
  done
  [[ $cmd != promote ]] || ((CLUSTER)) || die "promote acts on the cluster: promote --cluster"
  if [[ $cmd == env || $cmd == promote ]] && ((${#members[@]})); then die "$cmd takes no service name"; fi
  ((${#members[@]} <= 1)) || die "name one service, or none for all"
  service=${members[0]:-}
  [[ -n $SERVICES_DIR && $SERVICES_DIR != / ]] || die "ADSYNC_SERVICES_DIR=$ADSYNC_SERVICES_DIR cannot be the state directory"
  if ((CLUSTER)); then
    derive_cluster_ports
    case $service in
      "") ;;
      postgres) CL_RMQ=() ;;
      rabbitmq) CL_PG=() ;;
      rabbitmq-[123]) CL_RMQ=("${service#rabbitmq-}") CL_PG=() ;;
      postgres-[12]) CL_PG=("${service#postgres-}") CL_RMQ=() ;;
      postgres-primary) CL_PG=("$(cl_primary)") CL_RMQ=() ;;
      postgres-standby) CL_PG=("$(cl_standby)") CL_RMQ=() ;;
      *) die "unknown cluster member: $service (postgres, rabbitmq, rabbitmq-1..3, postgres-1..2, postgres-primary, postgres-standby)" ;;
    esac
    ((${#CL_PG[@]})) || WANT_PG=0
    ((${#CL_RMQ[@]})) || WANT_RMQ=0
    case $cmd in
      up) cl_up ;;
      down | purge) cl_down "$purge" ;;
      status) cl_status ;;
      env) cl_env ;;
      promote) lock_services_dir && cl_pg_promote ;;
    esac
    return
  fi
  case $service in
    "") ;;
    postgres) WANT_RMQ=0 ;;
    rabbitmq) WANT_PG=0 ;;
    *) die "unknown service: $service (postgres or rabbitmq)" ;;
  esac
  derive_ports
  case $cmd in
    up) cmd_up ;;
    down | purge) cmd_down "$purge" ;;
    status) cmd_status ;;
    env) cmd_env ;;
  esac
}

main "$@"
