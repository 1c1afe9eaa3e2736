"""Unsubscribe: a GET only asks (scanners fetch links), a POST unsubscribes.

A POST is either the page's form, which carries a signed form token (CSRF), or an RFC 8058
one-click POST from a mail client (`List-Unsubscribe=One-Click`), which cannot carry one:
there the signed, long-lived unsubscribe token in the URL is the authority.
"""

from datetime import datetime
from email import message_from_bytes
from email.policy import HTTP

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from worker.store.models import Survey
from worker.surveys.tokens import Purpose
from worker.surveys.web.answers import find_survey, lock_survey, unsubscribe
from worker.surveys.web.context import (
    FORM_CONTENT_TYPE,
    PageError,
    WebContext,
    media_type,
    read_body,
)
from worker.surveys.web.forms import FormError, last, parse_urlencoded
from worker.surveys.web.texts import texts_for

ONE_CLICK = ("List-Unsubscribe", "One-Click")
"""The field RFC 8058 mail clients post."""


def _multipart_fields(content_type: str, body: bytes) -> dict[str, list[str]]:
    """Fields of a multipart/form-data body (RFC 8058 allows it); malformed parts are skipped."""
    document = message_from_bytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body, policy=HTTP
    )
    fields: dict[str, list[str]] = {}
    if not document.is_multipart():
        raise FormError("body", "malformed")
    for part in document.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            try:
                fields.setdefault(name, []).append(payload.decode("utf-8").strip())
            except UnicodeDecodeError:
                raise FormError("body", "malformed") from None
    return fields


class UnsubscribeRoutes:
    """GET and POST `/u/{token}`."""

    def __init__(self, web: WebContext) -> None:
        self._web = web

    def _survey(self, token: str, now: datetime) -> tuple[str, Survey]:
        web = self._web
        token_id = web.verify(token, Purpose.UNSUBSCRIBE, now).token_id
        survey = web.transaction(lambda session: find_survey(session, token_id), write=False)
        return token_id, web.survey_or_404(survey)

    def _confirm(
        self, token_id: str, survey: Survey, now: datetime, error: bool = False
    ) -> Response:
        web = self._web
        words_error = texts_for(survey.language)["error.form"] if error else None
        return web.pages.render(
            "unsubscribe.html",
            survey.language,
            403 if error else 200,
            form_token=web.forms.issue(Purpose.UNSUBSCRIBE, token_id, 0, now),
            error=words_error,
        )

    async def page(self, request: Request) -> Response:
        """GET: a confirm button, nothing changed."""
        now = self._web.clock()
        token_id, survey = await self._web.read(self._survey, request.path_params["token"], now)
        return self._confirm(token_id, survey, now)

    async def submit(self, request: Request) -> Response:
        """POST: the form (with its form token) or a one-click POST suppresses the address.

        The link, the media type and the body size are checked before the store is read.
        """
        web = self._web
        now = web.clock()
        web.verify(request.path_params["token"], Purpose.UNSUBSCRIBE, now)
        kind = media_type(request)
        if kind not in (FORM_CONTENT_TYPE, "multipart/form-data"):
            raise PageError("unsupported", 415, web.default_language)
        body = await read_body(request, web.config.server.max_body_bytes, web.default_language)
        token_id, survey = await self._web.read(self._survey, request.path_params["token"], now)
        language = survey.language
        try:
            if kind == FORM_CONTENT_TYPE:
                fields = parse_urlencoded(body)
            else:
                fields = _multipart_fields(request.headers["content-type"], body)
        except FormError:
            raise PageError("invalid", 400, language) from None
        one_click = fields.get(ONE_CLICK[0]) == [ONE_CLICK[1]]
        if not one_click:
            try:
                web.forms.check(last(fields, "form"), Purpose.UNSUBSCRIBE, token_id, now)
            except FormError as error:
                web.metrics.rejected_forms.labels(error.field).inc()
                return self._confirm(token_id, survey, now, error=True)

        def write(session: Session) -> bool:
            locked = web.survey_or_404(lock_survey(session, token_id))
            return unsubscribe(session, locked, now)

        await web.write(web.transaction, write, language)
        web.metrics.unsubscribes.labels("one_click" if one_click else "form").inc()
        return web.pages.message("unsubscribed", language, 200)
