"""The condition language of programs and follow-up rules, parsed into typed clauses at load time.

A condition is a mapping of field -> test, all of which must hold:
`{Status: {changed_to: Closed}, Priority: High, Type: {in: [A, B]}, Amount: {gte: 1000}}`.
The reserved keys `any` and `all` take a list of conditions: one of them (`any`) or every one
of them (`all`) must hold as well, e.g. `{any: [{Priority: High}, {Amount: {gte: 1000}}]}`.
"""

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator
from pydantic_core import PydanticCustomError

from worker.config.errors import invalid

Scalar = str | int | float | bool | None
"""A value a CRM field is compared with."""


class Operator(StrEnum):
    """How a field is tested."""

    CHANGED_TO = "changed_to"
    EQUALS = "equals"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IS_NULL = "is_null"


_LISTS = frozenset({Operator.IN, Operator.NOT_IN})
_ORDERED = frozenset({Operator.GT, Operator.GTE, Operator.LT, Operator.LTE})
_MATCHES = frozenset({Operator.CHANGED_TO, Operator.EQUALS, Operator.IN, Operator.NOT_IN})
_BARE_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_QUALIFIED_FIELD = re.compile(r"(contact|account)\.[A-Za-z][A-Za-z0-9_]*")
_GROUPS = ("any", "all")


@dataclass(frozen=True, slots=True)
class Clause:
    """One test of one field: `field operator value`."""

    field: str
    operator: Operator
    value: Scalar | tuple[Scalar, ...]


@dataclass(frozen=True, slots=True)
class Condition:
    """Clauses that must all hold, plus groups; an empty condition always holds.

    `any_of`: at least one of these sub-conditions must hold (when there are any);
    `all_of`: every one must hold (lets several `any` groups be combined).
    """

    clauses: tuple[Clause, ...] = ()
    any_of: tuple["Condition", ...] = ()
    all_of: tuple["Condition", ...] = ()

    @property
    def fields(self) -> frozenset[str]:
        """Every field the condition reads, so sync can select exactly those."""
        own = frozenset(clause.field for clause in self.clauses)
        return own.union(*(group.fields for group in (*self.any_of, *self.all_of)))

    def compared_values(self) -> dict[str, set[str]]:
        """The text values each field is compared with for equality or membership (`changed_to`,
        equals, in, not_in), so `check` can find values the CRM's picklists do not have."""
        found: dict[str, set[str]] = {}
        for clause in self.clauses:
            if clause.operator in _MATCHES:
                operands = clause.value if isinstance(clause.value, tuple) else (clause.value,)
                found.setdefault(clause.field, set()).update(
                    operand for operand in operands if isinstance(operand, str)
                )
        for group in (*self.any_of, *self.all_of):
            for field, values in group.compared_values().items():
                found.setdefault(field, set()).update(values)
        return found

    @property
    def watches_change(self) -> bool:
        """Whether some clause needs the previous value of a record (`changed_to`)."""
        return any(clause.operator is Operator.CHANGED_TO for clause in self.clauses) or any(
            group.watches_change for group in (*self.any_of, *self.all_of)
        )


def _parse(value: Any, *, qualified: bool, allow_change: bool, required: bool) -> Condition:
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise invalid(
            "a condition is a mapping of field -> test, e.g. {Status: {changed_to: Closed}}"
        )
    if required and not value:
        raise invalid("condition must test at least one field")
    clauses: list[Clause] = []
    groups: dict[str, tuple[Condition, ...]] = {}
    for field, test in value.items():
        if field in _GROUPS:
            groups[field] = _group(field, test, qualified=qualified, allow_change=allow_change)
            continue
        _check_field(field, qualified=qualified)
        if isinstance(test, Mapping):
            if not test:
                raise invalid("empty test; use e.g. {equals: X}", field)
            clauses.extend(
                _clause(field, op, operand, allow_change) for op, operand in test.items()
            )
        elif isinstance(test, list):
            raise invalid("a bare list is ambiguous; write {in: [...]} or {not_in: [...]}", field)
        else:
            clauses.append(Clause(field, Operator.EQUALS, test))
    return Condition(tuple(clauses), groups.get("any", ()), groups.get("all", ()))


