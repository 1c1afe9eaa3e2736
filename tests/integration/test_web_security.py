"""CSRF, rate limit, headers, body limits, probes, metrics and the signed import endpoint."""

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from ipaddress import ip_network
from typing import Any

import pytest
from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from tests.integration.web_support import BROWSER, HOOKS_SECRET, Harness, form_token, web_config
from worker.store.engine import session_factory
from worker.store.models import Survey
from worker.surveys.web.hooks import signature


@pytest.fixture
def web(engine: Engine) -> Harness:
    """The app on the module's migrated store."""
    return Harness(session_factory(engine))


class TestCsrf:
    """The answer form only counts with the form token of its own page."""

    @pytest.mark.parametrize(
        "form",
        [
            pytest.param(None, id="missing"),
            pytest.param("forged", id="forged"),
        ],
    )
    def test_post_without_its_form_token_is_refused(self, web: Harness, form: str | None) -> None:
        """403 with the page again (a fresh token, what was typed kept), nothing stored."""
        link = web.survey()
        fields = {"score": "3", "comment": "kept text"} | ({"form": form} if form else {})

        page = web.client.post(link.page(), data=fields)

        assert page.status_code == 403
        assert "kept text" in page.text
        assert form_token(page.text)
        assert web.response(link) is None

    def test_form_token_of_another_survey_is_refused(self, web: Harness) -> None:
        """A token lifted from one page does not work on another link."""
        mine, other = web.survey(), web.survey()

        page = web.post(mine, {"score": "3"}, web.open(other))

        assert page.status_code == 403
        assert web.response(mine) is None

    def test_form_token_expires_after_a_day(self, web: Harness) -> None:
        """A page left open for more than a day must be sent again."""
        link = web.survey()
        token = web.open(link)
        web.clock.advance(timedelta(hours=25))

        assert web.post(link, {"score": "3"}, token).status_code == 403


class TestRateLimit:
    """Per client IP, a token bucket; beyond it 429 with Retry-After."""

    def test_burst_then_429_then_refill(self, engine: Engine) -> None:
        """Three requests pass, the fourth waits; a second later one more passes."""
        web = Harness(session_factory(engine), config=web_config(per_minute=60, burst=3))
        link = web.survey()

        statuses = [web.client.get(link.page()).status_code for _ in range(4)]
        refused = web.client.get(link.page())
        web.monotonic.seconds += 1.0
        again = web.client.get(link.page())

        assert statuses == [200, 200, 200, 429]
        assert refused.headers["Retry-After"] == "1"
        assert again.status_code == 200
        assert "nps_web_rate_limited_total 2.0" in web.metrics_client.get("/metrics").text

    def test_probes_are_never_limited(self, engine: Engine) -> None:
        """Health checks from the platform pass whatever the rate."""
        web = Harness(session_factory(engine), config=web_config(per_minute=1, burst=1))

        assert {web.client.get("/healthz").status_code for _ in range(5)} == {200}

    @pytest.mark.parametrize(
        ("trusted", "second_status"),
        [
            pytest.param((), 429, id="untrusted-header-ignored"),
            pytest.param((ip_network("10.0.0.0/8"),), 404, id="trusted-proxy"),
        ],
    )
    def test_forwarded_for_counts_only_from_trusted_proxies(
        self, engine: Engine, trusted: tuple[Any, ...], second_status: int
    ) -> None:
        """Behind a configured proxy, X-Forwarded-For tells clients apart; else it is ignored."""
        web = Harness(
            session_factory(engine),
            config=web_config(per_minute=60, burst=1, trusted_proxies=trusted),
        )
        proxy = TestClient(web.app, client=("10.0.0.5", 40000))

        proxy.get("/nowhere", headers={"X-Forwarded-For": "198.51.100.7"})
        second = proxy.get("/nowhere", headers={"X-Forwarded-For": "198.51.100.8"})

        assert second.status_code == second_status


