"""Malformed input in every field the web app reads: never a 5xx, never anything stored."""

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from tests.integration.web_support import Harness, Link
from worker.store.engine import session_factory

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

junk = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "-1", "11", "3.0", "0x3", " 7", "\x00", "%ff", "10" * 50]),
)


@pytest.fixture(scope="module")
def web(engine: Engine) -> Harness:
    """One app for the module; every example uses the same survey and must leave it unanswered."""
    return Harness(session_factory(engine))


@pytest.fixture(scope="module")
def link(web: Harness) -> Link:
    """The survey every example attacks."""
    return web.survey()


def _assert_untouched(web: Harness, link: Link, status: int) -> None:
    assert status < 500
    response = web.response(link)
    assert response is None or response.provisional


@SETTINGS
@given(
    body=st.fixed_dictionaries(
        {"score": junk, "tags": st.lists(junk, max_size=4), "comment": junk, "form": junk}
    )
)
def test_answer_form_fields(web: Harness, link: Link, body: dict[str, Any]) -> None:
    """Any score, tags, comment and form token without a valid form token stores nothing."""
    page = web.client.post(link.page(), data=body)

    _assert_untouched(web, link, page.status_code)


@SETTINGS
@given(
    body=st.binary(max_size=300),
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", ""]
    ),
)
def test_raw_bodies(web: Harness, link: Link, body: bytes, content_type: str) -> None:
    """Arbitrary bytes under any content type to every POST route: a 4xx at worst."""
    for path in (link.page(), f"{link.page()}/seen", f"/u/{link.unsubscribe}", "/hooks/answers"):
        page = web.client.post(path, content=body, headers={"Content-Type": content_type})
        assert page.status_code < 500, path
    _assert_untouched(web, link, 200)


@SETTINGS
@given(
    token=st.text(max_size=80),
    score=junk,
    agent=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
)
def test_links_and_headers(web: Harness, link: Link, token: str, score: str, agent: str) -> None:
    """Any token text, score parameter and user agent on GET: a 4xx at worst, nothing final."""
    headers = {"User-Agent": agent}

    for path in (f"/s/{quote(token, safe='')}", f"/u/{quote(token, safe='')}"):
        page = web.client.get(path, params={"score": score}, headers=headers)
        assert page.status_code < 500
    page = web.client.get(link.page(), params={"score": score}, headers=headers)

    _assert_untouched(web, link, page.status_code)
