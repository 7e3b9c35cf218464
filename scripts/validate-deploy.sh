#!/usr/bin/env bash
# Validates adsync's deployment files without a Docker engine or a cluster: the Kubernetes
# manifests (kustomize overlays and every base and component file) against the Kubernetes schemas
# shipped by kubernetes-validate and, for KEDA and the Prometheus Operator, the local schemas in
# deploy/schemas; the Prometheus configuration and alert rules (with their unit tests) and the
# dashboard's queries with promtool; docker-compose.yml against the Compose Specification subset
# in deploy/schemas; and the cross-references a schema cannot see (scripts/validate_deploy.py
# lists them).
#
# Usage: scripts/validate-deploy.sh [--metrics <url>...]
#
#   --metrics <url>...  also lint the exposition of running processes with `promtool check
#                       metrics`, e.g. http://127.0.0.1:9091/metrics of a worker started by
#                       scripts/demo.sh (the files are checked first either way).
#
# Installs what it needs when missing, without asking: python3 and promtool (Debian package
# `prometheus`) with apt-get, and PyYAML, jsonschema and kubernetes-validate with pip into a
# virtual environment under target/validate-deploy-venv (Debian's python refuses system-wide pip
# installs). Kustomize: `kubectl kustomize` when kubectl is installed, else a small renderer in
# scripts/validate_deploy.py that supports what our kustomizations use; with kubectl both run and
# must agree. Exits non-zero on any failure. Works as root on a fresh Debian machine; as another
# user, install python3-venv and prometheus first.
set -euo pipefail

ROOT=$(cd -P -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

VENV=$ROOT/target/validate-deploy-venv

METRICS_URLS=()
while (($# > 0)); do
  case $1 in
    --metrics)
      shift
      (($# > 0)) || { echo "validate-deploy: --metrics needs at least one URL" >&2; exit 2; }
      while (($# > 0)) && [[ $1 != --* ]]; do METRICS_URLS+=("$1"); shift; done
      ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "validate-deploy: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
KUBERNETES_VALIDATE_VERSION=1.37.0

log() { printf 'validate-deploy: %s\n' "$*" >&2; }
die() { printf 'validate-deploy: error: %s\n' "$*" >&2; exit 1; }

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "need $* but apt-get is not available; install them first"
  ((EUID == 0)) || die "need $* (apt-get install $*), which needs root"
  if ((APT_UPDATED == 0)); then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  # The prometheus package would start its daemon where an init system runs; policy-rc.d tells
  # invoke-rc.d not to start services during this install.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
    { ((created_policy)) && rm -f "$policy"; die "apt-get install $* failed"; }
  ((created_policy)) && rm -f "$policy"
  return 0
}

# --- tools ------------------------------------------------------------------------------------

missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
((${#missing[@]} == 0)) || apt_install "${missing[@]}"

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  die "python 3.11 or newer is needed (tomllib); found $(python3 --version)"

venv_ready() {
  [[ -x $VENV/bin/python ]] && "$VENV/bin/python" - "$KUBERNETES_VALIDATE_VERSION" >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
import jsonschema, kubernetes_validate, yaml
sys.exit(version("kubernetes-validate") != sys.argv[1])
PY
}
make_venv() { rm -rf "$VENV" && python3 -m venv "$VENV" >/dev/null 2>&1; }

if ! venv_ready; then
  log "installing PyYAML, jsonschema and kubernetes-validate $KUBERNETES_VALIDATE_VERSION into ${VENV#"$ROOT"/}"
  # Debian's python3 creates virtual environments only with the python3-venv package.
  make_venv || { apt_install python3-venv && make_venv; } || die "cannot create a virtual environment in $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" jsonschema pyyaml
  venv_ready || die "the packages in $VENV do not import"
fi

# --- checks -----------------------------------------------------------------------------------

status=0
run() {
  log "$*"
  "$@" || status=1
}

run promtool check config deploy/prometheus/prometheus.yml
run promtool check rules deploy/prometheus/alerts.yml
run promtool test rules deploy/prometheus/alerts.test.yml
run "$VENV/bin/python" scripts/validate_deploy.py

# promtool reads the exposition from stdin; python fetches it (curl may not be installed).
for url in "${METRICS_URLS[@]}"; do
  log "promtool check metrics < $url"
  "$VENV/bin/python" -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1], timeout=10).read())' "$url" |
    promtool check metrics || status=1
done

if ((status != 0)); then
  log "FAILED (see above)"
  exit 1
fi
log "all deployment checks passed"
