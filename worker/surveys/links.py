"""The URLs in survey mail, built in one place so the mail and the web app agree on them.

Scheme (served by `worker/surveys/web/`):
- `{base_url}/s/{token}`          the answer page, without a score;
- `{base_url}/s/{token}?score=N`  the page with N (0..10) chosen, from an e-mail button;
- `{base_url}/s/{token}?score=hp` a link hidden from people: whoever follows it is a scanner;
- `{base_url}/u/{token}`          the unsubscribe page (GET confirms, POST unsubscribes).
Tokens are URL-safe already (itsdangerous), so they are placed in the path as they are.
"""

from urllib.parse import quote

SCORES = range(11)
"""The NPS scale, 0 (not at all likely) to 10 (extremely likely)."""


def _join(base_url: str, prefix: str, token: str) -> str:
    if not token:
        raise ValueError("a link needs a token")
    return f"{base_url.rstrip('/')}/{prefix}/{quote(token, safe='')}"


def answer_url(base_url: str, token: str, score: int | None = None) -> str:
    """The link that opens the answer page for `token`, with `score` chosen when given."""
    url = _join(base_url, "s", token)
    if score is None:
        return url
    if isinstance(score, bool) or score not in SCORES:
        raise ValueError(f"score must be an integer 0..10, got {score!r}")
    return f"{url}?score={score}"


def unsubscribe_url(base_url: str, token: str) -> str:
    """The link that opens the unsubscribe page for `token`."""
    return _join(base_url, "u", token)


def honeypot_url(base_url: str, token: str) -> str:
    """A link people never see (hidden in the mail): a request for it marks a link scanner."""
    return f"{_join(base_url, 's', token)}?score=hp"
