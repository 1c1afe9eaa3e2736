"""The ways a survey reaches a person, behind one `Channel` interface.

- `email`: render the mail and hand it to the mail transport.
- `crm_field`: the survey URL is written onto the contact in the CRM, whose own e-mail tool
  sends it; the write is queued by a callback the cycle provides (its outbox), inside the same
  transaction that marks the survey sent, so it happens exactly once.
- `webhook`: POST a signed JSON payload to another tool that does the sending.

`in_transaction` tells dispatch when to call `deliver`: inside the claiming transaction
(exactly once, the channel only writes to the database) or after it is committed, one message
at a time, for channels that talk to the outside world (a crash leaves at most one message's
fate unknown; dispatch re-sends it once with the same Message-ID / Idempotency-Key, or
reports it: `worker.surveys.dispatch`).
"""

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Protocol

import requests
import structlog
from sqlalchemy.orm import Session

from worker.config.credentials import read_secret
from worker.config.survey import SurveyConfig
from worker.store.models import SurveyChannel
from worker.surveys.delivery import Delivery, SendKind
from worker.surveys.links import SCORES, answer_url, unsubscribe_url
from worker.surveys.mail import MailError, MailTransport
from worker.surveys.render import (
    UNSUBSCRIBE_LIFETIME,
    Templates,
    render_invitation,
    render_reminder,
)
from worker.surveys.tokens import Purpose, TokenSigner

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-NPS-Signature"
"""Carries `sha256=<hex HMAC-SHA256 of the raw body>` on webhook posts."""

MAX_BACKOFF_S = 30.0


class DeliveryFailed(Exception):
    """A send did not happen; `retryable` when it certainly did not reach the person."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Channel(Protocol):
    """Delivers one survey send to the person, or raises DeliveryFailed."""

    kind: ClassVar[SurveyChannel]
    in_transaction: ClassVar[bool]
    sends_reminders: ClassVar[bool]

    def deliver(self, session: Session, delivery: Delivery, now: datetime) -> None:
        """Send `delivery`; `session` is the claiming transaction when `in_transaction`."""


def survey_links(
    survey: SurveyConfig, signer: TokenSigner, delivery: Delivery
) -> tuple[str, str, list[str]]:
    """The page URL, unsubscribe URL and the eleven score URLs of `delivery`."""
    token = signer.issue(delivery.token_id, Purpose.ANSWER, delivery.expires_at)
    stop = signer.issue(
        delivery.token_id, Purpose.UNSUBSCRIBE, delivery.expires_at + UNSUBSCRIBE_LIFETIME
    )
    scores = [answer_url(survey.base_url, token, score) for score in SCORES]
    return answer_url(survey.base_url, token), unsubscribe_url(survey.base_url, stop), scores


class EmailChannel:
    """Renders the invitation or reminder and hands it to the mail transport."""

    kind: ClassVar[SurveyChannel] = SurveyChannel.EMAIL
    in_transaction: ClassVar[bool] = False
    sends_reminders: ClassVar[bool] = True

    def __init__(
        self,
        survey: SurveyConfig,
        signer: TokenSigner,
        templates: Templates,
        transport: MailTransport,
    ) -> None:
        self._survey = survey
        self._signer = signer
        self._templates = templates
        self._transport = transport

    def deliver(self, session: Session, delivery: Delivery, now: datetime) -> None:
        """Render and send the e-mail."""
        render = render_invitation if delivery.kind is SendKind.INVITATION else render_reminder
        message = render(self._templates, self._survey, self._signer, delivery, now)
        try:
            self._transport.send(message)
        except MailError as error:
            raise DeliveryFailed(error.reason, retryable=error.retryable) from None


CrmFieldWriter = Callable[[Session, Delivery, str, datetime], None]
"""Queues the write of the survey URL (third argument) onto the delivery's CRM contact."""


