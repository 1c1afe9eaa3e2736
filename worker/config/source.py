"""Read YAML text into plain data, remembering where each key sits and interpolating `${ENV}`."""

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from worker.config.errors import ConfigError, ConfigIssue

Path = tuple[str | int, ...]
"""Keys and list indexes from the document root down to one node."""

_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Source:
    """A parsed document: plain data, the (line, column) of every node, and what came from env."""

    name: str
    data: dict[str, Any]
    positions: dict[Path, tuple[int, int]]
    interpolated: frozenset[Path] = field(default_factory=frozenset)

    def locate(self, path: Path) -> tuple[int, int]:
        """Line and column (1-based) of the deepest node of `path` present in the document."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return (1, 1)


def format_path(path: Path) -> str:
    """Dotted key path as RevOps reads it: `programs.case_closed.trigger`, `tags[2].id`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def read_source(text: str, name: str, env: Mapping[str, str]) -> Source:
    """Parse YAML text; raise ConfigError naming file:line:col for syntax, duplicates and env."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        document = yaml.load(text)
    except MarkedYAMLError as error:
        raise ConfigError([_syntax_issue(error, name, text.splitlines())]) from None
    except YAMLError as error:
        raise ConfigError([ConfigIssue(name, 1, 1, "", f"invalid YAML: {error}")]) from None
    except RecursionError:
        raise ConfigError(
            [ConfigIssue(name, 1, 1, "", "invalid YAML: nested too deeply")]
        ) from None
    except ValueError as error:  # an integer longer than Python converts (sys.int_info)
        raise ConfigError([ConfigIssue(name, 1, 1, "", f"invalid YAML: {error}")]) from None
    except (AttributeError, TypeError, KeyError, IndexError):  # ruamel on e.g. `key: !!set`
        problem = "invalid YAML: a tag or structure that cannot be read (e.g. !!set on a scalar)"
        raise ConfigError([ConfigIssue(name, 1, 1, "", problem)]) from None
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise ConfigError(
            [
                ConfigIssue(
                    name, 1, 1, "", "the file must be a mapping of sections (database, crm, …)"
                )
            ]
        )
    builder = _Builder(name, env)
    try:
        data = builder.build(document, (), _start(document))
    except _TooLarge as error:
        raise ConfigError([error.issue]) from None
    if builder.issues:
        raise ConfigError(builder.issues)
    return Source(name, data, builder.positions, frozenset(builder.interpolated))


def _syntax_issue(error: MarkedYAMLError, name: str, lines: list[str]) -> ConfigIssue:
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = str(error.problem or error.context or "unreadable YAML")
    start = error.context_mark
    plain = _plain_words(problem, str(error.context or ""), line, lines)
    if plain is not None:
        at, message = plain
        if at == "start" and start is not None:
            line, column = start.line + 1, start.column + 1
        elif at == "line":
            column = _indent(lines[line - 1]) + 1 if line <= len(lines) else 1
        return ConfigIssue(name, line, column, "", f"invalid YAML: {message}")
    if error.context and start is not None and (start.line + 1, start.column + 1) != (line, column):
        problem += f" ({error.context} started at {start.line + 1}:{start.column + 1})"
    if "\\t" in problem or "\t" in problem:
        problem = "tab character in indentation; indent with spaces"
    elif problem.startswith("found duplicate key"):
        key = problem.split('"')[1] if '"' in problem else "?"
        problem = f"duplicate key '{key}'"
    return ConfigIssue(name, line, column, "", f"invalid YAML: {problem}")


def _plain_words(  # noqa: PLR0911 (one return per kind of mistake, read top to bottom)
    problem: str, context: str, line: int, lines: list[str]
) -> tuple[str, str] | None:
    """The parser's complaint as what to do, and where (`start`: where the construct began,
    `line`: the offending line's first character), for the mistakes people make most."""
    if "quoted scalar" in context:
        return "start", "this quote is never closed; end the value with the same quote mark"
    if "flow sequence" in context or "flow mapping" in context:
        bracket = "[" if "sequence" in context else "{"
        closing = "]" if bracket == "[" else "}"
        return "start", f"this '{bracket}' is not closed; end the list with '{closing}'"
    if line > len(lines):
        return None
    here = lines[line - 1]
    key = here.strip().split(":", 1)[0]
    above = _line_above(lines, line)
    if problem.startswith("mapping values are not allowed") and above is not None:
        if _indent(here) > _indent(lines[above - 1]):
            return "line", (
                f"'{key}' is indented more than line {above}; keys of one section line up"
                " (use the same number of spaces)"
            )
        return None
    if problem.startswith("expected <block end>") or (
        problem.startswith("could not find expected ':'")
    ):
        return "line", (
            f"the indentation of '{key}' ({_spaces(_indent(here))}) matches no key above it;"
            " line it up with the other keys of its section"
        )
    return None


