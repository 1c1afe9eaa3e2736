"""The answer page: a score click from the e-mail, the person's submit, the page's beacon."""

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from worker.store.models import Survey
from worker.surveys.answer_fields import MAX_COMMENT
from worker.surveys.tokens import Claims, Purpose
from worker.surveys.web.answers import (
    Answer,
    Outcome,
    find_survey,
    is_open,
    lock_survey,
    mark_scanner_seen,
    mark_script_ran,
    record_answer,
    record_click,
    response_of,
)
from worker.surveys.web.context import WebContext, read_body, require_form
from worker.surveys.web.forms import FormError, last, parse_answer, parse_urlencoded
from worker.surveys.web.scanners import HONEYPOT_SCORE
from worker.surveys.web.texts import texts_for

BEACON_BODY_LIMIT = 1_024
"""The beacon posts one form token; nothing larger is read."""


@dataclass
class View:
    """What the answer page shows."""

    language: str
    score: int | None = None
    chosen: tuple[str, ...] = ()
    comment: str = ""
    version: int = 0
    provisional: bool = False
    saved_before: bool = False


def _click_score(raw: str | None) -> int | None:
    if raw is None or not raw.isascii() or not raw.isdigit() or int(raw) > 10:
        return None
    return int(raw)


def _format_date(moment: datetime, language: str) -> str:
    if language == "ja":
        return f"{moment.year}年{moment.month}月{moment.day}日"
    return f"{moment.day} {moment:%B %Y}"


