"""Load the YAML file into `Config`, turning every validation error into file:line:col and key."""

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from worker.config.base import suggest
from worker.config.errors import ISSUE_TYPE, ConfigError, ConfigIssue
from worker.config.model import Config
from worker.config.source import Path as KeyPath
from worker.config.source import Source, format_path, read_source

MAX_BYTES = 1_000_000
"""Far above any real configuration (the documented example is ~40 KB); a larger file is the
wrong file, and parsing it would keep the reader waiting for a minute."""


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the configuration file at `path`; raise ConfigError naming what to fix."""
    return load_located(path, env)[0]


def load_located(path: Path, env: Mapping[str, str] | None = None) -> tuple[Config, Source]:
    """The config at `path` and where each of its keys sits, for checks made after loading."""
    try:
        if path.stat().st_size > MAX_BYTES:
            size = path.stat().st_size / 1_000_000
            problem = (
                f"configuration file is {size:.1f} MB; a configuration is under"
                f" {MAX_BYTES // 1_000_000} MB (is this the right file?)"
            )
            raise ConfigError([ConfigIssue(str(path), 0, 0, "", problem)])
        data = path.read_bytes()
        text = data.decode("utf-8")
    except FileNotFoundError:
        problem = "configuration file not found"
    except IsADirectoryError:
        problem = "is a directory, not a configuration file"
    except PermissionError:
        problem = "configuration file is not readable (permission denied)"
    except UnicodeDecodeError as error:
        raise ConfigError([_not_utf8(str(path), data, error.start)]) from None
    except OSError as error:
        problem = f"cannot read configuration file ({error.strerror})"
    else:
        return parse_located(text, str(path), env)
    raise ConfigError([ConfigIssue(str(path), 0, 0, "", problem)])


def _not_utf8(name: str, data: bytes, start: int) -> ConfigIssue:
    """Where the first byte that is not UTF-8 sits, and what to do (e.g. a file saved as cp932)."""
    before = data[:start]
    line = before.count(b"\n") + 1
    column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
    guess = ""
    try:
        data.decode("cp932")
        guess = " (it looks like Shift_JIS/cp932)"
    except UnicodeDecodeError:
        pass
    problem = f"not UTF-8 text{guess}; save the file as UTF-8 (UTF-8 で保存してください)"
    return ConfigIssue(name, line, column, "", problem)


def parse_config(
    text: str, source: str = "<string>", env: Mapping[str, str] | None = None
) -> Config:
    """Validate configuration YAML `text`; `source` names it in errors, `env` feeds `${VAR}`."""
    return parse_located(text, source, env)[0]


def parse_located(
    text: str, source: str = "<string>", env: Mapping[str, str] | None = None
) -> tuple[Config, Source]:
    """`parse_config`, also returning the document with the position of every key."""
    document = read_source(text, source, os.environ if env is None else env)
    try:
        return Config.model_validate(document.data), document
    except ValidationError as error:
        issues = {_issue(detail, document) for detail in error.errors(include_url=False)}
        raise ConfigError(_without_follow_ups(issues)) from None


def _issue(detail: ErrorDetails, document: Source) -> ConfigIssue:
    location: list[str | int] = list(detail["loc"])
    if detail["type"] == ISSUE_TYPE:
        context = detail.get("ctx") or {}
        location.extend(context["subpath"])
        message = str(context["message"])
    else:
        message = _wording(detail)
    found, shown = _resolve(location, document.data)
    if found in document.interpolated:
        message = _redact(message, _value_at(document.data, found))
    line, column = document.locate(found)
    return ConfigIssue(document.name, line, column, format_path(shown), message)


def _without_follow_ups(issues: set[ConfigIssue]) -> list[ConfigIssue]:
    """Drop an issue about a node when a node inside it has its own (the cause), in file order."""
    paths = {issue.path for issue in issues}
    causes = [
        issue
        for issue in issues
        if not any(other.startswith((f"{issue.path}.", f"{issue.path}[")) for other in paths)
    ]
    return sorted(causes, key=lambda issue: (issue.line, issue.column, issue.path))


def _resolve(location: list[str | int], data: Any) -> tuple[KeyPath, KeyPath]:
    """Split a pydantic location into the part present in the file and the path to show.

    Parts the file does not have are pydantic's own (dict-key markers) or keys that are missing
    or defaulted; the shown path keeps the latter so the reader sees the full key.
    """
    found: list[str | int] = []
    shown: list[str | int] = []
    node: Any = data
    lost = False
    for part in location:
        if part == "[key]":
            continue
        in_mapping = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if not lost and (in_mapping or in_list):
            node = node[part]
            found.append(part)
        else:
            lost = True
        shown.append(part)
    return tuple(found), tuple(shown)


def _value_at(data: Any, path: KeyPath) -> Any:
    node = data
    for part in path:
        node = node[part]
    return node


def _redact(message: str, value: Any) -> str:
    """Keep values that came from the environment (possibly secrets) out of messages."""
    if isinstance(value, str) and value:
        return message.replace(value, "<value from environment>")
    return message


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return f"'{value}'"
    return repr(value)


_TYPE_NAMES = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "string": "text",
    "dict": "a mapping",
    "model": "a mapping",
    "model_attributes": "a mapping",
    "list": "a list",
    "tuple": "a list",
}
_FIXED = {"missing": "required key missing", "extra_forbidden": "unknown key"}
_BOUNDS = {
    "greater_than": "greater than",
    "greater_than_equal": "at least",
    "less_than": "less than",
    "less_than_equal": "at most",
}


def _wording(detail: ErrorDetails) -> str:
    """Pydantic's message rephrased for a person editing YAML."""
    kind, value, context = detail["type"], detail["input"], detail.get("ctx") or {}
    if kind in _FIXED:
        return _FIXED[kind]
    if kind == "literal_error":
        expected = str(context.get("expected", ""))
        choices = re.findall(r"'([^']*)'", expected)
        hint = suggest(value, choices, list_valid=False) if isinstance(value, str) else ""
        return f"invalid value {_shown(value)} (expected {expected}){hint}"
    if kind in _BOUNDS:
        limit = next(iter(context.values()), "?")
        return f"must be {_BOUNDS[kind]} {limit} (got {_shown(value)})"
    if kind in ("too_short", "string_too_short") and context.get("min_length") == 1:
        return "must not be empty"
    stem = "model_attributes" if kind.startswith("model_attributes") else kind.split("_")[0]
    if stem in _TYPE_NAMES and kind.endswith(("_type", "_parsing", "_from_float", "_fraction")):
        return f"expected {_TYPE_NAMES[stem]}, got {_shown(value)}"
    return str(detail["msg"]).removeprefix("Value error, ")
