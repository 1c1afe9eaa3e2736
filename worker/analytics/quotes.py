"""Comments made quotable: e-mail addresses, phone numbers, tokens and authors' names removed."""

import re
from collections.abc import Iterable

from worker.logs import REDACTED, Redactor

MAX_QUOTE = 240
"""Longest quote shown; longer comments are cut at a word boundary and marked with an ellipsis."""

_redactor = Redactor()

_PHONE_TAIL = re.compile(re.escape(REDACTED) + r"[\d\s().\-]*\d")
"""Digits left after a redacted phone number, when the log pattern stopped short of its end."""


def quotable(comment: str, names: Iterable[str] = ()) -> str:
    """`comment` with personal data replaced by `[redacted]`, whitespace folded, length capped.

    Names are matched case-insensitively; names in Latin script only as whole words, so a
    first name such as "Al" does not cut into "also". Scripts without spaces (Japanese) are
    matched anywhere.
    """
    text = _PHONE_TAIL.sub(REDACTED, _redactor.redact_text(" ".join(comment.split())))
    for name in sorted({n.strip() for n in names if len(n.strip()) >= 2}, key=len, reverse=True):
        escaped = re.escape(name)
        word = rf"(?<!\w){escaped}(?!\w)" if name.isascii() else escaped
        text = re.sub(word, REDACTED, text, flags=re.IGNORECASE)
    if len(text) <= MAX_QUOTE:
        return text
    cut = text[:MAX_QUOTE].rsplit(" ", 1)[0] if " " in text[:MAX_QUOTE] else text[:MAX_QUOTE]
    return cut.rstrip(" ,.;:、。") + "…"
