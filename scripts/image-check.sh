#!/usr/bin/env bash
# Builds adsync's container image from the real Dockerfile and runs it, on a machine with neither
# a Docker engine nor access to Docker Hub: the check a user with Docker would otherwise be the
# first to make. CI runs it (scripts/test.sh with ADSYNC_IMAGE_CHECK=1).
#
#  1. Base images. The Dockerfile names debian:<release>-slim and rust:<version>-<release> (its
#     ARGs DEBIAN_RELEASE and RUST_VERSION). This script makes both from Debian's packages and
#     gives them those names: the first with `debootstrap --variant=minbase`, slimmed as Docker
#     Hub's -slim images are; the second from the first plus gcc, libc6-dev, ca-certificates and
#     this machine's own Rust toolchain, laid out as in the official image (/usr/local/rustup,
#     /usr/local/cargo). This machine's rustc must be the Dockerfile's RUST_VERSION, or the
#     script stops saying so. Both are cached and made again only when their recipe, the Debian
#     release or the toolchain changes.
#  2. Build. buildah builds the Dockerfile as it is, with vfs storage and chroot isolation:
#     target `runtime` as adsync:local (the image Compose's services run) and target `demo` as
#     adsync-demo:local. cargo fetches the crates itself, into the Dockerfile's cache mounts,
#     which persist in the cache too, so a second build only compiles what changed.
#  3. Run, against the PostgreSQL and RabbitMQ of scripts/services.sh (a database and a queue
#     prefix of its own, removed afterwards): `api migrate`, then sandbox, api, scheduler and
#     worker, each in its own container from the image (`buildah run`, chroot isolation, the
#     host's network, free loopback ports), configured as docker-compose.yml configures them
#     (the secrets in a read-only file mounted at /run/adsync), then the demo image's driver with
#     Compose's command, which must print its OK line. Checks /healthz, /readyz and /metrics of
#     api, scheduler and worker (the sandbox's /_sandbox/health), that each process is the
#     image's binary running as uid 10001, not root, and that each stops cleanly on SIGTERM.
#  4. Reports the sizes of the images and binaries and the time each step took; fails if the
#     runtime image is larger than ADSYNC_IMAGE_MAX_MB (the README explains its size).
#
# Usage: scripts/image-check.sh          everything above, then the sizes and the time each step took
#        scripts/image-check.sh clean    delete the cache (base images, build caches, storage)
#        scripts/image-check.sh help
#
# Needs root (debootstrap; buildah's vfs storage and chroot isolation). Installs buildah,
# debootstrap and iproute2 with apt-get when missing. Starts PostgreSQL and RabbitMQ with
# `scripts/services.sh up` (which leaves running ones alone). Containers, the database and the
# secrets it makes are removed when it exits, also on failure or Ctrl-C.
#
# Environment (defaults in brackets):
#   ADSYNC_IMAGE_CACHE          base images, buildah's storage and the build's cache mounts
#                               [${XDG_CACHE_HOME:-~/.cache}/adsync-image-check]; it survives
#                               between runs, a fresh machine (CI) starts without it
#   ADSYNC_DEBIAN_MIRROR        Debian mirror for debootstrap and the images' apt sources
#                               [http://deb.debian.org/debian]
#   ADSYNC_IMAGE_START_TIMEOUT  seconds each process gets to become ready          [60]
#   ADSYNC_IMAGE_MAX_MB         largest runtime image accepted, in MB (10^6 bytes)  [180]
# Logs of the last run: target/image-check/ (the build, debootstrap, each process).
set -euo pipefail

ROOT=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

CACHE=${ADSYNC_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/adsync-image-check}
MIRROR=${ADSYNC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
START_TIMEOUT=${ADSYNC_IMAGE_START_TIMEOUT:-60}
MAX_MB=${ADSYNC_IMAGE_MAX_MB:-180}
LOGS=$ROOT/target/image-check

RUNTIME_IMAGE=localhost/adsync:local
DEMO_IMAGE=localhost/adsync-demo:local
# The Dockerfile's user; every process in the image must run as it.
APP_UID=10001
# Prefix of every working container this script makes (removed at exit).
CTR_PREFIX=adsync-check-$$
# What the -slim images leave out (Docker Hub's debian images ship the same dpkg filter).
SLIM_EXCLUDES='path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias'
DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf 'image-check: %s\n' "$*" >&2; }
die() {
  printf 'image-check: error: %s\n' "$*" >&2
  exit 1
}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

