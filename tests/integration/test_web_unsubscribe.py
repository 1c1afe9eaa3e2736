"""Unsubscribe: a GET only asks; the form POST (with CSRF) and RFC 8058 one-click suppress."""

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from tests.integration.web_support import Harness, Link, form_token
from worker.store.engine import session_factory
from worker.store.models import Suppression, SuppressionReason


@pytest.fixture
def web(engine: Engine) -> Harness:
    """The app on the module's migrated store."""
    return Harness(session_factory(engine))


def _suppressed(web: Harness, email: str) -> list[Suppression]:
    with web.sessions() as session:
        return list(
            session.scalars(
                select(Suppression).where(Suppression.email_hash == Suppression.hash_email(email))
            )
        )


def _link(web: Harness, email: str) -> Link:
    return web.survey(email=email)


def test_get_only_asks(web: Harness) -> None:
    """Scanners fetch every link: the GET shows a confirm button and changes nothing."""
    link = _link(web, "get@example.com")

    page = web.client.get(f"/u/{link.unsubscribe}")

    assert page.status_code == 200
    assert '<button type="submit">Unsubscribe</button>' in page.text
    assert _suppressed(web, "get@example.com") == []


def test_form_post_unsubscribes(web: Harness) -> None:
    """The confirm button suppresses the address (hashed), source web."""
    link = _link(web, "Form@Example.com")
    token = form_token(web.client.get(f"/u/{link.unsubscribe}").text)

    done = web.client.post(f"/u/{link.unsubscribe}", data={"form": token})

    assert done.status_code == 200
    assert "You are unsubscribed" in done.text
    [row] = _suppressed(web, "form@example.com")
    assert (row.reason, row.source) == (SuppressionReason.UNSUBSCRIBED, "web")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(
            b"List-Unsubscribe=One-Click", "application/x-www-form-urlencoded", id="urlencoded"
        ),
        pytest.param(
            b'--b1\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
            b"One-Click\r\n--b1--\r\n",
            "multipart/form-data; boundary=b1",
            id="multipart",
        ),
    ],
)
def test_one_click_post_needs_no_form_token(web: Harness, body: bytes, content_type: str) -> None:
    """RFC 8058: the mail client's POST works alone; the signed link is the authority."""
    link = _link(web, f"one-click-{content_type[:5]}@example.com")

    done = web.client.post(
        f"/u/{link.unsubscribe}", content=body, headers={"Content-Type": content_type}
    )

    assert done.status_code == 200
    assert len(_suppressed(web, f"one-click-{content_type[:5]}@example.com")) == 1


def test_twice_is_still_one_suppression(web: Harness) -> None:
    """Unsubscribing again (two surveys of one address) keeps one row."""
    first, second = _link(web, "twice@example.com"), _link(web, "twice@example.com")
    for link in (first, second):
        web.client.post(f"/u/{link.unsubscribe}", data={"List-Unsubscribe": "One-Click"})

    assert len(_suppressed(web, "twice@example.com")) == 1


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({"comment": "x"}, id="no-form-token"),
        pytest.param({"form": "forged"}, id="forged-form-token"),
        pytest.param({"List-Unsubscribe": "Two-Clicks"}, id="not-one-click"),
    ],
)
def test_post_without_valid_form_token_is_refused(web: Harness, form: dict[str, str]) -> None:
    """CSRF: a cross-site POST gets the confirm page again (403) and suppresses nothing."""
    link = _link(web, "csrf@example.com")

    page = web.client.post(f"/u/{link.unsubscribe}", data=form)

    assert page.status_code == 403
    assert _suppressed(web, "csrf@example.com") == []


def test_form_token_of_another_link_is_refused(web: Harness) -> None:
    """A form token is bound to its own link."""
    mine, other = _link(web, "mine@example.com"), _link(web, "other@example.com")
    token = form_token(web.client.get(f"/u/{other.unsubscribe}").text)

    page = web.client.post(f"/u/{mine.unsubscribe}", data={"form": token})

    assert page.status_code == 403
    assert _suppressed(web, "mine@example.com") == []


def test_answer_token_cannot_unsubscribe(web: Harness) -> None:
    """Tokens are purpose-bound: the answer link is not an unsubscribe link."""
    link = _link(web, "purpose@example.com")

    page = web.client.post(f"/u/{link.answer}", data={"List-Unsubscribe": "One-Click"})

    assert page.status_code == 403
    assert _suppressed(web, "purpose@example.com") == []
