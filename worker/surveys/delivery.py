"""What one send of one survey needs to know: the value passed from dispatch to a channel."""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class SendKind(StrEnum):
    """The invitation, or a reminder to someone who has not answered yet."""

    INVITATION = "invitation"
    REMINDER = "reminder"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One send: which survey, to whom, in which language, and which send it is.

    ``number`` is 0 for the invitation and n for the n-th reminder. Personal fields are
    only what a channel needs to reach the person and greet them.
    """

    survey_id: int
    token_id: str
    program: str
    kind: SendKind
    number: int
    language: str
    expires_at: datetime
    email: str | None
    first_name: str | None
    last_name: str | None
    time_zone: str | None
    crm: str
    crm_id: str
    touchpoint: str | None = None
    moment_title: str | None = None
    """The title of the record the survey asks about (a case's subject), when it has one."""

    @property
    def delivery_id(self) -> str:
        """Stable id of this send, the same on every retry: Message-ID and idempotency key.

        Derived from the token id by hashing, so it names the send without revealing the token.
        """
        seed = f"{self.token_id}:{self.kind.value}:{self.number}".encode()
        return hashlib.sha256(seed).hexdigest()[:32]
