#!/usr/bin/env bash
# Runs adsync's whole test suite on this machine: starts PostgreSQL and RabbitMQ on loopback
# (installing them first if they are missing), checks the deployment files (installing promtool
# and the validators), with ADSYNC_IMAGE_CHECK=1 builds and runs the container image
# (scripts/image-check.sh), then runs every test of every crate.
# Extra arguments go to `cargo nextest run` (for example a test name filter).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

scripts/services.sh up >&2
eval "$(scripts/services.sh env)"
scripts/validate-deploy.sh >&2

# Databases left behind by interrupted runs: each test (or benchmark) database is named after
# the process that made it (adsync_test_p<pid>_<uuid>, adsync_bench_p<pid>_<scenario>), so only
# those of processes that are gone are dropped and a run going on in another checkout keeps its own.
psql "$ADSYNC_TEST_DATABASE_URL" -qAt \
  -c "SELECT datname FROM pg_database WHERE datname LIKE 'adsync\_test\_%' OR datname LIKE 'adsync\_bench\_p%'" |
  while read -r stale; do
    if [[ $stale =~ ^adsync_(test|bench)_p([0-9]+)_ ]] && kill -0 "${BASH_REMATCH[2]}" 2>/dev/null; then
      continue
    fi
    psql "$ADSYNC_TEST_DATABASE_URL" -q -c "DROP DATABASE IF EXISTS \"$stale\" WITH (FORCE)"
  done

# The container image, built from the Dockerfile and run (scripts/image-check.sh): long (a
# release build inside the image), so only when asked; CI asks (.ci/run).
if [[ ${ADSYNC_IMAGE_CHECK:-0} == 1 ]]; then
  scripts/image-check.sh >&2
fi

if ! cargo nextest --version >/dev/null 2>&1; then
  echo "cargo-nextest is missing; installing it" >&2
  cargo install --locked cargo-nextest
fi
exec cargo nextest run --workspace --no-fail-fast "$@"