class TestHeaders:
    """Every response carries the strict headers; the page needs nothing external."""

    def test_strict_headers_on_the_page(self, web: Harness) -> None:
        """CSP forbids everything but the page's own hashed style and script."""
        link = web.survey()

        page = web.client.get(link.page(5))

        headers = page.headers
        csp = headers["Content-Security-Policy"]
        assert csp.startswith("default-src 'none'")
        assert "frame-ancestors 'none'" in csp
        assert re.search(r"style-src 'sha256-[A-Za-z0-9+/=]+'", csp)
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        assert not re.search(r"(src|href)=\"(https?:)?//", page.text)

    def test_no_hsts_on_plain_http(self, engine: Engine) -> None:
        """HSTS only when the public URL is https."""
        config = web_config()
        config = config.model_copy(
            update={"survey": config.survey.model_copy(update={"base_url": "http://localhost"})}
        )
        web = Harness(session_factory(engine), config=config)

        assert "Strict-Transport-Security" not in web.client.get("/healthz").headers

    def test_unknown_path_is_a_plain_404_page(self, web: Harness) -> None:
        """Not Starlette's text: the same plain page, with the headers."""
        page = web.client.get("/admin")

        assert page.status_code == 404
        assert "<h1>Page not found</h1>" in page.text
        assert "Content-Security-Policy" in page.headers


class TestBodies:
    """Bodies are bounded and of the form type."""

    def test_too_large_body_is_413(self, web: Harness) -> None:
        """A body past server.max_body_bytes is refused before it is read."""
        link = web.survey()

        page = web.post(link, {"score": "3", "comment": "x" * 20_000})

        assert page.status_code == 413
        assert web.response(link) is None

    def test_json_body_is_415(self, web: Harness) -> None:
        """The answer form takes URL-encoded forms only."""
        link = web.survey()

        page = web.client.post(link.page(), json={"score": 3})

        assert page.status_code == 415


class TestProbes:
    """/healthz and /readyz on the answer port; /metrics on a listener of its own."""

    def test_health_and_readiness(self, web: Harness) -> None:
        """Alive, and ready since the store is migrated to head."""
        assert web.client.get("/healthz").text == "ok"
        assert web.client.get("/readyz").status_code == 200

    def test_not_ready_when_the_store_is_behind(self, tmp_path: Any) -> None:
        """A database not migrated to head is reported not ready (503)."""
        from worker.store.engine import make_engine
        from worker.store.migrate import upgrade

        url = f"sqlite:///{tmp_path / 'old.db'}"
        upgrade(url, "0002")
        web = Harness(session_factory(make_engine(url)))

        ready = web.client.get("/readyz")

        assert ready.status_code == 503
        assert "revision 0002" in ready.text

    def test_metrics_count_answers_and_rejections(self, web: Harness) -> None:
        """Outcomes, refused tokens and latency are exposed for Prometheus."""
        link = web.survey()
        web.client.get(link.page(9))
        web.post(link, {"score": "9"})
        web.client.get("/s/nonsense")

        text = web.metrics_client.get("/metrics").text

        assert 'nps_web_answers_total{outcome="provisional"} 1.0' in text
        assert 'nps_web_answers_total{outcome="answered"} 1.0' in text
        assert 'nps_web_rejected_tokens_total{reason="bad_signature"} 1.0' in text
        assert 'nps_web_request_seconds_count{route="answer"}' in text

    def test_the_answer_port_does_not_serve_metrics(self, web: Harness) -> None:
        """Whoever reaches the survey pages (anyone on the internet) cannot read /metrics."""
        assert web.client.get("/metrics").status_code == 404


