"""Links with forged, altered, expired, foreign or rotated tokens: a plain 4xx, nothing stored."""

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from tests.integration.web_support import OLD_SECRET, SECRET, Harness, Link
from worker.store.engine import session_factory
from worker.surveys.tokens import Purpose, TokenSigner


@pytest.fixture
def web(engine: Engine) -> Harness:
    """The app on the module's migrated store."""
    return Harness(session_factory(engine))


def _altered(token: str) -> str:
    payload, signature = token.rsplit(".", 1)
    return f"{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"


@pytest.mark.parametrize(
    ("make", "status"),
    [
        pytest.param(lambda link, web: _altered(link.answer), 403, id="altered-signature"),
        pytest.param(
            lambda link, web: TokenSigner("f" * 40).issue(
                link.token_id, Purpose.ANSWER, web.clock.now + timedelta(days=1)
            ),
            403,
            id="forged-with-another-key",
        ),
        pytest.param(lambda link, web: link.unsubscribe, 403, id="unsubscribe-token-as-answer"),
        pytest.param(lambda link, web: "not-a-token", 403, id="unsigned"),
        pytest.param(lambda link, web: "A" * 600, 400, id="too-long"),
        pytest.param(
            lambda link, web: web.signer.issue(
                "no-such-survey", Purpose.ANSWER, web.clock.now + timedelta(days=1)
            ),
            404,
            id="unknown-survey",
        ),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bad_tokens_get_a_plain_page_and_store_nothing(
    web: Harness, make: object, status: int, method: str
) -> None:
    """Every refused link answers 4xx with a page a person can read, and stores nothing."""
    link = web.survey()
    token = make(link, web)  # type: ignore[operator]

    if method == "GET":
        page = web.client.get(f"/s/{token}?score=5")
    else:
        page = web.client.post(f"/s/{token}", data={"score": "5", "form": "x"})

    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>" in page.text
    assert web.response(link) is None


def test_expired_token_is_410(web: Harness) -> None:
    """After the survey's expiry the link says the survey closed, and stores nothing."""
    link = web.survey(expires_in=timedelta(days=1))
    web.clock.advance(timedelta(days=1, seconds=1))

    page = web.client.get(link.page(9))

    assert page.status_code == 410
    assert "closed" in page.text
    assert web.response(link) is None


def test_rotated_key_keeps_old_links_working(engine: Engine) -> None:
    """Links signed with the previous secret still open after rotation (<VAR>_PREVIOUS)."""
    old = Harness(session_factory(engine), signer=TokenSigner(OLD_SECRET))
    link = old.survey()
    rotated = TokenSigner.from_env(
        "NPS_TOKEN_SECRET",
        {"NPS_TOKEN_SECRET": SECRET, "NPS_TOKEN_SECRET_PREVIOUS": OLD_SECRET},
    )
    web = Harness(session_factory(engine), signer=rotated)

    page = web.client.get(link.page(8))

    assert page.status_code == 200
    assert web.response(link) is not None


def test_links_signed_with_a_retired_key_are_refused(engine: Engine) -> None:
    """Once the previous secret is dropped, its links stop working."""
    old = Harness(session_factory(engine), signer=TokenSigner(OLD_SECRET))
    link: Link = old.survey()
    web = Harness(session_factory(engine))

    assert web.client.get(link.page(8)).status_code == 403
