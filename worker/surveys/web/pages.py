"""Rendering the pages: Jinja2 templates, one inline stylesheet and script, and their CSP hashes.

Nothing loads from elsewhere: the CSS and the beacon script are inlined and allowed by hash,
so the Content-Security-Policy can forbid every other source.
"""

import base64
import hashlib
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

from worker.surveys.web.texts import texts_for

_HERE = Path(__file__).resolve().parent


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


class Pages:
    """Renders the templates in a language and knows the policy that lets them run."""

    def __init__(self, brand: str | None) -> None:
        self._env = Environment(
            loader=FileSystemLoader(_HERE / "templates"),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
        )
        self._css = (_HERE / "static" / "page.css").read_text(encoding="utf-8")
        self._script = (_HERE / "static" / "beacon.js").read_text(encoding="utf-8")
        self._brand = brand
        self.content_security_policy = (
            "default-src 'none'; "
            f"style-src {_csp_hash(self._css)}; "
            f"script-src {_csp_hash(self._script)}; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        )

    def render(
        self, template: str, language: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """The page `template` in `language`, with the shared stylesheet and script inlined."""
        html = self._env.get_template(template).render(
            lang=language,
            t=texts_for(language),
            css=self._css,
            script=self._script,
            brand=self._brand,
            **context,
        )
        return HTMLResponse(html, status_code=status)

    def message(
        self, kind: str, language: str, status: int, headers: dict[str, str] | None = None
    ) -> HTMLResponse:
        """A plain page saying one thing (`page.<kind>` in the texts), with its HTTP status."""
        words = texts_for(language)
        response = self.render(
            "message.html",
            language,
            status,
            heading=words[f"page.{kind}.title"],
            message=words[f"page.{kind}"],
        )
        response.headers.update(headers or {})
        return response