class TestSignedImport:
    """POST /hooks/answers: HMAC over timestamp and body, five minutes of tolerance."""

    @pytest.fixture
    def received(self) -> list[Any]:
        """Documents the import handler was given."""
        return []

    @pytest.fixture
    def hooked(self, engine: Engine, received: list[Any]) -> Harness:
        """The app with an import handler that records what it gets."""

        def handler(document: Any, _now: Any) -> dict[str, int]:
            if not isinstance(document, dict):
                raise ValueError("expected an object with 'answers'")
            received.append(document)
            return {"imported": len(document.get("answers", []))}

        return Harness(session_factory(engine), import_handler=handler)

    def _post(self, web: Harness, body: bytes, *, skew: int = 0, secret: str = HOOKS_SECRET) -> Any:
        timestamp = str(int(web.clock.now.timestamp()) + skew)
        return web.client.post(
            "/hooks/answers",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-NPS-Timestamp": timestamp,
                "X-NPS-Signature": signature(secret.encode(), timestamp, body),
            },
        )

    def test_signed_request_is_imported(self, hooked: Harness, received: list[Any]) -> None:
        """A correctly signed, fresh request reaches the import handler."""
        body = json.dumps({"answers": [{"email": "a@example.com", "score": 9}]}).encode()

        answer = self._post(hooked, body)

        assert (answer.status_code, answer.json()) == (200, {"imported": 1})
        assert received == [json.loads(body)]

    @pytest.mark.parametrize(
        ("options", "status"),
        [
            pytest.param({"secret": "wrong-" + "w" * 32}, 401, id="wrong-secret"),
            pytest.param({"skew": -301}, 401, id="replayed-late"),
            pytest.param({"skew": 301}, 401, id="from-the-future"),
        ],
    )
    def test_unsigned_or_stale_requests_are_refused(
        self, hooked: Harness, received: list[Any], options: dict[str, Any], status: int
    ) -> None:
        """Nothing reaches the handler without a valid, fresh signature."""
        answer = self._post(hooked, b'{"answers": []}', **options)

        assert answer.status_code == status
        assert received == []

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            pytest.param(b"not json", 400, id="not-json"),
            pytest.param(b"[" * 5000 + b"]" * 5000, 400, id="deeply-nested"),
            pytest.param(b"[1, 2]", 422, id="refused-by-handler"),
        ],
    )
    def test_bad_documents_are_4xx(self, hooked: Harness, body: bytes, status: int) -> None:
        """A signed but unusable document is a 4xx, never a 5xx."""
        assert self._post(hooked, body).status_code == status

    def test_endpoint_absent_without_handler(self, web: Harness) -> None:
        """Without an import handler there is no import endpoint."""
        assert web.client.post("/hooks/answers", content=b"{}").status_code == 404


class TestStoreWorkOnlyWhenNeeded:
    """Refusals that need no data come before the store; reads never wait for the write lock."""

    @pytest.fixture
    def statements(self, web: Harness) -> Iterator[list[str]]:
        """Every SQL statement the app's engine runs while the test's request is handled."""
        engine = web.sessions.kw["bind"]
        seen: list[str] = []

        def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        yield seen
        event.remove(engine, "before_cursor_execute", record)

    def test_an_oversized_answer_is_refused_before_any_database_work(
        self, web: Harness, statements: list[str]
    ) -> None:
        """A 1 MB POST gets 413 with no SQL run, whatever the store is doing."""
        link = web.survey()
        statements.clear()

        answer = web.client.post(
            link.page(),
            content=b"score=9&comment=" + b"x" * 1_000_000,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

        assert answer.status_code == 413
        assert statements == []

    def test_pages_and_oversized_posts_while_a_writer_holds_the_store(self, web: Harness) -> None:
        """A cycle's open write transaction: the page is shown, a 1 MB POST is a 413, not 503."""
        link = web.survey()
        with web.sessions() as writer, writer.begin():
            writer.execute(
                update(Survey).where(Survey.id == link.survey_id).values(state_reason="planning")
            )

            page = web.client.get(link.page(), headers={"User-Agent": BROWSER})
            oversized = web.client.post(
                link.page(),
                content=b"score=9&comment=" + b"x" * 1_000_000,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )

        assert (page.status_code, oversized.status_code) == (200, 413)

    def test_an_oversized_unsubscribe_is_refused_before_any_database_work(
        self, web: Harness, statements: list[str]
    ) -> None:
        """The unsubscribe form too: 413 with no SQL run."""
        link = web.survey()
        statements.clear()

        answer = web.client.post(
            f"/u/{link.unsubscribe}",
            content=b"form=x&pad=" + b"x" * 1_000_000,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

        assert answer.status_code == 413
        assert statements == []
