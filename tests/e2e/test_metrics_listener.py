"""`nps-worker run`'s listeners: answer pages for the world, /metrics on loopback only.

The answer port is public (it is in every survey mail); Prometheus metrics describe the
worker's traffic and failures, so they are served on a listener of their own, by default on
127.0.0.1, that an operator exposes only to the scraper.
"""

import re
import tomllib
from pathlib import Path

import pytest
import requests

from tests.e2e.crm_setup import ENV
from tests.e2e.loop_harness import free_port
from worker.cli import main
from worker.config import parse_config
from worker.runtime import open_store, serving
from worker.store.migrate import upgrade


def test_metrics_are_served_apart_from_the_answer_pages(tmp_path: Path) -> None:
    """/metrics answers on the configured metrics port, and is not found on the answer port."""
    database = f"sqlite:///{tmp_path / 'nps.db'}"
    port, metrics_port = free_port(), free_port()
    config = parse_config(
        f"database: {{url: '{database}'}}\n"
        "crm: {kind: salesforce}\n"
        f"server: {{host: 127.0.0.1, port: {port}, metrics: {{port: {metrics_port}}}}}\n",
        env=ENV,
    )
    upgrade(database)
    store = open_store(config)
    env = {"NPS_TOKEN_SECRET": "metrics-" + "m" * 32}
    try:
        with serving(config, store, env=env) as listeners:
            answers = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
            health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            scraped = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
            assert listeners.metrics_port == metrics_port
    finally:
        store.engine.dispose()

    assert (answers.status_code, health.status_code) == (404, 200)
    assert scraped.status_code == 200
    assert "nps_web_request_seconds_count" in scraped.text
    assert config.server.metrics.host == "127.0.0.1", "loopback unless the operator says so"


def test_healthcheck_asks_the_configured_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`nps-worker healthcheck` (the image's HEALTHCHECK) finds the answer port the config
    sets, not a fixed 8080: 0 while the worker serves, 1 once it is gone."""
    database = f"sqlite:///{tmp_path / 'nps.db'}"
    port = free_port()
    path = tmp_path / "config.yaml"
    path.write_text(
        f"database: {{url: '{database}'}}\ncrm: {{kind: salesforce}}\n"
        f"server: {{host: 0.0.0.0, port: {port}, metrics: {{port: null}}}}\n",
        encoding="utf-8",
    )
    config = parse_config(path.read_text(encoding="utf-8"), str(path), env=ENV)
    upgrade(database)
    store = open_store(config)
    env = {"NPS_TOKEN_SECRET": "health-" + "h" * 32}
    try:
        with serving(config, store, env=env):
            assert main(["healthcheck", "--config", str(path)]) == 0
    finally:
        store.engine.dispose()
    assert main(["healthcheck", "--config", str(path)]) == 1


def test_the_image_installs_locked_dependencies_before_the_source() -> None:
    """Dockerfile: a digest-pinned base, the lock installed before any source is copied, the
    lock naming every runtime dependency, and the healthcheck reading the config."""
    root = Path(__file__).parents[2]
    lines = (root / "Dockerfile").read_text(encoding="utf-8").splitlines()
    index = {line: number for number, line in enumerate(lines)}
    assert any(line.startswith("ARG PYTHON_IMAGE=python:3.11-slim@sha256:") for line in lines)
    assert index["RUN pip install --no-deps -r requirements.lock"] < index["COPY worker ./worker"]
    assert 'CMD ["nps-worker", "healthcheck"]' in [line.strip() for line in lines]
    locked = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (root / "requirements.lock").read_text(encoding="utf-8").splitlines()
        if "==" in line
    }
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = {
        re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        for requirement in project["project"]["dependencies"]
    }
    assert wanted <= locked, wanted - locked
