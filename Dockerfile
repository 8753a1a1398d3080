# syntax=docker/dockerfile:1
#
# The devgen platform: one image, any service by its command.
#
#   docker build -t devgen .
#   docker run devgen serve identity --host 0.0.0.0      # one service (runs as uid 10001)
#   docker run --user 0 --cap-add SYS_ADMIN --cap-add MKNOD \
#     --security-opt systempaths=unconfined --security-opt apparmor=unconfined \
#     -p 8000:8000 devgen up --host 0.0.0.0             # all-in-one (contains the executor)
#
# The executor (and so the all-in-one) needs root and a few rights from its container:
# docs/deploy.md, "What the executor needs from its container".
#
# BASE_IMAGE must be Debian bookworm or a derivative (apt-get, python3 >= 3.11 from its
# packages): the runtime stage uses Debian's python3 at /usr, which the sandbox binds
# read-only into every execution.
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS os
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
# What every stage needs from the distribution. A base image that already carries these
# packages (the tests import one made with debootstrap) skips the download.
# Not pinned (DL3008): bookworm's archive keeps only the current point release of each,
# so a pinned version stops building at its next security update. $packages is split
# into words on purpose (SC2086).
# hadolint ignore=DL3008,SC2086
RUN packages="python3 python3-venv bubblewrap libseccomp2 ca-certificates tini"; \
    if dpkg -s $packages >/dev/null 2>&1; then \
        echo "the base image has every package"; \
    else \
        apt-get update \
        && apt-get install -y --no-install-recommends $packages \
        && rm -rf /var/lib/apt/lists/*; \
    fi; \
    python3 -c 'import sys; assert sys.version_info >= (3, 11), sys.version'

FROM os AS deps
# The dependencies alone, from pyproject.toml and an empty package: this layer is
# rebuilt only when pyproject.toml changes, not on every change to the code.
# pip's own settings, for the build only: a mirror (PIP_INDEX_URL), or an offline build
# from a wheelhouse the builder mounts (PIP_NO_INDEX=1, PIP_FIND_LINKS=/wheels and, with
# podman, --volume ./wheelhouse:/wheels).
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_NO_INDEX
WORKDIR /src
COPY pyproject.toml README.md ./
# An optional CA bundle for a TLS-intercepting proxy: --secret id=pip-ca,src=FILE.
# The pip cache survives between builds (BuildKit and buildah cache mounts).
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi; \
    mkdir -p src/devgen examples && touch src/devgen/__init__.py \
    && python3 -m venv /opt/devgen \
    && /opt/devgen/bin/pip install --disable-pip-version-check --no-input "/src[distributed]" \
    && /opt/devgen/bin/pip uninstall --yes devgen \
    && rm -rf /src/src

FROM deps AS build
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_NO_INDEX
COPY src ./src
COPY examples ./examples
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi; \
    /opt/devgen/bin/pip wheel --disable-pip-version-check --no-input --no-deps \
        --wheel-dir /wheels /src \
    && /opt/devgen/bin/pip install --no-deps --no-index /wheels/devgen-*.whl
# The sandbox's built-in environment (pytest, FastAPI, ...) is built now, so an
# executor runs the generated tests without reaching a package index. The build locks
# (root's, 0600) go: an executor makes its own, and a copy of the directory (the
# Kubernetes init container) must be able to read every file.
COPY deploy/docker/prebuild_environments.py /usr/local/lib/devgen/
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=secret,id=pip-ca \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi; \
    /opt/devgen/bin/python /usr/local/lib/devgen/prebuild_environments.py \
    && rm -f /var/cache/devgen-executor/environments/*.lock

FROM os AS runtime
LABEL org.opencontainers.image.title="devgen" \
      org.opencontainers.image.description="devgen platform: devgen up | devgen serve <service>" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=deps /opt/devgen /opt/devgen
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    /opt/devgen/bin/pip install --disable-pip-version-check --no-deps --no-index \
        /wheels/devgen-*.whl
COPY --from=build /var/cache/devgen-executor /var/cache/devgen-executor
COPY deploy/docker/healthcheck.py /usr/local/lib/devgen/healthcheck.py
# uid 10001: every service but the executor runs unprivileged. The data directory is
# the service's own (SQLite files, local blobs); 0700 like the platform makes it.
RUN groupadd --system --gid 10001 devgen \
    && useradd --system --uid 10001 --gid devgen --home-dir /var/lib/devgen \
        --shell /usr/sbin/nologin devgen \
    && install -d -o devgen -g devgen -m 0700 /var/lib/devgen
ENV PATH=/opt/devgen/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DEVGEN_DATA_DIR=/var/lib/devgen
WORKDIR /var/lib/devgen
USER 10001:10001
# gateway (and the all-in-one) 8000; identity 8001 ... orchestrator 8007.
EXPOSE 8000 8001 8002 8003 8004 8005 8006 8007
# Asks /health of whatever `devgen serve <service> [--port N]` or `devgen up` listens on.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/opt/devgen/bin/python", "/usr/local/lib/devgen/healthcheck.py"]
# tini reaps what the sandbox's launcher leaves behind and forwards SIGTERM.
ENTRYPOINT ["/usr/bin/tini", "--", "/opt/devgen/bin/devgen"]
CMD ["up", "--host", "0.0.0.0"]