def _group(key: str, items: Any, *, qualified: bool, allow_change: bool) -> tuple[Condition, ...]:
    if not isinstance(items, list) or not items:
        raise invalid(
            f"'{key}' takes a non-empty list of conditions, e.g. [{{A: 1}}, {{B: 2}}]", key
        )
    parsed = []
    for index, item in enumerate(items):
        try:
            parsed.append(
                _parse(item, qualified=qualified, allow_change=allow_change, required=True)
            )
        except PydanticCustomError as error:
            context = error.context or {}
            raise invalid(
                str(context.get("message", error.message())),
                key,
                index,
                *context.get("subpath", ()),
            ) from None
    return tuple(parsed)


def _check_field(field: str, *, qualified: bool) -> None:
    if qualified and not _QUALIFIED_FIELD.fullmatch(field):
        raise invalid(
            f"field '{field}' must name its record: contact.<Field> or account.<Field>", field
        )
    if not qualified and not _BARE_FIELD.fullmatch(field):
        raise invalid(f"invalid field name '{field}' (a CRM API name, e.g. Status)", field)


def _clause(field: str, name: str, operand: Any, allow_change: bool) -> Clause:
    try:
        operator = Operator(name)
    except ValueError:
        choices = [op.value for op in Operator]
        close = difflib.get_close_matches(str(name), choices, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f" (use one of {', '.join(choices)})"
        raise invalid(f"unknown operator '{name}'{hint}", field, name) from None
    if operator is Operator.CHANGED_TO and not allow_change:
        raise invalid("changed_to only applies to a record_change trigger's 'when'", field, name)
    if operator is Operator.IS_NULL:
        if not isinstance(operand, bool):
            raise invalid("'is_null' takes true or false", field, name)
        return Clause(field, operator, operand)
    if operator in _LISTS:
        if not isinstance(operand, list) or not operand:
            raise invalid(f"'{name}' takes a non-empty list, e.g. [A, B]", field, name)
        for item in operand:
            _check_scalar(item, field, name)
        return Clause(field, operator, tuple(operand))
    _check_scalar(operand, field, name)
    if operator in _ORDERED and (operand is None or isinstance(operand, bool)):
        raise invalid(f"'{name}' compares with a number, date or text", field, name)
    return Clause(field, operator, operand)


def _check_scalar(value: Any, field: str, name: str) -> None:
    if isinstance(value, Mapping | list):
        raise invalid(f"'{name}' takes a single value, not a list or mapping", field, name)


def _as_mapping(condition: Condition) -> dict[str, Any]:
    """The condition in the YAML shape it is written in."""
    shape: dict[str, Any] = {}
    for clause in condition.clauses:
        value = list(clause.value) if isinstance(clause.value, tuple) else clause.value
        shape.setdefault(clause.field, {})[clause.operator.value] = value
    for key, groups in (("any", condition.any_of), ("all", condition.all_of)):
        if groups:
            shape[key] = [_as_mapping(group) for group in groups]
    return shape


_serialize = PlainSerializer(_as_mapping)


def _record_condition(value: Any) -> Condition:
    return _parse(value, qualified=False, allow_change=True, required=True)


def _object_filter(value: Any) -> Condition:
    return _parse(value, qualified=False, allow_change=False, required=False)


def _audience(value: Any) -> Condition:
    return _parse(value, qualified=True, allow_change=False, required=False)


RecordCondition = Annotated[Condition, PlainValidator(_record_condition), _serialize]
"""Fields of the trigger record; `changed_to` allowed; at least one field."""

ObjectFilter = Annotated[Condition, PlainValidator(_object_filter), _serialize]
"""Fields of one record, tested on its current values; may be empty (always true)."""

AudienceCondition = Annotated[Condition, PlainValidator(_audience), _serialize]
"""Fields of the contact or its account (`contact.X`, `account.X`); may be empty (always true)."""