class AnswerRoutes:
    """GET and POST `/s/{token}`, and the page's beacon `POST /s/{token}/seen`."""

    def __init__(self, web: WebContext) -> None:
        self._web = web
        self._tag_ids = tuple(tag.id for tag in web.config.tags)

    def _view(self, session: Session, survey: Survey) -> View:
        response = response_of(session, survey)
        view = View(language=survey.language)
        if response is not None:
            view.score = response.score
            view.version = response.version
            view.provisional = response.provisional
            if not response.provisional:
                view.saved_before = True
                view.chosen = tuple(response.chosen_tags)
                view.comment = response.comment or ""
        return view

    def _open(self, token_id: str, raw: str | None, agent: str | None, now: datetime) -> View:
        """Show the page; a score click is recorded provisionally, a honeypot hit noted."""
        web = self._web
        score = _click_score(raw)
        if score is None and raw != HONEYPOT_SCORE:
            return web.transaction(
                lambda session: self._open_view(session, token_id, now), write=False
            )

        def write(session: Session) -> View:
            survey = web.survey_or_404(lock_survey(session, token_id))
            if not is_open(survey, now):
                raise web.closed(survey)
            if score is None:
                mark_scanner_seen(session, survey, now)
                outcome = Outcome.HONEYPOT
            else:
                outcome = record_click(session, survey, score, agent, now)
            web.metrics.answers.labels(outcome.value).inc()
            view = self._view(session, survey)
            if score is not None:
                view.score = score
            return view

        return web.transaction(write)

    def _open_view(self, session: Session, token_id: str, now: datetime) -> View:
        """The page of an open survey as stored: 404 for no survey, 410 when closed."""
        survey = self._web.survey_or_404(find_survey(session, token_id))
        if not is_open(survey, now):
            raise self._web.closed(survey)
        return self._view(session, survey)

    def _render(
        self,
        *,
        token: str,
        token_id: str,
        view: View,
        now: datetime,
        status: int = 200,
        error: str | None = None,
        error_field: str | None = None,
    ) -> Response:
        web = self._web
        words = texts_for(view.language)
        company = web.config.survey.company_name or words["company_fallback"]
        return web.pages.render(
            "answer.html",
            view.language,
            status,
            question=words["question"].format(company=company),
            score=view.score,
            chosen=view.chosen,
            comment=view.comment,
            tags=[
                {
                    "id": tag.id,
                    "label": tag.labels.get(view.language) or next(iter(tag.labels.values())),
                }
                for tag in web.config.tags
            ],
            max_comment=MAX_COMMENT,
            form_token=web.forms.issue(Purpose.ANSWER, token_id, view.version, now),
            seen_url=f"{quote(token, safe='')}/seen" if view.provisional else "",
            saved_before=view.saved_before,
            error=error,
            error_field=error_field,
        )

    async def page(self, request: Request) -> Response:
        """GET: the page, with the e-mail's score chosen and recorded as provisional.

        HEAD (link checkers, previews) gets the same answer without the body and records
        nothing: only a GET is someone opening the link.
        """
        web = self._web
        token = request.path_params["token"]
        now = web.clock()
        claims = web.verify(token, Purpose.ANSWER, now)
        clicked = None if request.method == "HEAD" else request.query_params.get("score")
        agent = request.headers.get("user-agent")
        records = _click_score(clicked) is not None or clicked == HONEYPOT_SCORE
        run = web.write if records else web.read
        view = await run(self._open, claims.token_id, clicked, agent, now)
        return self._render(token=token, token_id=claims.token_id, view=view, now=now)

    def _current(self, token_id: str, now: datetime) -> View:
        return self._web.transaction(
            lambda session: self._open_view(session, token_id, now), write=False
        )

    async def submit(self, request: Request) -> Response:
        """POST: the person's answer, committed before the thank-you page is sent.

        Everything that needs no database is checked first (link, media type, body size), so
        an oversized or foreign request is refused without touching the store.
        """
        web = self._web
        token = request.path_params["token"]
        now = web.clock()
        claims = web.verify(token, Purpose.ANSWER, now)
        require_form(request, web.default_language)
        body = await read_body(request, web.config.server.max_body_bytes, web.default_language)
        try:
            fields = parse_urlencoded(body)
            shown = web.forms.check(last(fields, "form"), Purpose.ANSWER, claims.token_id, now)
            answer = parse_answer(fields, self._tag_ids)
        except FormError as error:
            web.metrics.rejected_forms.labels(error.field).inc()
            current = await web.read(self._current, claims.token_id, now)
            return self._refused(
                token=token,
                token_id=claims.token_id,
                current=current,
                error=error,
                body=body,
                now=now,
            )
        outcome, language = await web.write(self._save, claims, answer, shown, now)
        web.metrics.answers.labels(outcome.value).inc()
        if outcome is Outcome.STALE:
            current = await web.read(self._current, claims.token_id, now)
            return self._refused(
                token=token,
                token_id=claims.token_id,
                current=current,
                error=FormError("form", "stale"),
                now=now,
            )
        return web.pages.render(
            "thanks.html",
            language,
            until=_format_date(claims.expires_at, language),
            page_url=quote(token, safe=""),
        )

    def _save(
        self, claims: Claims, answer: Answer, shown_version: int, now: datetime
    ) -> tuple[Outcome, str]:
        """Record the answer of a page that showed `shown_version`; with the survey's language."""
        web = self._web

        def write(session: Session) -> tuple[Outcome, str]:
            survey = web.survey_or_404(lock_survey(session, claims.token_id))
            if not is_open(survey, now):
                raise web.closed(survey)
            outcome = record_answer(session, survey, answer, now, shown_version=shown_version)
            return outcome, survey.language

        return web.transaction(write)

    def _refused(
        self,
        *,
        token: str,
        token_id: str,
        current: View,
        error: FormError,
        now: datetime,
        body: bytes | None = None,
    ) -> Response:
        """The page again, with what was sent where it is valid, and what to fix.

        Without `body` (an old form sent again) the page shows the answer as stored now.
        """
        words = texts_for(current.language)
        if error.code == "stale":
            message, status = words["error.stale"], 409
        elif error.field in ("form", "body"):
            message, status = words[f"error.{error.field}"], 403 if error.field == "form" else 400
        else:
            message, status = words[f"error.{error.field}.{error.code}"], 422
        shown = current
        if body is not None:
            try:
                fields = parse_urlencoded(body)
            except FormError:
                fields = {}
            shown = View(
                language=current.language,
                score=_click_score(last(fields, "score")) if fields else current.score,
                chosen=tuple(t for t in self._tag_ids if t in fields.get("tags", [])),
                comment=(last(fields, "comment") or "")[:MAX_COMMENT],
                version=current.version,
                saved_before=current.saved_before,
            )
        return self._render(
            token=token,
            token_id=token_id,
            view=shown,
            now=now,
            status=status,
            error=message.format(max=MAX_COMMENT),
            error_field=error.field,
        )

    async def seen(self, request: Request) -> Response:
        """POST from the page's script: a browser ran it, so the click was not a bare fetch."""
        web = self._web
        token = request.path_params["token"]
        now = web.clock()
        claims = web.verify(token, Purpose.ANSWER, now)
        require_form(request, web.default_language)
        body = await read_body(request, BEACON_BODY_LIMIT, web.default_language)
        try:
            fields = parse_urlencoded(body)
            version = web.forms.check(last(fields, "form"), Purpose.ANSWER, claims.token_id, now)
        except FormError as error:
            web.metrics.rejected_forms.labels(error.field).inc()
            return Response(status_code=400)

        def write(session: Session) -> bool:
            survey = web.survey_or_404(lock_survey(session, claims.token_id))
            return mark_script_ran(session, survey, version)

        await web.write(web.transaction, write)
        return Response(status_code=204)
