"""Channels: the webhook's signature, payload and retries; the CRM field's URL."""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import responses
from sqlalchemy.orm import Session

from worker.config.survey import SurveyConfig
from worker.surveys.channels import CrmFieldChannel, DeliveryFailed, WebhookChannel
from worker.surveys.delivery import Delivery, SendKind
from worker.surveys.tokens import Purpose, TokenSigner

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
URL = "https://hooks.example.com/nps"
SECRET = "webhook-secret-webhook-secret-00"
SIGNER = TokenSigner("s" * 32)
SURVEY = SurveyConfig(
    base_url="https://nps.example.com", channel="webhook", webhook={"url": URL, "retries": 2}
)
DELIVERY = Delivery(
    survey_id=3,
    token_id="tok-3",
    program="renewal",
    kind=SendKind.INVITATION,
    number=0,
    language="ja",
    expires_at=NOW + timedelta(days=14),
    email="taro@example.jp",
    first_name="Taro",
    last_name="Sato",
    time_zone=None,
    crm="hubspot",
    crm_id="501",
)
NO_SESSION: Any = None


def _channel(sleeps: list[float]) -> WebhookChannel:
    return WebhookChannel(SURVEY, SIGNER, SECRET, requests.Session(), sleep=sleeps.append)


class TestWebhook:
    """Signed JSON posts with bounded, backed-off retries of transient failures only."""

    @responses.activate
    def test_signed_payload(self) -> None:
        """The signature is HMAC-SHA256 of the exact body; the payload holds no last name."""
        responses.post(URL, status=202)
        _channel([]).deliver(NO_SESSION, DELIVERY, NOW)
        (call,) = responses.calls
        body = call.request.body
        assert isinstance(body, bytes)
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert call.request.headers["X-NPS-Signature"] == expected
        assert call.request.headers["Idempotency-Key"] == DELIVERY.delivery_id
        payload = json.loads(body)
        assert payload["event"] == "survey.invitation"
        assert payload["contact"] == {
            "crm": "hubspot",
            "crm_id": "501",
            "email": "taro@example.jp",
            "first_name": "Taro",
        }
        assert "Sato" not in body.decode()
        assert len(payload["links"]["scores"]) == 11
        token = payload["links"]["survey"].rsplit("/", 1)[1]
        assert SIGNER.verify(token, Purpose.ANSWER, NOW).token_id == "tok-3"

    @pytest.mark.parametrize(
        ("first", "sleeps"),
        [
            pytest.param({"status": 503}, [1.0], id="5xx"),
            pytest.param({"status": 429}, [1.0], id="429"),
            pytest.param({"body": requests.ConnectTimeout()}, [1.0], id="timeout"),
            pytest.param({"body": requests.ConnectionError()}, [1.0], id="reset"),
        ],
    )
    @responses.activate
    def test_transient_failure_is_retried(self, first: dict[str, Any], sleeps: list[float]) -> None:
        """One failure, then success: two posts, one backoff."""
        responses.post(URL, **first)
        responses.post(URL, status=200)
        waited: list[float] = []
        _channel(waited).deliver(NO_SESSION, DELIVERY, NOW)
        assert len(responses.calls) == 2
        assert waited == sleeps

    @responses.activate
    def test_gives_up_after_retries(self) -> None:
        """Three 500s with retries 2: three posts, growing backoff, a retryable failure."""
        responses.post(URL, status=500)
        waited: list[float] = []
        with pytest.raises(DeliveryFailed, match="HTTP 500") as raised:
            _channel(waited).deliver(NO_SESSION, DELIVERY, NOW)
        assert len(responses.calls) == 3
        assert waited == [1.0, 2.0]
        assert raised.value.retryable is True

    @responses.activate
    def test_client_error_is_not_retried(self) -> None:
        """A 400 means the receiver refuses this payload: one post, a final failure."""
        responses.post(URL, status=400)
        with pytest.raises(DeliveryFailed) as raised:
            _channel([]).deliver(NO_SESSION, DELIVERY, NOW)
        assert len(responses.calls) == 1
        assert raised.value.retryable is False


def test_crm_field_hands_the_survey_url_to_the_writer() -> None:
    """The cycle's writer gets the session, the delivery and a verifiable answer URL."""
    written: list[tuple[Session, Delivery, str, datetime]] = []
    channel = CrmFieldChannel(SURVEY, SIGNER, lambda *args: written.append(args))
    channel.deliver(NO_SESSION, DELIVERY, NOW)
    ((_, delivery, url, at),) = written
    assert (delivery, at) == (DELIVERY, NOW)
    assert url.startswith("https://nps.example.com/s/")
    assert SIGNER.verify(url.rsplit("/", 1)[1], Purpose.ANSWER, NOW).token_id == "tok-3"
