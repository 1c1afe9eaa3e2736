"""Configuration inputs: mutations of config.example.yaml, YAML-ish token soup, and raw text.

The property: any text either loads or raises ConfigError whose every issue names
`source:line:col`; no other exception escapes `parse_config`.
"""

import copy
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from ruamel.yaml import YAML

from worker.config import ConfigError, parse_config

SOURCE = "fuzz.yaml"
EXAMPLE_TEXT = (Path(__file__).resolve().parents[2] / "config.example.yaml").read_text("utf-8")
EXAMPLE: dict[str, Any] = YAML(typ="safe").load(EXAMPLE_TEXT)

_TOKENS = [
    *(f"{key}:" for key in EXAMPLE),
    "kind:", "salesforce", "hubspot", "  ", "    ", "\n", "\n  ", "- ", ": ", "{", "}", "[",
    "]", ",", "'", '"', "&a ", "*a", "<<: *a", "!!str ", "!!binary ", "!!set ", "!foo ", "? ",
    "|\n", ">-\n", "#", "${DATABASE_URL}", "${X:-y}", "${", "$${", "~", "null", "true", "0x1F",
    "1e999", ".nan", "-.inf", "30d", "-30d", "2025-01-01", "12:30", "\t", "\ufeff", "機能", "\x85",
    "\u2028", "%YAML 1.2\n", "---\n", "...\n", "9" * 60,
]  # fmt: skip

_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(),
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8"), min_size=1000, max_size=5000),
    st.sampled_from(["30d", "-1d", "0s", "99999999w", "Closed", "en", "ja", "salesforce", ""]),
)
_junk = st.recursive(
    _scalar,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, Mapping):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def _mutated_data(draw: st.DrawFn) -> Any:
    """A few sections of the example with one to four grammar-aware mutations."""
    sections = draw(st.sets(st.sampled_from(sorted(EXAMPLE)), max_size=3))
    data: Any = {key: copy.deepcopy(EXAMPLE[key]) for key in sorted(sections)}
    if "crm" not in data:
        data["crm"] = {"kind": draw(st.sampled_from(["salesforce", "hubspot"]))}
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _parent(data, path), path[-1]
        operation = draw(st.sampled_from(["delete", "replace", "rename", "nest", "duplicate"]))
        if operation == "delete":
            del parent[last]
        elif operation == "replace":
            parent[last] = draw(_junk)
        elif operation == "rename" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12) | st.just(str(last).upper()))] = parent.pop(last)
        elif operation == "nest":
            value = parent[last]
            for _ in range(draw(st.integers(1, 60))):
                value = draw(st.sampled_from([[value], {"x": value}]))
            parent[last] = value
        elif operation == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    return data


def _dump(data: Any) -> str:
    stream = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.dump(data, stream)
    return stream.getvalue()


@st.composite
def _text_mutation(draw: st.DrawFn, text: str) -> str:
    """Edit the YAML text itself: insert tokens, drop or repeat lines, alias a section."""
    lines = text.splitlines(keepends=True) or [""]
    for _ in range(draw(st.integers(0, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        operation = draw(st.sampled_from(["insert", "drop", "repeat", "anchor", "truncate"]))
        if operation == "insert":
            line = lines[index]
            at = draw(st.integers(0, len(line)))
            lines[index] = line[:at] + draw(st.sampled_from(_TOKENS)) + line[at:]
        elif operation == "drop" and len(lines) > 1:
            del lines[index]
        elif operation == "repeat":
            lines.insert(index, lines[index])
        elif operation == "anchor":
            key = lines[index].split(":", 1)[0]
            lines[index] = lines[index].replace(":", ": &a", 1)
            lines.append(f"{key.strip() or 'x'}: *a\n")
        elif operation == "truncate":
            lines = lines[: index + 1]
            lines[-1] = lines[-1][: draw(st.integers(0, len(lines[-1])))]
    return "".join(lines)


@st.composite
def _mutated_text(draw: st.DrawFn) -> str:
    return draw(_text_mutation(_dump(draw(_mutated_data()))))


_soup = st.lists(st.sampled_from(_TOKENS) | st.text(max_size=4), max_size=40).map("".join)

config_texts = st.one_of(_mutated_text(), _soup, st.text(max_size=200))
"""Any text a config file could hold, weighted toward near-valid YAML."""

environments = st.dictionaries(
    st.sampled_from(["DATABASE_URL", "X", "HUBSPOT_ACCESS_TOKEN"]), st.text(max_size=20), max_size=3
)


def check_config(text: str, env: dict[str, str]) -> None:
    """Loads, or fails with ConfigError issues that each name source:line:col."""
    try:
        parse_config(text, SOURCE, env)
    except ConfigError as error:
        for issue in error.errors:
            assert issue.file == SOURCE, issue
            assert issue.line >= 1, issue
            assert issue.column >= 1, issue
            assert str(issue).startswith(f"{SOURCE}:{issue.line}:{issue.column}: "), issue
