"""Logging: one configuration for structlog and stdlib, and no personal data or secret in output."""

import json
import logging

import pytest
import structlog
from structlog.testing import capture_logs

from worker.logs import REDACTED, Redactor, configure_logging

SECRET = "s3cr3t-client-secret-value"


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> pytest.CaptureFixture[str]:
    """Logging configured as in the container (JSON), with one known secret registered."""
    configure_logging(level="DEBUG", fmt="json", secrets=[SECRET])
    capsys.readouterr()
    return capsys


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]


class TestRedactor:
    """The redaction processor, seen through `capture_logs`."""

    @pytest.mark.parametrize(
        ("value", "leak"),
        [
            pytest.param("mail from jane.doe+nps@example.co.jp failed", "jane.doe", id="email"),
            pytest.param("call +1 415 555 0100 today", "555 0100", id="phone-international"),
            pytest.param("携帯 090-1234-5678 まで", "1234-5678", id="phone-japanese"),
            pytest.param(
                "Authorization: Bearer 00Dxx0000001gPL!AQ4AQFake", "AQ4AQFake", id="bearer"
            ),
            pytest.param("jwt eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl", "eyJzdWIiOiIx", id="jwt"),
            pytest.param(
                "token pat-na1-11111111-2222-3333-4444-555555555555", "pat-na1", id="hubspot"
            ),
            pytest.param(f"login with {SECRET} now", SECRET, id="registered-secret"),
            pytest.param(
                'violates check constraint "x"\nDETAIL:  Failing row contains (7, Call me\n'
                "back, 2).\n[SQL: INSERT INTO responses ...]",
                "Call me",
                id="postgres-row-detail",
            ),
            pytest.param(
                "duplicate key\nDETAIL:  Key (name)=(Hanako Sato) already exists.",
                "Hanako",
                id="postgres-key-detail",
            ),
        ],
    )
    def test_values_are_redacted(self, value: str, leak: str) -> None:
        """Personal data and secrets inside any logged string are replaced."""
        with capture_logs(processors=[Redactor([SECRET])]) as logs:
            structlog.get_logger().info("event", detail=value)
        assert leak not in logs[0]["detail"]
        assert REDACTED in logs[0]["detail"]

    def test_secret_keys_and_nested_values(self) -> None:
        """A key named like a secret is blanked; nested lists and dicts are walked."""
        with capture_logs(processors=[Redactor()]) as logs:
            structlog.get_logger().info(
                "sync",
                access_token="abc123456",
                records=[{"Email": "bob@example.com", "Id": "0035g00000AbCdE"}],
            )
        event = logs[0]
        assert event["access_token"] == REDACTED
        assert event["records"] == [{"Email": REDACTED, "Id": "0035g00000AbCdE"}]

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param("2026-11-23T10:00:00Z", id="timestamp"),
            pytest.param("12345678901", id="hubspot-record-id"),
            pytest.param("0031x00000AbCdEAAX", id="salesforce-id"),
            pytest.param("1.12.10", id="version"),
        ],
    )
    def test_operational_values_survive(self, value: str) -> None:
        """Ids, times and versions are what an operator needs; they are not mistaken for PII."""
        with capture_logs(processors=[Redactor()]) as logs:
            structlog.get_logger().info("event", detail=value)
        assert logs[0]["detail"] == value


class TestConfiguredOutput:
    """The whole chain as configured for the container writes JSON without PII."""

    def test_structlog_event_is_json_without_pii(
        self, json_logs: pytest.CaptureFixture[str]
    ) -> None:
        """A structlog event with an address and a secret comes out as redacted JSON."""
        structlog.get_logger("worker.test").info(
            "survey_sent", to="ana@example.com", note=f"secret {SECRET}", contact_id="0035g0000"
        )
        (line,) = _lines(json_logs)
        assert line["event"] == "survey_sent"
        assert line["level"] == "info"
        assert line["contact_id"] == "0035g0000"
        assert "ana@example.com" not in json.dumps(line)
        assert SECRET not in json.dumps(line)

    def test_stdlib_logger_goes_through_the_same_chain(
        self, json_logs: pytest.CaptureFixture[str]
    ) -> None:
        """Third-party stdlib loggers (urllib3, SQLAlchemy) are rendered and redacted alike."""
        logging.getLogger("thirdparty.http").warning("retrying POST for %s", "kim@example.org")
        (line,) = _lines(json_logs)
        assert line["logger"] == "thirdparty.http"
        assert line["event"] == f"retrying POST for {REDACTED}"

    def test_tracebacks_are_redacted(self, json_logs: pytest.CaptureFixture[str]) -> None:
        """An exception message carrying an address does not leak through the traceback."""
        try:
            raise ValueError("no contact for lee@example.net")
        except ValueError:
            structlog.get_logger().exception("lookup_failed")
        (line,) = _lines(json_logs)
        assert "ValueError" in str(line["exception"])
        assert "lee@example.net" not in json.dumps(line)

    def test_context_is_bound_with_contextvars(self, json_logs: pytest.CaptureFixture[str]) -> None:
        """Context bound once (crm, cycle id) appears on every event of the cycle."""
        structlog.contextvars.bind_contextvars(crm="hubspot", cycle_id="c-1")
        try:
            structlog.get_logger().info("pulled", count=3)
        finally:
            structlog.contextvars.clear_contextvars()
        (line,) = _lines(json_logs)
        assert (line["crm"], line["cycle_id"], line["count"]) == ("hubspot", "c-1", 3)


def test_secrets_read_from_the_environment_are_redacted(
    json_logs: pytest.CaptureFixture[str],
) -> None:
    """A credential read through the config's `*_env` indirection never reaches the log."""
    from worker.config import read_secret

    token = read_secret("NPS_TEST_TOKEN", env={"NPS_TEST_TOKEN": "opaque-credential-42"})
    structlog.get_logger().info("auth", detail=f"using {token.get_secret_value()}")
    (line,) = _lines(json_logs)
    assert "opaque-credential-42" not in json.dumps(line)
