# One container: the scheduler daemon and the response web endpoint (`nps-worker run`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NPS_WORKER_CONFIG=/config/config.yaml

WORKDIR /src
COPY pyproject.toml README.md ./
COPY worker ./worker
COPY migrations ./migrations
COPY salesforce ./salesforce
RUN pip install . && rm -rf /src

RUN useradd --system --uid 10001 --home-dir /data nps \
    && mkdir -p /data /config && chown nps /data
USER nps
# The default database URL is sqlite:///./data/nps.db, relative to this directory: /data/nps.db.
WORKDIR /
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]

ENTRYPOINT ["nps-worker"]
# --migrate: a fresh /data volume is upgraded on first start (run `migrate` once for replicas).
CMD ["run", "--migrate"]
