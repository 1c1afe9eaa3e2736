"""`nps-worker run`'s listeners: answer pages for the world, /metrics on loopback only.

The answer port is public (it is in every survey mail); Prometheus metrics describe the
worker's traffic and failures, so they are served on a listener of their own, by default on
127.0.0.1, that an operator exposes only to the scraper.
"""

from pathlib import Path

import requests

from tests.e2e.crm_setup import ENV
from tests.e2e.loop_harness import free_port
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
