# syntax=docker/dockerfile:1
#
# One image for every adsync process: `api` (also `api migrate`), `scheduler`, `worker` and the
# `sandbox` that imitates the platforms. Pick the process with the container's command.
#
#   docker build -t adsync .                 # the runtime image (the default, last stage)
#   docker build --target demo -t adsync-demo .   # the same plus the demo driver (compose demo)
#
# The build needs the whole workspace (cargo resolves every member of Cargo.toml's workspace),
# builds with the committed Cargo.lock (--locked) and caches the registry and target directory
# between builds with BuildKit cache mounts.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
WORKDIR /src
COPY . .
# The target directory is a cache mount, so the binaries are copied out in the same step, without
# their debug info: the release profile keeps line tables for backtraces on a developer's machine,
# which would make the image's binaries four times larger. The symbol table stays, so a backtrace
# still names the functions.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    set -eux; \
    cargo build --release --locked \
        --bin api --bin scheduler --bin worker --bin sandbox; \
    mkdir -p /out; \
    for bin in api scheduler worker sandbox; do \
        strip --strip-debug -o "/out/$bin" "target/release/$bin"; \
    done

# The demo driver lives in the dev-only testkit crate; only the demo target builds it.
FROM builder AS demo-builder
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    set -eux; \
    cargo build --release --locked --bin demo; \
    strip --strip-debug -o /out/demo target/release/demo

FROM debian:${DEBIAN_RELEASE}-slim AS base
# ca-certificates: TLS to the platforms' APIs. curl: container health checks (docker-compose.yml)
# and an operator's first debugging tool; Kubernetes probes do not need it.
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl; \
    rm -rf /var/lib/apt/lists/*; \
    groupadd --system --gid 10001 adsync; \
    useradd --system --uid 10001 --gid adsync --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin adsync
COPY --from=builder /out/api /out/scheduler /out/worker /out/sandbox /usr/local/bin/
# In a container every process listens on all interfaces (the defaults in config/default.toml
# are loopback addresses for a developer's machine). Logs are JSON for log collectors.
ENV ADSYNC__API__LISTEN=0.0.0.0:8080 \
    ADSYNC__SCHEDULER__LISTEN=0.0.0.0:9092 \
    ADSYNC__WORKER__LISTEN=0.0.0.0:9091 \
    ADSYNC__TELEMETRY__LOG_FORMAT=json \
    SANDBOX_LISTEN=0.0.0.0:9100
# api: HTTP API, /healthz, /readyz, /metrics; 9091 worker and 9092 scheduler: health and
# metrics; 9100: the sandbox.
EXPOSE 8080 9091 9092 9100
USER 10001:10001
CMD ["api"]

# The runtime image plus the demo driver (testkit/src/bin/demo.rs) that docker-compose.yml runs.
FROM base AS demo
COPY --from=demo-builder /out/demo /usr/local/bin/demo
CMD ["demo"]

# The default target: the runtime image without the demo driver.
FROM base AS runtime
