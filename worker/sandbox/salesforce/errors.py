"""Salesforce's error format: one exception type carried to one JSON shape.

REST API Developer Guide, "Status Codes and Error Responses" (errorcodes.htm): error bodies are
a JSON array of `{"message", "errorCode"}` objects, record-level ones with `fields` too.
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RecordError:
    """One error about one record, as sObject Collections and Composite report it."""

    status_code: str
    message: str
    fields: tuple[str, ...] = ()

    def as_save_error(self) -> dict[str, Any]:
        """The `errors[]` item of a SaveResult (statusCode/message/fields)."""
        return {
            "statusCode": self.status_code,
            "message": self.message,
            "fields": list(self.fields),
        }

    def as_api_error(self) -> dict[str, Any]:
        """The item of a REST error body (message/errorCode/fields)."""
        return {"message": self.message, "errorCode": self.status_code, "fields": list(self.fields)}


@dataclass
class SalesforceApiError(Exception):
    """A request the emulated org refuses, with the HTTP status and Salesforce's error items."""

    status: int
    error_code: str
    message: str
    fields: tuple[str, ...] | None = None  # present on record-level errors only
    extra: list[RecordError] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.status} {self.error_code}: {self.message}"

    @classmethod
    def from_record_errors(cls, status: int, errors: list[RecordError]) -> "SalesforceApiError":
        """The error raised when a single-record call fails with the given record errors."""
        first, *rest = errors
        return cls(status, first.status_code, first.message, first.fields, rest)

    def body(self) -> list[dict[str, Any]]:
        """The JSON error array Salesforce sends."""
        head: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            head["fields"] = list(self.fields)
        return [head, *(item.as_api_error() for item in self.extra)]


def not_found() -> SalesforceApiError:
    """The 404 Salesforce returns for an unknown resource or record."""
    return SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")


class FieldRejected(Exception):
    """A write the org refuses for one record; carries the SaveResult error to report."""

    def __init__(self, error: RecordError) -> None:
        super().__init__(error.message)
        self.error = error
