"""The base of every configuration section: frozen, strict about keys, helpful about typos."""

import difflib
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

from worker.config.errors import invalid


def suggest(word: str, choices: list[str], *, list_valid: bool = True) -> str:
    """`; did you mean 'x'?` for the closest choice, else (if `list_valid`) the valid ones."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f" (valid: {', '.join(choices)})" if choices and list_valid else ""


class Section(BaseModel):
    """A mapping in the YAML file; unknown keys are rejected with the nearest valid key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    internal_keys: ClassVar[frozenset[str]] = frozenset()
    """Fields filled by the loader itself, never written by RevOps."""

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            known = [name for name in cls.model_fields if name not in cls.internal_keys]
            for key in data:
                if key not in cls.model_fields:
                    raise invalid(f"unknown key{suggest(str(key), known)}", key)
        return data


def one_of(*choices: str) -> BeforeValidator:
    """Read `{choice: {...}}` (exactly one key) as `{"kind": choice, ...}` for a tagged union.

    The tag equals the YAML key, so pydantic error locations still follow the file's keys.
    """

    def unwrap(value: Any) -> Any:
        if not isinstance(value, Mapping):
            return value
        keys = list(value)
        if len(keys) != 1:
            found = f"; found {', '.join(map(str, keys))}" if keys else ""
            raise invalid(f"needs exactly one of {', '.join(choices)}{found}")
        (key,) = keys
        if key not in choices:
            raise invalid(f"unknown kind '{key}'{suggest(str(key), list(choices))}", key)
        inner = value[key]
        if inner is None:
            inner = {}
        if not isinstance(inner, Mapping):
            raise invalid("expected a mapping of settings", key)
        if "kind" in inner:
            raise invalid("unknown key 'kind'", key, "kind")
        return {"kind": key, **inner}

    return BeforeValidator(unwrap)
