"""Signed, expiring tokens for survey links: no database id or e-mail in clear.

A token carries a random token id (the `surveys.token_id` column), what it may be used for and
when it expires, signed with HMAC by itsdangerous. Keys rotate: the current secret signs, the
previous ones (`<VAR>_PREVIOUS`, comma-separated) still verify during a grace period, so links in
mail already sent keep working until they expire.
"""

import math
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from itsdangerous import BadSignature, URLSafeSerializer

from worker.config import ConfigError
from worker.config.credentials import read_secret
from worker.config.errors import ConfigIssue

MIN_SECRET_LENGTH = 32
"""Shorter HMAC secrets are guessable enough that we refuse to start with one."""


class Purpose(StrEnum):
    """What a token opens; a token for one purpose is refused for another."""

    ANSWER = "answer"
    UNSUBSCRIBE = "unsubscribe"


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says."""

    token_id: str
    purpose: Purpose
    expires_at: datetime


class TokenRejected(Exception):
    """A token that is malformed, forged, altered, expired or for another purpose."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def new_token_id() -> str:
    """A fresh random survey token id (128 bits), unguessable and meaningless on its own."""
    return secrets.token_urlsafe(16)


class TokenSigner:
    """Issues tokens with the current secret and verifies them with current and previous ones."""

    def __init__(self, current: str, previous: Sequence[str] = ()) -> None:
        for secret in (current, *previous):
            if len(secret) < MIN_SECRET_LENGTH:
                raise ValueError(f"token secrets need at least {MIN_SECRET_LENGTH} characters")
        # itsdangerous signs with the last key and verifies with any of them.
        self._keys = [*previous, current]

    @classmethod
    def from_env(cls, variable: str, env: Mapping[str, str] | None = None) -> "TokenSigner":
        """The signer whose secret is in `variable` (previous keys in `<variable>_PREVIOUS`)."""
        current = read_secret(variable, env).get_secret_value()
        previous_var = f"{variable}_PREVIOUS"
        source = os.environ if env is None else env
        previous = [
            read_secret(previous_var, {previous_var: part}).get_secret_value()
            for part in (p.strip() for p in source.get(previous_var, "").split(","))
            if part
        ]
        try:
            return cls(current, previous)
        except ValueError as error:
            issue = ConfigIssue("<environment>", 0, 0, variable, str(error))
            raise ConfigError([issue]) from None

    def _serializer(self, purpose: Purpose) -> URLSafeSerializer:
        return URLSafeSerializer(self._keys, salt=f"nps-worker.{purpose.value}")

    def issue(self, token_id: str, purpose: Purpose, expires_at: datetime) -> str:
        """A URL-safe token for `token_id`, usable for `purpose` until `expires_at`."""
        # Rounded up, so a link never dies before the survey it opens (reminders near expiry).
        payload = [token_id, math.ceil(expires_at.timestamp())]
        return str(self._serializer(purpose).dumps(payload))

    def verify(self, token: str, purpose: Purpose, now: datetime) -> Claims:
        """The claims of a valid token; raises TokenRejected saying why it is not valid."""
        if not token or len(token) > 512:
            raise TokenRejected("malformed")
        try:
            payload = self._serializer(purpose).loads(token)
        except BadSignature:
            raise TokenRejected("bad_signature") from None
        except (ValueError, UnicodeError):
            raise TokenRejected("malformed") from None
        if (
            not isinstance(payload, list)
            or len(payload) != 2
            or not isinstance(payload[0], str)
            or not isinstance(payload[1], int)
        ):
            raise TokenRejected("malformed")
        expires_at = datetime.fromtimestamp(payload[1], tz=UTC)
        if now >= expires_at:
            raise TokenRejected("expired")
        return Claims(token_id=payload[0], purpose=purpose, expires_at=expires_at)