# buildah on the cache's own storage. TMPDIR is where buildah keeps the Dockerfile's cache
# mounts (buildah-cache/) and its scratch files, so they live in the cache as well.
BH=(env "TMPDIR=$CACHE/tmp" buildah --root "$CACHE/storage" --runroot "$CACHE/run"
  --storage-driver vfs)
bh() { "${BH[@]}" "$@"; }

is_seconds() { [[ $1 =~ ^[0-9]+$ ]] && (($1 >= 1)); }

# True while process $1 runs (a child that exited stays a zombie until waited for, and `kill -0`
# would still succeed on it).
alive() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != [ZX] ]]
}

# --------------------------------------------------------------------------------------------
# Timing: each step's duration, printed at the end
# --------------------------------------------------------------------------------------------

T_START=$(date +%s)
STEP=""
STEP_START=0
TIMES=()
step() {
  end_step
  STEP=$1
  STEP_START=$(date +%s)
  log "--- $STEP"
}
end_step() {
  [[ -n $STEP ]] || return 0
  TIMES+=("$(printf '  %-44s %5d s' "$STEP" $(($(date +%s) - STEP_START)))")
  STEP=""
}

# --------------------------------------------------------------------------------------------
# Cleanup: whatever this run started goes, also when it fails
# --------------------------------------------------------------------------------------------

declare -A RUN_PID=()   # process name -> pid of its `buildah run`
CONTAINERS=()           # working containers to remove
DATABASE=""             # the database made for the run, dropped at exit
SECRETS_DIR=""

cleanup() {
  local status=$? name pid deadline
  trap - EXIT INT TERM
  set +e
  for name in "${!RUN_PID[@]}"; do
    pid=${RUN_PID[$name]}
    # buildah run kills the process in the container when it gets SIGTERM itself.
    alive "$pid" && kill -TERM "$pid" 2>/dev/null
  done
  deadline=$(($(date +%s) + 20))
  for name in "${!RUN_PID[@]}"; do
    pid=${RUN_PID[$name]}
    while alive "$pid" && (($(date +%s) < deadline)); do sleep 0.2; done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null
  done
  if ((status != 0)); then
    for name in "${!RUN_PID[@]}"; do
      [[ -s $LOGS/$name.log ]] || continue
      log "last lines of $name's log ($LOGS/$name.log):"
      tail -n 25 "$LOGS/$name.log" | sed 's/^/    /' >&2
    done
  fi
  for name in "${CONTAINERS[@]}"; do bh rm "$name" >/dev/null 2>&1; done
  if [[ -n $DATABASE ]]; then
    psql "$ADSYNC_TEST_DATABASE_URL" -q -c "DROP DATABASE IF EXISTS \"$DATABASE\" WITH (FORCE)" \
      >/dev/null 2>&1 || log "could not drop database $DATABASE"
  fi
  [[ -n $SECRETS_DIR ]] && rm -rf "$SECRETS_DIR"
  ((status == 0)) || log "FAILED after $(($(date +%s) - T_START)) s (logs: $LOGS)"
  exit "$status"
}

# --------------------------------------------------------------------------------------------
# Preparation: root, packages, the cache, the Dockerfile's ARGs and this machine's toolchain
# --------------------------------------------------------------------------------------------

install_missing() {
  local missing=() pair
  for pair in buildah:buildah debootstrap:debootstrap ss:iproute2 curl:curl \
    psql:postgresql-client; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]} (apt-get; output in $LOGS/apt.log)"
  if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
    --no-install-recommends "${missing[@]}"; } >"$LOGS/apt.log" 2>&1; then
    tail -n 20 "$LOGS/apt.log" >&2
    die "could not install ${missing[*]}"
  fi
}

# The value of `ARG <name>=<value>` in the Dockerfile.
dockerfile_arg() {
  local values
  values=$(sed -n "s/^ARG $1=\(.*\)\$/\1/p" Dockerfile)
  [[ -n $values && $values != *$'\n'* ]] ||
    die "Dockerfile: expected exactly one line 'ARG $1=<value>'"
  printf '%s\n' "$values"
}

