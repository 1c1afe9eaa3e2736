"""Configuration errors that name the file, line, column and key a person has to fix."""

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

ISSUE_TYPE = "nps_config"
"""Pydantic error type of the issues our own validators raise (see `invalid`)."""


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a configuration file, located where the reader has to look."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; `str()` is the first issue, `.errors` holds all of them."""

    def __init__(self, errors: list[ConfigIssue]) -> None:
        if not errors:
            raise ValueError("ConfigError needs at least one issue")
        self.errors = errors
        super().__init__(str(errors[0]))


def invalid(message: str, *subpath: str | int) -> PydanticCustomError:
    """Build a validation error with our wording, optionally below the validated node by `subpath`.

    Model-level validators only know their own location; `subpath` lets them point at the exact
    key inside the model so the loader can still report that key's line and column.
    """
    return PydanticCustomError(ISSUE_TYPE, "{message}", {"message": message, "subpath": subpath})


def raise_all(title: str, errors: Sequence[PydanticCustomError]) -> None:
    """Raise every error a validator found at once (each at its own `subpath`), or nothing."""
    if errors:
        details = [InitErrorDetails(type=error, loc=(), input=None) for error in errors]
        raise ValidationError.from_exception_data(title, details)