def _line_above(lines: list[str], line: int) -> int | None:
    """The nearest line above `line` with content (not blank, not only a comment)."""
    for number in range(line - 1, 0, -1):
        text = lines[number - 1].strip()
        if text and not text.startswith("#"):
            return number
    return None


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


MAX_DEPTH = 32
"""Deeper nesting than any real configuration; refused before it reaches validation."""

MAX_NODES = 100_000
"""Values in the document once aliases are expanded; bounds `&a [*b, *b, ...]` blow-ups."""


class _TooLarge(Exception):
    """The document nests too deeply or expands to too many values; carries the located issue."""

    def __init__(self, issue: ConfigIssue) -> None:
        super().__init__(str(issue))
        self.issue = issue


class _Builder:
    """Walks the round-trip tree once, copying values out and collecting positions and issues."""

    def __init__(self, name: str, env: Mapping[str, str]) -> None:
        self.name = name
        self.env = env
        self.positions: dict[Path, tuple[int, int]] = {}
        self.interpolated: set[Path] = set()
        self.issues: list[ConfigIssue] = []
        self.nodes = 0

    def build(self, node: Any, path: Path, position: tuple[int, int]) -> Any:
        self.positions[path] = position
        self.nodes += 1
        if len(path) > MAX_DEPTH:
            problem = f"nested more than {MAX_DEPTH} levels deep"
            raise _TooLarge(ConfigIssue(self.name, *position, format_path(path), problem))
        if self.nodes > MAX_NODES:
            problem = f"more than {MAX_NODES} values once aliases are expanded"
            raise _TooLarge(ConfigIssue(self.name, *position, format_path(path), problem))
        if isinstance(node, CommentedMap):
            return self._mapping(node, path, position)
        if isinstance(node, CommentedSeq):
            return [
                self.build(item, (*path, index), _mark(node.lc.item, index, position))
                for index, item in enumerate(node)
            ]
        return self._scalar(node, path, position)

    def _mapping(self, node: CommentedMap, path: Path, position: tuple[int, int]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in node.items():
            key_position = _mark(node.lc.key, key, position)
            if not isinstance(key, str):
                self._issue(key_position, path, f"key {key!r} must be text")
                continue
            result[key] = self.build(value, (*path, key), key_position)
        return result

    def _scalar(self, value: Any, path: Path, position: tuple[int, int]) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return self._interpolate(str(value), path, position)
        if isinstance(value, int):
            return bool(value) if type(value).__name__ == "ScalarBoolean" else int(value)
        if isinstance(value, float):
            return float(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        self._issue(position, path, f"unsupported YAML value of type {type(value).__name__}")
        return None

    def _interpolate(self, text: str, path: Path, position: tuple[int, int]) -> str:
        if "$" not in text:
            return text
        parts: list[str] = []
        last = 0
        for match in _REFERENCE.finditer(text):
            parts.append(text[last : match.start()])
            last = match.end()
            if match.group(0) == "$${":
                parts.append("${")
                continue
            body = match.group(1)
            if body is None:
                self._issue(position, path, "unclosed '${' (write $${ for a literal '${')")
                return text
            name, has_default, default = body.partition(":-")
            if not _NAME.fullmatch(name):
                self._issue(position, path, f"invalid environment variable reference '${{{body}}}'")
                return text
            value = self.env.get(name)
            if value is None or (has_default and value == ""):
                if not has_default:
                    self._issue(position, path, f"environment variable '{name}' is not set")
                    return text
                value = default
            parts.append(value)
            self.interpolated.add(path)
        parts.append(text[last:])
        return "".join(parts)

    def _issue(self, position: tuple[int, int], path: Path, message: str) -> None:
        self.issues.append(ConfigIssue(self.name, *position, format_path(path), message))


def _start(document: CommentedMap) -> tuple[int, int]:
    """1-based position of the document's root; an empty document (no mark) starts at 1:1."""
    if document.lc.line is None:
        return (1, 1)
    return (document.lc.line + 1, document.lc.col + 1)


def _mark(lookup: Any, key: Any, fallback: tuple[int, int]) -> tuple[int, int]:
    """1-based position of a key or item; merged (`<<`) keys fall back to their mapping."""
    try:
        line, column = lookup(key)
    except (KeyError, IndexError, TypeError):
        return fallback
    return (line + 1, column + 1)


def _spaces(count: int) -> str:
    return "1 space" if count == 1 else f"{count} spaces"
