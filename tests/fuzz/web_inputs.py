"""Web endpoint fuzz inputs: malformed answers, bodies, links and headers, and the check.

Shared by tests/integration/test_web_fuzz.py's CI-sized properties and the long campaign in
benchmarks/fuzz.py: any request gets a 4xx at worst and leaves the survey unanswered.
"""

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from tests.integration.web_support import Harness, Link

junk = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "-1", "11", "3.0", "0x3", " 7", "\x00", "%ff", "10" * 50]),
)
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/plain",
    "",
]


@dataclass(frozen=True)
class Attack:
    """One request: a method, where it goes (relative to the survey's links), what it carries."""

    method: str
    target: str
    data: Any = None
    content: bytes | None = None
    headers: dict[str, str] | None = None
    params: dict[str, str] | None = None


def attacks() -> st.SearchStrategy[Attack]:
    """Form fields without a valid form token, raw bodies to every POST route, odd links."""
    form = st.fixed_dictionaries(
        {"score": junk, "tags": st.lists(junk, max_size=4), "comment": junk, "form": junk}
    ).map(lambda body: Attack("POST", "page", data=body))
    raw = st.builds(
        lambda body, kind, route: Attack(
            "POST", route, content=body, headers={"Content-Type": kind}
        ),
        st.binary(max_size=300),
        st.sampled_from(CONTENT_TYPES),
        st.sampled_from(["page", "seen", "unsubscribe", "/hooks/answers"]),
    )
    agent = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
    links = st.builds(
        lambda token, score, ua, route: Attack(
            "GET",
            f"/{route}/{quote(token, safe='')}",
            params={"score": score},
            headers={"User-Agent": ua},
        ),
        st.text(max_size=80),
        junk,
        agent,
        st.sampled_from(["s", "u"]),
    )
    own = st.builds(
        lambda score, ua: Attack(
            "GET", "page", params={"score": score}, headers={"User-Agent": ua}
        ),
        junk,
        agent,
    )
    return st.one_of(form, raw, links, own)


def check_attack(web: Harness, link: Link, attack: Attack) -> None:
    """Send it; a 5xx or a final answer on the survey fails the check."""
    target = {
        "page": link.page(),
        "seen": f"{link.page()}/seen",
        "unsubscribe": f"/u/{link.unsubscribe}",
    }.get(attack.target, attack.target)
    answer = web.client.request(
        attack.method,
        target,
        data=attack.data,
        content=attack.content,
        headers=attack.headers,
        params=attack.params,
    )
    assert answer.status_code < 500, (attack, answer.status_code)
    response = web.response(link)
    assert response is None or response.provisional, attack
