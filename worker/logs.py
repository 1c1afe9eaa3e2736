"""Logging, set up once: structlog and stdlib loggers share processors; personal data is redacted.

JSON goes out when stderr is not a terminal (the container), a readable console when it is.
SQLAlchemy, APScheduler and urllib3 log through the stdlib; `ProcessorFormatter` routes them
through the same chain, so the redaction applies to every line whoever wrote it.
"""

import logging
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LogFormat = Literal["auto", "json", "console"]

REDACTED = "[redacted]"

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
# Phone numbers: international with a leading +, or national with separators (03-1234-5678).
# Bare digit runs are left alone: HubSpot record ids are long numeric strings.
_PHONE = re.compile(
    r"(?<![\w.+])(?:\+\d[\d\s().\-]{7,18}\d|\(?\d{2,4}\)?[\s.\-]\d{2,4}[\s.\-]\d{3,4})(?![\w.])"
)
_TOKENS = (
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=\-!]+"),
    re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"),  # JWT
    re.compile(r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]+"),  # Salesforce session id
    re.compile(r"\bpat-[a-z]{2,4}\d?-[0-9a-f\-]{20,}"),  # HubSpot private-app token
)
_DATABASE_DETAIL = re.compile(
    r"DETAIL:.*?(?=\n\[SQL|\n\nThe above exception|\n\nDuring handling|\Z)", re.DOTALL
)
"""PostgreSQL's error DETAIL quotes row and key values ("Failing row contains (...)"): it is
cut up to where SQLAlchemy's statement or the next traceback starts (values may hold newlines)."""
_SECRET_KEY = re.compile(r"(?i)(password|passwd|secret|token|authorization|api[_-]?key|cookie)")


class Redactor:
    """A structlog processor that removes e-mail addresses, phone numbers, tokens and secrets."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self.add_secrets(secrets)

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """Register exact secret values (from config) to be removed wherever they appear."""
        self._secrets.update(s for s in secrets if len(s) >= 4)

    def redact_text(self, text: str) -> str:
        """Return `text` with every known secret and personal-data pattern replaced."""
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        text = _DATABASE_DETAIL.sub(f"DETAIL: {REDACTED}", text)
        for pattern in _TOKENS:
            text = pattern.sub(REDACTED, text)
        text = _EMAIL.sub(REDACTED, text)
        return _PHONE.sub(REDACTED, text)

    def _redact(self, value: Any, key: str = "") -> Any:
        if key and _SECRET_KEY.search(key) and value not in (None, "", True, False):
            return REDACTED
        if isinstance(value, Mapping):
            return {k: self._redact(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self._redact(v) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        text = value.decode("utf-8", "replace") if isinstance(value, bytes | bytearray) else value
        return self.redact_text(str(text))

    def __call__(self, logger: WrappedLogger, name: str, event_dict: EventDict) -> EventDict:
        """Redact every value of the event, nested structures and rendered tracebacks included."""
        return {key: self._redact(value, key) for key, value in event_dict.items()}


redactor = Redactor()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of each record (test capture swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        """The stream always follows `sys.stderr`; assignments are ignored."""


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def configure_logging(
    level: str = "INFO", fmt: LogFormat = "auto", secrets: Iterable[str] = ()
) -> None:
    """Configure structlog and the stdlib root logger; safe to call again (tests, CLI)."""
    redactor.add_secrets(secrets)
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if use_json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.processors.format_exc_info],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            redactor,
            renderer,
        ],
    )
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Library chatter at INFO hides our own events; their warnings still come through.
    for noisy in ("sqlalchemy.engine", "apscheduler", "urllib3", "alembic"):
        logging.getLogger(noisy).setLevel(max(root.level, logging.WARNING))
