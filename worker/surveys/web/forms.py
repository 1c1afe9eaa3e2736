"""Reading what a browser posts: URL-encoded bodies, the answer form, and signed form tokens.

Everything a client sends is checked here and turned into `FormError` naming the field, so
handlers answer bad input with a 4xx page and nothing reaches the store.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from worker.surveys import answer_fields
from worker.surveys.answer_fields import FieldError
from worker.surveys.tokens import Purpose, TokenRejected, TokenSigner
from worker.surveys.web.answers import Answer

MAX_FIELDS = 64
"""Form fields a body may carry: a score, one per tag, a comment and a token fit easily."""

FORM_TOKEN_TTL = timedelta(hours=24)
"""How long a page's form token stays valid: a person may leave the tab open for a day."""


class FormError(ValueError):
    """A field is missing or invalid; `field` names it, `code` says what is wrong."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field = field
        self.code = code


def parse_urlencoded(body: bytes) -> dict[str, list[str]]:
    """Fields of an `application/x-www-form-urlencoded` body, strictly UTF-8."""
    try:
        return parse_qs(
            body.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=MAX_FIELDS,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        raise FormError("body", "malformed") from None


def last(fields: Mapping[str, list[str]], name: str) -> str | None:
    """The last value of field `name`, or None when it was not sent."""
    values = fields.get(name)
    return values[-1] if values else None


def _one(fields: Mapping[str, list[str]], name: str) -> str | None:
    values = fields.get(name, [])
    if len(values) > 1:
        raise FormError(name, "repeated")
    return values[0] if values else None


def parse_answer(fields: Mapping[str, list[str]], known_tags: Collection[str]) -> Answer:
    """The answer in a posted form: a score 0..10, known tags, a comment of bounded size.

    Score and comment follow the rules every answer meets (`worker.surveys.answer_fields`).
    """
    try:
        score = answer_fields.score("score", _one(fields, "score") or "")
        tags = fields.get("tags", [])
        if any(tag not in known_tags for tag in tags):
            raise FormError("tags", "unknown")
        comment = answer_fields.comment("comment", _one(fields, "comment"))
    except FieldError as error:
        raise FormError(error.field, error.code) from None
    ordered = tuple(tag for tag in known_tags if tag in tags)
    return Answer(score=score, chosen_tags=ordered, comment=comment)


@dataclass(frozen=True, slots=True)
class FormTokens:
    """Signed form tokens (CSRF) bound to one survey link, issued and checked with its signer.

    A form token is a token of the link's own purpose whose id is `<kind>.<token id>.<version>`:
    signed with the same rotating keys, short-lived, and useless as a link (no survey has that
    id). `version` is the answer version the page showed, which the page's beacon reports.
    """

    signer: TokenSigner

    def issue(self, purpose: Purpose, token_id: str, version: int, now: datetime) -> str:
        """A form token for the page of `token_id` showing answer `version`."""
        return self.signer.issue(f"form.{token_id}.{version}", purpose, now + FORM_TOKEN_TTL)

    def check(self, form_token: str | None, purpose: Purpose, token_id: str, now: datetime) -> int:
        """The answer version a valid form token of `token_id` was issued for."""
        if not form_token:
            raise FormError("form", "missing")
        try:
            claims = self.signer.verify(form_token, purpose, now)
        except TokenRejected as rejected:
            raise FormError("form", rejected.reason) from None
        kind, _, rest = claims.token_id.partition(".")
        bound, _, version = rest.rpartition(".")
        if kind != "form" or bound != token_id or not version.isdigit():
            raise FormError("form", "other_link")
        return int(version)