# Every FROM of the Dockerfile must name an earlier stage or one of the two images made here.
check_base_images() {
  local stages=() image as stage known known_stage
  while read -r _ image as stage; do
    image=${image//\$\{RUST_VERSION\}/$RUST_VERSION}
    image=${image//\$\{DEBIAN_RELEASE\}/$DEBIAN_RELEASE}
    known=0
    for known_stage in "${stages[@]}"; do [[ $image == "$known_stage" ]] && known=1; done
    if ((known == 0)) && [[ $image != "debian:$DEBIAN_RELEASE-slim" &&
      $image != "rust:$RUST_VERSION-$DEBIAN_RELEASE" ]]; then
      die "Dockerfile: FROM $image: this script makes only debian:$DEBIAN_RELEASE-slim and rust:$RUST_VERSION-$DEBIAN_RELEASE; teach it to make $image"
    fi
    [[ ${as,,} == as && -n $stage ]] && stages+=("$stage")
  done < <(grep -iE '^FROM[[:space:]]' Dockerfile)
}

prepare() {
  ((EUID == 0)) || die "needs root (debootstrap, and buildah's vfs storage with chroot isolation); run it with sudo"
  is_seconds "$START_TIMEOUT" || die "ADSYNC_IMAGE_START_TIMEOUT must be a whole number of seconds, got '$START_TIMEOUT'"
  [[ $MAX_MB =~ ^[0-9]+$ ]] || die "ADSYNC_IMAGE_MAX_MB must be a whole number, got '$MAX_MB'"
  mkdir -p "$CACHE/tmp" "$LOGS"
  exec 9>"$CACHE/lock"
  if ! flock -n 9; then
    log "waiting for another image check using $CACHE"
    flock 9
  fi
  install_missing

  RUST_VERSION=$(dockerfile_arg RUST_VERSION)
  DEBIAN_RELEASE=$(dockerfile_arg DEBIAN_RELEASE)
  DEBIAN_IMAGE=docker.io/library/debian:$DEBIAN_RELEASE-slim
  RUST_IMAGE=docker.io/library/rust:$RUST_VERSION-$DEBIAN_RELEASE
  check_base_images
  [[ -e /usr/share/debootstrap/scripts/$DEBIAN_RELEASE ]] ||
    die "the Dockerfile's ARG DEBIAN_RELEASE=$DEBIAN_RELEASE is not a release debootstrap knows (/usr/share/debootstrap/scripts)"

  command -v rustc >/dev/null 2>&1 || die "no rustc on this machine: the builder image is made from this machine's Rust toolchain"
  RUSTC_VV=$(rustc -vV)
  RUSTC_RELEASE=$(sed -n 's/^release: //p' <<<"$RUSTC_VV")
  RUSTC_HOST=$(sed -n 's/^host: //p' <<<"$RUSTC_VV")
  SYSROOT=$(rustc --print sysroot)
  if [[ $RUSTC_RELEASE != "$RUST_VERSION" && $RUSTC_RELEASE != "$RUST_VERSION".* ]]; then
    die "the Dockerfile's ARG RUST_VERSION=$RUST_VERSION does not match this machine's Rust toolchain, rustc $RUSTC_RELEASE ($SYSROOT): the builder image is made from this toolchain, so change the ARG to ${RUSTC_RELEASE%.*} or run with the toolchain the Dockerfile names"
  fi
  [[ -x $SYSROOT/bin/cargo && -x $SYSROOT/bin/rustc ]] ||
    die "the toolchain at $SYSROOT (rustc --print sysroot) has no bin/cargo and bin/rustc"

  # Leftovers of a run that was killed before it could clean up: the storage is this script's
  # own and the lock is held, so every working container in it is stale.
  bh rm --all >/dev/null 2>&1 || true
  log "Dockerfile: rust:$RUST_VERSION-$DEBIAN_RELEASE, debian:$DEBIAN_RELEASE-slim; this machine: rustc $RUSTC_RELEASE; cache: $CACHE"
}

# --------------------------------------------------------------------------------------------
# 1. The base images
# --------------------------------------------------------------------------------------------

# debian:<release>-slim: debootstrap's minbase, without documentation, manual pages,
# translations, package lists and downloaded packages, with apt configured as in Docker Hub's
# images (clean caches, no translations) and deb822 sources for the release, its updates and
# its security updates.
make_debian_image() {
  local ctr mnt
  ctr=$(bh from --name "$CTR_PREFIX-debian" scratch)
  CONTAINERS+=("$ctr")
  mnt=$(bh mount "$ctr")
  log "debootstrap --variant=minbase $DEBIAN_RELEASE from $MIRROR (log: $LOGS/debootstrap.log)"
  if ! debootstrap --variant=minbase --components=main "$DEBIAN_RELEASE" "$mnt" "$MIRROR" \
    >"$LOGS/debootstrap.log" 2>&1; then
    tail -n 20 "$LOGS/debootstrap.log" >&2
    die "debootstrap failed (log: $LOGS/debootstrap.log)"
  fi
  printf '%s\n' "$SLIM_EXCLUDES" >"$mnt/etc/dpkg/dpkg.cfg.d/docker"
  find "$mnt/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$mnt/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$mnt"/usr/share/{man,groff,info,lintian,linda}/*
  find "$mnt/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
  cat >"$mnt/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$mnt/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$mnt/etc/apt/apt.conf.d/docker-gzip-indexes"
  rm -f "$mnt/etc/apt/sources.list"
  cat >"$mnt/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $DEBIAN_RELEASE $DEBIAN_RELEASE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${MIRROR%/debian}/debian-security
Suites: $DEBIAN_RELEASE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  rm -rf "$mnt"/var/lib/apt/lists/* "$mnt"/var/cache/apt/archives/*.deb "$mnt"/var/cache/apt/*.bin \
    "$mnt"/var/cache/ldconfig/aux-cache "$mnt"/var/log/{bootstrap.log,dpkg.log,alternatives.log} \
    "$mnt"/var/log/apt/*
  # The build host's name and resolver are no part of an image (the runtime supplies both).
  : >"$mnt/etc/hostname"
  : >"$mnt/etc/resolv.conf"
  bh umount "$ctr" >/dev/null
  bh config --env "PATH=$DEFAULT_PATH" --cmd bash "$ctr"
  bh commit --quiet --rm "$ctr" "$DEBIAN_IMAGE" >/dev/null
}

# rust:<version>-<release>: the Debian image plus what the build needs from Debian (a C compiler
# and linker for crates with C parts such as ring, CA certificates for crates.io) and this
# machine's toolchain under /usr/local/rustup, cargo and rustc on the PATH through
# /usr/local/cargo/bin, as in the official image. The certificate authorities this machine adds
# to Debian's store (/usr/local/share/ca-certificates) are added too: where HTTPS goes through a
# TLS-inspecting proxy, cargo in the build trusts what cargo on the host trusts.
make_rust_image() {
  local ctr mnt name dest tool
  ctr=$(bh from --pull=never --name "$CTR_PREFIX-rust" "$DEBIAN_IMAGE")
  CONTAINERS+=("$ctr")
  log "apt-get install gcc libc6-dev ca-certificates (log: $LOGS/rust-image.log)"
  if ! bh run --isolation chroot --network host "$ctr" -- sh -euc '
      apt-get update
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates gcc libc6-dev
      rm -rf /var/lib/apt/lists/*' >"$LOGS/rust-image.log" 2>&1; then
    tail -n 20 "$LOGS/rust-image.log" >&2
    die "installing the builder's Debian packages failed (log: $LOGS/rust-image.log)"
  fi
  mnt=$(bh mount "$ctr")
  name=$RUSTC_RELEASE-$RUSTC_HOST
  dest=$mnt/usr/local/rustup/toolchains/$name
  log "copying the toolchain $SYSROOT into the image as $name"
  mkdir -p "$dest" "$mnt/usr/local/cargo/bin"
  # Everything but share/ (documentation and manual pages).
  for dir in bin lib libexec etc; do
    [[ -d $SYSROOT/$dir ]] && cp -a "$SYSROOT/$dir" "$dest/"
  done
  for tool in "$dest"/bin/*; do
    ln -s "../../rustup/toolchains/$name/bin/${tool##*/}" "$mnt/usr/local/cargo/bin/${tool##*/}"
  done
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    mkdir -p "$mnt/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$mnt/usr/local/share/ca-certificates/"
  fi
  bh umount "$ctr" >/dev/null
  bh run --isolation chroot "$ctr" -- update-ca-certificates >>"$LOGS/rust-image.log" 2>&1 ||
    die "update-ca-certificates failed in the builder image (log: $LOGS/rust-image.log)"
  bh config --env RUSTUP_HOME=/usr/local/rustup --env CARGO_HOME=/usr/local/cargo \
    --env "PATH=/usr/local/cargo/bin:$DEFAULT_PATH" --env "RUST_VERSION=$RUSTC_RELEASE" "$ctr"
  local version
  version=$(bh run --isolation chroot "$ctr" -- rustc --version) ||
    die "rustc does not run in the builder image"
  [[ $version == "rustc $RUSTC_RELEASE "* ]] || die "the builder image's rustc says '$version'"
  bh commit --quiet --rm "$ctr" "$RUST_IMAGE" >/dev/null
}

# Makes image $1 with function $2 unless the cached one was made from the same inputs ($3).
cached_image() {
  local image=$1 make=$2 key=$3 key_file
  key_file=$CACHE/keys/${image//[\/:]/_}
  if [[ -f $key_file && $(<"$key_file") == "$key" ]] &&
    bh inspect --type image "$image" >/dev/null 2>&1; then
    log "$image: cached"
    return 0
  fi
  rm -f "$key_file"
  bh rmi "$image" >/dev/null 2>&1 || true
  "$make"
  mkdir -p "$CACHE/keys"
  printf '%s\n' "$key" >"$key_file"
}

image_id() { bh inspect --type image --format '{{.FromImageID}}' "$1"; }

make_base_images() {
  step "base image $DEBIAN_IMAGE"
  cached_image "$DEBIAN_IMAGE" make_debian_image \
    "$( (declare -f make_debian_image; echo "$SLIM_EXCLUDES $DEBIAN_RELEASE $MIRROR") | sha256sum)"
  step "base image $RUST_IMAGE"
  local cas=""
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cas=$(cat /usr/local/share/ca-certificates/*.crt | sha256sum)
  fi
  cached_image "$RUST_IMAGE" make_rust_image \
    "$( (declare -f make_rust_image; echo "$RUSTC_VV $SYSROOT $cas"; image_id "$DEBIAN_IMAGE") | sha256sum)"
}

# --------------------------------------------------------------------------------------------
# 2. The build
# --------------------------------------------------------------------------------------------

build_target() {
  local target=$1 tag=$2
  step "build target $target ($tag)"
  log "buildah bud --target $target (log: $LOGS/build-$target.log)"
  if ! bh bud --isolation chroot --network host --pull=never --file Dockerfile \
    --target "$target" --tag "$tag" . >"$LOGS/build-$target.log" 2>&1; then
    tail -n 60 "$LOGS/build-$target.log" >&2
    die "building target $target failed (log: $LOGS/build-$target.log)"
  fi
}

build_images() {
  build_target runtime "$RUNTIME_IMAGE"
  build_target demo "$DEMO_IMAGE"
  # The images these replaced, now untagged.
  bh rmi --prune >/dev/null 2>&1 || true
}

# --------------------------------------------------------------------------------------------
# 3. Running the images
# --------------------------------------------------------------------------------------------

# A free TCP port on loopback, other than those already handed out.
USED_PORTS=" "
free_port() {
  local port
  for _ in $(seq 200); do
    port=$((20000 + RANDOM % 20000))
    [[ $USED_PORTS == *" $port "* ]] && continue
    if [[ -z $(ss -Htan "sport = :$port") ]]; then
      USED_PORTS+="$port "
      echo "$port"
      return 0
    fi
  done
  die "found no free port on 127.0.0.1"
}

new_container() { # name image
  local ctr
  ctr=$(bh from --pull=never --quiet --name "$CTR_PREFIX-$1" "$2")
  CONTAINERS+=("$ctr")
  echo "$ctr"
}

# Runs a command in container $1 with the configuration every process gets.
run_in() {
  local ctr=$1
  shift
  bh run --isolation chroot --network host --volume "$SECRETS_DIR:/run/adsync:ro" \
    "${RUN_ENV[@]}" "$ctr" -- "$@"
}

start_process() { # name command...
  local name=$1 ctr
  shift
  ctr=$(new_container "$name" "$RUNTIME_IMAGE")
  # A simple command in the background, so that $! is buildah itself (env execs it).
  "${BH[@]}" run --isolation chroot --network host --volume "$SECRETS_DIR:/run/adsync:ro" \
    "${RUN_ENV[@]}" "$ctr" -- "$@" >"$LOGS/$name.log" 2>&1 &
  RUN_PID[$name]=$!
  log "started $name: $*"
}

# The parent pid of process $1 (the field after the command name, which may hold spaces).
parent_of() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  stat=${stat#* }
  echo "${stat%% *}"
}

# Waits until process $1 answers on $2 with 200, failing early if its buildah run ended.
wait_ready() {
  local name=$1 url=$2 deadline=$(($(date +%s) + START_TIMEOUT))
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    alive "${RUN_PID[$name]}" || die "$name exited before answering $url"
    (($(date +%s) < deadline)) || die "$name did not answer $url with 200 within $START_TIMEOUT s"
    sleep 0.2
  done
}

expect_200() {
  local code
  code=$(curl -sS -o /dev/null --max-time 5 -w '%{http_code}' "$1") || code="no answer"
  [[ $code == 200 ]] || die "$1 answered $code, expected 200"
}

# The process listening on port $2 must descend from $1's buildah run, be the image's binary $3
# and run as APP_UID (real, effective, saved and filesystem uid).
check_process() {
  local name=$1 port=$2 binary=$3 pid ancestor exe uids
  pid=$(ss -Hltnp "sport = :$port" | grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)
  [[ -n $pid ]] || die "$name: nothing listens on port $port"
  ancestor=$pid
  while [[ -n $ancestor && $ancestor != 1 && $ancestor != "${RUN_PID[$name]}" ]]; do
    ancestor=$(parent_of "$ancestor") || ancestor=""
  done
  [[ $ancestor == "${RUN_PID[$name]}" ]] ||
    die "$name: port $port is held by pid $pid, which this script did not start"
  exe=$(readlink "/proc/$pid/exe")
  [[ $exe == */rootfs/usr/local/bin/$binary ]] ||
    die "$name: pid $pid runs $exe, not the image's /usr/local/bin/$binary"
  uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")
  [[ $uids == "$APP_UID $APP_UID $APP_UID $APP_UID" ]] ||
    die "$name: pid $pid runs with uids $uids, expected $APP_UID (the image's non-root user)"
  PROCESS_PID[$name]=$pid
  log "$name: pid $pid, /usr/local/bin/$binary from the image, uid $APP_UID, port $port"
}

# SIGTERM to the process itself; it must exit with status 0 within $2 seconds.
stop_process() {
  local name=$1 grace=$2 pid=${RUN_PID[$1]} deadline status=0
  kill -TERM "${PROCESS_PID[$name]}"
  deadline=$(($(date +%s) + grace))
  while alive "$pid"; do
    (($(date +%s) < deadline)) || die "$name did not stop within $grace s of SIGTERM"
    sleep 0.2
  done
  wait "$pid" || status=$?
  unset "RUN_PID[$name]"
  ((status == 0)) || die "$name exited with status $status after SIGTERM"
  log "$name stopped on SIGTERM"
}

declare -A PROCESS_PID=()

run_images() {
  step "services and configuration"
  scripts/services.sh up >&2
  eval "$(scripts/services.sh env)"
  DATABASE=adsync_test_p$$_image
  psql "$ADSYNC_TEST_DATABASE_URL" -q -c "CREATE DATABASE \"$DATABASE\"" >/dev/null ||
    die "could not create database $DATABASE"
  local database_url=${ADSYNC_TEST_DATABASE_URL%/*}/$DATABASE

  # The secrets, as Compose's `secrets` service writes them: a file only the image's user reads.
  SECRETS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/adsync-image-secrets.XXXXXX")
  (
    umask 077
    printf '[crypto.keys]\nprimary = "%s"\n\n[api]\noperator_key = "%s"\n' \
      "$(head -c 32 /dev/urandom | base64)" \
      "$(head -c 33 /dev/urandom | base64 | tr -d '/+=')" >"$SECRETS_DIR/secrets.toml"
  )
  chown "$APP_UID:$APP_UID" "$SECRETS_DIR/secrets.toml"
  chmod 755 "$SECRETS_DIR"

  SANDBOX_PORT=$(free_port)
  API_PORT=$(free_port)
  SCHEDULER_PORT=$(free_port)
  WORKER_PORT=$(free_port)
  local sandbox=http://127.0.0.1:$SANDBOX_PORT
  # docker-compose.yml's x-adsync-environment, with this run's addresses.
  RUN_ENV=()
  local pair
  for pair in \
    "ADSYNC_CONFIG=/run/adsync/secrets.toml" \
    "ADSYNC__DATABASE__URL=$database_url" \
    "ADSYNC__DATABASE__POOL_SIZE=4" \
    "ADSYNC__RABBITMQ__URL=$ADSYNC_TEST_AMQP_URL" \
    "ADSYNC__RABBITMQ__PREFIX=imagecheck$$" \
    "ADSYNC__RABBITMQ__QUEUE_EXPIRES_MS=60000" \
    "ADSYNC__TELEMETRY__LOG_FORMAT=text" \
    "ADSYNC__API__LISTEN=127.0.0.1:$API_PORT" \
    "ADSYNC__SCHEDULER__LISTEN=127.0.0.1:$SCHEDULER_PORT" \
    "ADSYNC__WORKER__LISTEN=127.0.0.1:$WORKER_PORT" \
    "ADSYNC__CONNECTORS__META_ADS__BASE_URL=$sandbox/meta_ads" \
    "ADSYNC__CONNECTORS__META_ADS__TOKEN_URL=$sandbox/meta_ads/v24.0/oauth/access_token" \
    "ADSYNC__CONNECTORS__META_ADS__CLIENT_ID=sandbox-client" \
    "ADSYNC__CONNECTORS__META_ADS__CLIENT_SECRET=sandbox-secret" \
    "ADSYNC__CONNECTORS__GOOGLE_ADS__BASE_URL=$sandbox/google_ads" \
    "ADSYNC__CONNECTORS__GOOGLE_ADS__TOKEN_URL=$sandbox/google_ads/oauth2/token" \
    "ADSYNC__CONNECTORS__GOOGLE_ADS__CLIENT_ID=sandbox-client" \
    "ADSYNC__CONNECTORS__GOOGLE_ADS__CLIENT_SECRET=sandbox-secret" \
    "ADSYNC__CONNECTORS__TIKTOK_ADS__BASE_URL=$sandbox/tiktok_ads/open_api" \
    "ADSYNC__CONNECTORS__TIKTOK_ADS__CLIENT_ID=sandbox-client" \
    "ADSYNC__CONNECTORS__TIKTOK_ADS__CLIENT_SECRET=sandbox-secret" \
    "ADSYNC__CONNECTORS__SNAPCHAT_ADS__BASE_URL=$sandbox/snapchat_ads" \
    "ADSYNC__CONNECTORS__SNAPCHAT_ADS__TOKEN_URL=$sandbox/snapchat_ads/login/oauth2/access_token" \
    "ADSYNC__CONNECTORS__SNAPCHAT_ADS__CLIENT_ID=sandbox-client" \
    "ADSYNC__CONNECTORS__SNAPCHAT_ADS__CLIENT_SECRET=sandbox-secret" \
    "ADSYNC__CONNECTORS__APPSFLYER__BASE_URL=$sandbox/appsflyer/api" \
    "ADSYNC__CONNECTORS__APPSFLYER__CLIENT_ID=sandbox-client" \
    "ADSYNC__CONNECTORS__APPSFLYER__CLIENT_SECRET=sandbox-secret" \
    "ADSYNC__DESTINATIONS__GOOGLE_SHEETS__BASE_URL=$sandbox/google_sheets" \
    "ADSYNC__DESTINATIONS__GOOGLE_SHEETS__TOKEN_URL=$sandbox/google_sheets/oauth2/token" \
    "ADSYNC__DESTINATIONS__GOOGLE_SHEETS__CLIENT_ID=sandbox-client" \
    "ADSYNC__DESTINATIONS__GOOGLE_SHEETS__CLIENT_SECRET=sandbox-secret"; do
    RUN_ENV+=(--env "$pair")
  done

  step "api migrate"
  local ctr uid
  ctr=$(new_container migrate "$RUNTIME_IMAGE")
  uid=$(run_in "$ctr" id -u) || die "id -u failed in the runtime image"
  [[ $uid == "$APP_UID" ]] || die "the runtime image runs commands as uid $uid, expected $APP_UID"
  run_in "$ctr" api migrate >"$LOGS/migrate.log" 2>&1 || {
    tail -n 25 "$LOGS/migrate.log" >&2
    die "api migrate failed (log: $LOGS/migrate.log)"
  }
  log "api migrate: done, as uid $uid"

  step "sandbox, api, scheduler, worker"
  start_process sandbox sandbox --listen "127.0.0.1:$SANDBOX_PORT"
  wait_ready sandbox "$sandbox/_sandbox/health"
  check_process sandbox "$SANDBOX_PORT" sandbox
  start_process api api
  start_process scheduler scheduler
  start_process worker worker
  local name port
  for name in api scheduler worker; do
    case $name in
      api) port=$API_PORT ;;
      scheduler) port=$SCHEDULER_PORT ;;
      worker) port=$WORKER_PORT ;;
    esac
    wait_ready "$name" "http://127.0.0.1:$port/readyz"
    expect_200 "http://127.0.0.1:$port/healthz"
    expect_200 "http://127.0.0.1:$port/readyz"
    expect_200 "http://127.0.0.1:$port/metrics"
    check_process "$name" "$port" "$name"
  done

  step "demo (target demo)"
  ctr=$(new_container demo "$DEMO_IMAGE")
  uid=$(run_in "$ctr" id -u) || die "id -u failed in the demo image"
  [[ $uid == "$APP_UID" ]] || die "the demo image runs commands as uid $uid, expected $APP_UID"
  # docker-compose.yml's command for the demo service.
  # shellcheck disable=SC2016 # expanded by the container's shell
  local command='exec demo --operator-key "$(sed -n '\''s/^operator_key = "\(.*\)"$/\1/p'\'' /run/adsync/secrets.toml)"'
  local status=0
  RUN_ENV+=(--env "ADSYNC_DEMO_API_URL=http://127.0.0.1:$API_PORT"
    --env "ADSYNC_DEMO_SANDBOX_URL=$sandbox")
  run_in "$ctr" sh -c "$command" >"$LOGS/demo.log" 2>&1 || status=$?
  sed 's/^/    /' "$LOGS/demo.log" >&2
  ((status == 0)) || die "the demo exited with status $status"
  grep -Eq '^OK: all [0-9]+ jobs succeeded and the warehouse matches the sandbox' "$LOGS/demo.log" ||
    die "the demo did not print its OK line"
  # The processes are still healthy after the work.
  for port in "$API_PORT" "$SCHEDULER_PORT" "$WORKER_PORT"; do
    expect_200 "http://127.0.0.1:$port/readyz"
  done

  step "SIGTERM"
  # Those that run jobs first, then those they call (the worker's grace is 30 s).
  stop_process worker 45
  stop_process scheduler 30
  stop_process api 30
  stop_process sandbox 30
}

# --------------------------------------------------------------------------------------------
# 4. Sizes
# --------------------------------------------------------------------------------------------

# An image's size as buildah reports it (the sum of its layers, uncompressed, like `docker
# images`), for example "96.3 MB".
image_size() { bh images --noheading --format '{{.Size}}' "$1"; }

# Megabytes (10^6 bytes) in such a size.
megabytes() {
  awk -v size="$1" 'BEGIN {
    split(size, part, " "); n = part[1]
    f["B"] = 1e-6; f["kB"] = 1e-3; f["MB"] = 1; f["GB"] = 1e3; f["TB"] = 1e6
    if (!(part[2] in f)) { print "unknown size " size > "/dev/stderr"; exit 1 }
    printf "%.1f\n", n * f[part[2]] }'
}

report() {
  end_step
  local image size runtime_mb ctr mnt binary
  echo "Images (uncompressed, as \`docker images\` counts):"
  for image in "$RUNTIME_IMAGE" "$DEMO_IMAGE" "$DEBIAN_IMAGE" "$RUST_IMAGE"; do
    size=$(image_size "$image")
    [[ $image == "$RUNTIME_IMAGE" ]] && runtime_mb=$(megabytes "$size")
    image=${image#localhost/}
    printf '  %-44s %10s\n' "${image#docker.io/library/}" "$size"
  done
  ctr=$(new_container sizes "$DEMO_IMAGE")
  mnt=$(bh mount "$ctr")
  echo "Binaries in /usr/local/bin:"
  for binary in api scheduler worker sandbox demo; do
    printf '  %-44s %7.1f MB\n' "$binary" \
      "$(awk -v b="$(stat -c %s "$mnt/usr/local/bin/$binary")" 'BEGIN { print b / 1e6 }')"
  done
  bh umount "$ctr" >/dev/null
  echo "Time:"
  printf '%s\n' "${TIMES[@]}"
  printf '  %-44s %5d s\n' total $(($(date +%s) - T_START))
  # CPU time of this script and everything it waited for (the compilers among them), a figure
  # that does not depend on what else the machine was doing.
  times | tail -n 1 | awk '{ printf "  %-44s %s user, %s system\n", "CPU time of the processes it started", $1, $2 }'
  awk -v mb="$runtime_mb" -v max="$MAX_MB" 'BEGIN { exit !(mb <= max) }' ||
    die "the runtime image is $runtime_mb MB, more than ADSYNC_IMAGE_MAX_MB=$MAX_MB"
}

# --------------------------------------------------------------------------------------------

case ${1:-} in
  "") ;;
  clean)
    ((EUID == 0)) || die "needs root"
    if [[ -d $CACHE ]]; then
      mkdir -p "$CACHE/tmp"
      bh rm --all >/dev/null 2>&1 || true
      bh rmi --all --force >/dev/null 2>&1 || true
      rm -rf "$CACHE"
    fi
    log "deleted $CACHE"
    exit 0
    ;;
  help | -h | --help)
    usage
    exit 0
    ;;
  *) die "unknown argument '$1' (see scripts/image-check.sh help)" ;;
esac

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
prepare
make_base_images
build_images
run_images
report
log "OK: built the Dockerfile's runtime and demo targets and ran them ($(($(date +%s) - T_START)) s)"
