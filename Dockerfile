# One container: the scheduler daemon and the response web endpoint (`nps-worker run`).
#
# The base image is pinned by digest, so a rebuild gets the same Python and Debian packages.
# To move to a newer python:3.11-slim, read its digest and replace the one below:
#   docker buildx imagetools inspect python:3.11-slim --format '{{json .Manifest.Digest}}'
# (or let Dependabot/Renovate open that change). Override for one build with
#   docker build --build-arg PYTHON_IMAGE=python:3.11-slim@sha256:<digest> .
ARG PYTHON_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NPS_WORKER_CONFIG=/config/config.yaml

WORKDIR /src
# Dependencies first, from the lock file: this layer is rebuilt only when the lock changes,
# not on every change to the source.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY migrations ./migrations
COPY salesforce ./salesforce
RUN pip install --no-deps . && rm -rf /src

RUN useradd --system --uid 10001 --home-dir /data nps \
    && mkdir -p /data /config && chown nps /data
USER nps
# The default database URL is sqlite:///./data/nps.db, relative to this directory: /data/nps.db.
WORKDIR /
VOLUME ["/data"]
EXPOSE 8080

# Asks /healthz on the host and port the mounted config gives (server.host, server.port).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["nps-worker", "healthcheck"]

ENTRYPOINT ["nps-worker"]
# --migrate: a fresh /data volume is upgraded on first start (run `migrate` once for replicas).
CMD ["run", "--migrate"]