class CrmFieldChannel:
    """Hands the survey URL to the cycle's writer, which queues it for the CRM contact field.

    The CRM's own e-mail tool sends the survey, so there are no reminders from here.
    """

    kind: ClassVar[SurveyChannel] = SurveyChannel.CRM
    in_transaction: ClassVar[bool] = True
    sends_reminders: ClassVar[bool] = False

    def __init__(self, survey: SurveyConfig, signer: TokenSigner, write: CrmFieldWriter) -> None:
        self._survey = survey
        self._signer = signer
        self._write = write

    def survey_url(self, delivery: Delivery) -> str:
        """The URL to write: the answer page of this survey."""
        token = self._signer.issue(delivery.token_id, Purpose.ANSWER, delivery.expires_at)
        return answer_url(self._survey.base_url, token)

    def deliver(self, session: Session, delivery: Delivery, now: datetime) -> None:
        """Queue the CRM write in the claiming transaction."""
        self._write(session, delivery, self.survey_url(delivery), now)


def signature(secret: bytes, body: bytes) -> str:
    """The `X-NPS-Signature` value of `body`: `sha256=` and the hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """POSTs each send as signed JSON; retries 429, 5xx, timeouts and resets with backoff.

    The payload holds what a sending tool needs and no more: the address, first name,
    language, CRM ids and the links. `Idempotency-Key` is stable per send, so a receiver can
    drop the duplicate a retry after a lost answer would produce.
    """

    kind: ClassVar[SurveyChannel] = SurveyChannel.WEBHOOK
    in_transaction: ClassVar[bool] = False
    sends_reminders: ClassVar[bool] = True

    def __init__(
        self,
        survey: SurveyConfig,
        signer: TokenSigner,
        secret: str,
        http: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if survey.webhook.url is None:
            raise ValueError("the webhook channel needs survey.webhook.url")
        self._url = survey.webhook.url
        self._survey = survey
        self._signer = signer
        self._secret = secret.encode()
        self._http = http or requests.Session()
        self._sleep = sleep

    @classmethod
    def from_config(
        cls, survey: SurveyConfig, signer: TokenSigner, env: Mapping[str, str] | None = None
    ) -> "WebhookChannel":
        """The channel `survey.webhook` describes, its secret read from the environment."""
        secret = read_secret(survey.webhook.secret_env, env).get_secret_value()
        return cls(survey, signer, secret)

    def payload(self, delivery: Delivery, now: datetime) -> dict[str, Any]:
        """The JSON document posted for `delivery`."""
        page, stop, scores = survey_links(self._survey, self._signer, delivery)
        return {
            "event": f"survey.{delivery.kind.value}",
            "delivery_id": delivery.delivery_id,
            "survey_id": delivery.survey_id,
            "program": delivery.program,
            "reminder": delivery.number,
            "language": delivery.language,
            "expires_at": delivery.expires_at.isoformat(),
            "sent_at": now.isoformat(),
            "contact": {
                "crm": delivery.crm,
                "crm_id": delivery.crm_id,
                "email": delivery.email,
                "first_name": delivery.first_name,
            },
            "links": {"survey": page, "scores": scores, "unsubscribe": stop},
        }

    def deliver(self, session: Session, delivery: Delivery, now: datetime) -> None:
        """POST the payload, retrying transient failures up to `survey.webhook.retries` times."""
        body = json.dumps(self.payload(delivery, now), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: signature(self._secret, body),
            "Idempotency-Key": delivery.delivery_id,
        }
        timeout = self._survey.webhook.timeout.total_seconds()
        attempts = self._survey.webhook.retries + 1
        reason = ""
        for attempt in range(1, attempts + 1):
            try:
                answer = self._http.post(self._url, data=body, headers=headers, timeout=timeout)
            except (requests.Timeout, requests.ConnectionError) as error:
                reason = f"no answer: {type(error).__name__}"
            else:
                if answer.status_code < 300:
                    return
                reason = f"HTTP {answer.status_code}"
                if answer.status_code != 429 and answer.status_code < 500:
                    raise DeliveryFailed(f"webhook refused: {reason}", retryable=False)
            log.warning(
                "webhook_attempt_failed",
                attempt=attempt,
                of=attempts,
                reason=reason,
                delivery_id=delivery.delivery_id,
            )
            if attempt < attempts:
                self._sleep(min(MAX_BACKOFF_S, 2.0 ** (attempt - 1)))
        raise DeliveryFailed(f"webhook unavailable: {reason}", retryable=True)
