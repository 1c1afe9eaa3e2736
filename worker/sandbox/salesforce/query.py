"""SOQL evaluation: resolve a parsed query against the schema, filter, sort and shape records.

Semantics from the SOQL and SOSL Reference: text comparisons are case-insensitive
(sforce_api_calls_soql_select_comparisonoperators.htm), `!=` and NOT IN also match nulls,
date literals are ranges compared with = < > (sforce_api_calls_soql_select_dateformats.htm;
LAST_N_DAYS:n includes today, NEXT_N_DAYS:n starts tomorrow), ORDER BY defaults to NULLS
FIRST ascending and NULLS LAST descending (sforce_api_calls_soql_select_orderby.htm).
Relative dates use the running user's day in UTC (the sandbox's API user lives in UTC).
A query sees only what the running user may read (`permissions.Access`): an object or field
they may not read does not exist for them, as in a real org. queryAll reaches deleted records
only while they are in the recycle bin (`store.RECYCLE_BIN`).
Result records are shaped as in the REST "Query" resource (resources_query.htm): an
`attributes` map first, then the selected fields, parent relationships nested.
"""

import operator as operator_module
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from worker.sandbox.salesforce.errors import SalesforceApiError
from worker.sandbox.salesforce.ids import normalize_id
from worker.sandbox.salesforce.permissions import UNRESTRICTED, Access
from worker.sandbox.salesforce.schema import (
    ID_TYPES,
    NUMBER_TYPES,
    TEXT_TYPES,
    FieldDef,
    SObjectDef,
    sobject,
)
from worker.sandbox.salesforce.soql import (
    Comparison,
    Condition,
    FieldPath,
    Junction,
    Negation,
    Query,
    RelativeDate,
    SoqlSyntaxError,
    Value,
    parse,
)
from worker.sandbox.salesforce.store import Record, RecordStore, is_archived, purged
from worker.sandbox.salesforce.values import to_json

Predicate = Callable[[Record], bool]
_POLYMORPHIC_FIELDS = {
    "id": FieldDef("Id", "Record ID", "id", length=18),
    "name": FieldDef("Name", "Name", "string", length=255),
}
_SOAP_TYPES = {"date": "date", "datetime": "dateTime", "boolean": "boolean"}
_SOAP_TYPES.update(dict.fromkeys(NUMBER_TYPES, "double"))


@dataclass(frozen=True)
class ResolvedField:
    """A field path bound to the schema: the references walked and the field read at the end."""

    references: tuple[FieldDef, ...]
    field: FieldDef
    polymorphic: bool
    relationship_names: tuple[str, ...]


@dataclass(frozen=True)
class Range:
    """The half-open interval a date literal stands for."""

    start: date | datetime
    end: date | datetime


@dataclass
class _Shape:
    leaves: dict[str, ResolvedField] = field(default_factory=dict)
    children: dict[str, "tuple[FieldDef, _Shape]"] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CompiledQuery:
    """A query ready to run: the sObject, what to select, the filter, sort and window."""

    definition: SObjectDef
    select: tuple[ResolvedField, ...]
    count: bool
    predicate: Predicate
    sort_keys: tuple[tuple[Callable[[Record], Any], bool, bool], ...]
    limit: int | None
    offset: int
    shape: _Shape
    now: datetime


def soql_error(text: str, offset: int, error_code: str, message: str) -> SalesforceApiError:
    """The 400 Salesforce returns for a bad query, with the caret under the offending spot."""
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line = text[line_start : line_end if line_end != -1 else len(text)]
    row = text.count("\n", 0, offset) + 1
    column = offset - line_start + 1
    caret = " " * (column - 1) + "^"
    return SalesforceApiError(
        400, error_code, f"\n{line}\n{caret}\nERROR at Row:{row}:Column:{column}\n{message}"
    )


class QueryEngine:
    """Runs SOQL against the org's records."""

    def __init__(self, store: RecordStore) -> None:
        self._store = store

    def compile(self, text: str, *, now: datetime, access: Access = UNRESTRICTED) -> CompiledQuery:
        """Parse and bind a query; raises SalesforceApiError (400) the way Salesforce words it."""
        try:
            query = parse(text)
            return _Binder(self._store, query, now, access).bind()
        except SoqlSyntaxError as error:
            raise soql_error(text, error.offset, error.error_code, error.message) from error

    def run(self, compiled: CompiledQuery, *, include_deleted: bool) -> list[Record]:
        """The matching records, sorted and windowed (live references; render before sending)."""
        with self._store.lock:
            name, now = compiled.definition.name, compiled.now
            rows = [
                record
                for record in self._store.table(name).values()
                if _listed(name, record, now, include_deleted=include_deleted)
                and compiled.predicate(record)
            ]
            for key, descending, nulls_last in reversed(compiled.sort_keys):
                null_rank = 0 if nulls_last == descending else 1
                rows.sort(key=_sort_key(key, null_rank), reverse=descending)
        end = None if compiled.limit is None else compiled.offset + compiled.limit
        return rows[compiled.offset : end]

    def render(self, compiled: CompiledQuery, record: Record, version: str) -> dict[str, Any]:
        """One result record as the REST API returns it."""
        with self._store.lock:
            return self._render(compiled.definition, record, compiled.shape, version, compiled.now)

    def _render(
        self, definition: SObjectDef, record: Record, shape: _Shape, version: str, now: datetime
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": attributes(definition.name, record["Id"], version)}
        for key in shape.order:
            if key in shape.leaves:
                resolved = shape.leaves[key]
                out[key] = to_json(_read_leaf(definition, record, resolved.field, now))
                continue
            reference, child_shape = shape.children[key]
            parent = self._store.find(record[reference.name]) if record[reference.name] else None
            out[key] = None if parent is None else self._render(*parent, child_shape, version, now)
        return out


def _listed(name: str, record: Record, now: datetime, *, include_deleted: bool) -> bool:
    """query lists live, unarchived records; queryAll adds the recycle bin and the archive."""
    if include_deleted:
        return not purged(record, now)
    return not record["IsDeleted"] and not is_archived(name, record, now)


def attributes(sobject_name: str, record_id: str, version: str) -> dict[str, str]:
    """The `attributes` map every REST record carries."""
    return {
        "type": sobject_name,
        "url": f"/services/data/v{version}/sobjects/{sobject_name}/{record_id}",
    }


def _read_leaf(definition: SObjectDef, record: Record, leaf: FieldDef, now: datetime) -> Any:
    if leaf.name == "Name" and definition.field("Name") is None:
        return record.get(_name_field(definition))
    if leaf.name == "IsArchived":
        return is_archived(definition.name, record, now)
    return record.get(leaf.name)


def _name_field(definition: SObjectDef) -> str:
    return next((f.name for f in definition.fields if f.name_field), "Id")


def _sort_key(key: Callable[[Record], Any], null_rank: int) -> Callable[[Record], tuple[int, Any]]:
    def sort_key(record: Record) -> tuple[int, Any]:
        value = key(record)
        return (null_rank, None) if value is None else (1 - null_rank, value)

    return sort_key


class _Binder:
    def __init__(self, store: RecordStore, query: Query, now: datetime, access: Access) -> None:
        self.store = store
        self.query = query
        self.now = now
        self.access = access

    def error(self, offset: int, code: str, message: str) -> SoqlSyntaxError:
        return SoqlSyntaxError(code, message, offset)

    def bind(self) -> CompiledQuery:
        query = self.query
        definition = self.access.sobject(query.sobject)
        if definition is None:
            raise self.error(
                query.sobject_offset,
                "INVALID_TYPE",
                f"sObject type '{query.sobject}' is not supported. If you are attempting to use a "
                "custom object, be sure to append the '__c' after the entity name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            )
        self.definition = definition
        select = tuple(self.resolve(path) for path in query.fields)
        predicate = self.condition(query.where) if query.where else _always
        sort_keys = []
        for key in query.order_by:
            resolved = self.resolve(key.field)
            if not resolved.field.filterable:
                raise self.error(
                    key.field.offset,
                    "INVALID_FIELD",
                    f"field '{resolved.field.name}' can not be sorted in a query call",
                )
            sort_keys.append((self.sort_getter(resolved), key.descending, key.nulls_last))
        if query.offset is not None and query.offset > 2000:
            raise self.error(0, "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
        return CompiledQuery(
            definition,
            select,
            query.count,
            predicate,
            tuple(sort_keys),
            query.limit,
            query.offset or 0,
            _shape_of(select),
            self.now,
        )

    def resolve(self, path: FieldPath) -> ResolvedField:
        parts = list(path.parts)
        if (
            len(parts) > 1
            and parts[0].lower() == self.definition.name.lower()
            and (self.definition.relationship(parts[0]) is None)
        ):
            parts = parts[1:]
        current: SObjectDef | None = self.definition
        references: list[FieldDef] = []
        names: list[str] = []
        for part in parts[:-1]:
            reference = self.visible_relationship(current, part)
            if reference is None:
                raise self.error(
                    path.offset,
                    "INVALID_FIELD",
                    f"Didn't understand relationship '{part}' in field path. If you are "
                    "attempting to use a custom relationship, be sure to append the '__r' after "
                    "the custom relationship name. Please reference your WSDL or the describe "
                    "call for the appropriate names.",
                )
            references.append(reference)
            names.append(reference.relationship_name or reference.name)
            targets = reference.reference_to
            current = self.access.sobject(targets[0]) if len(targets) == 1 else None
        last = parts[-1]
        leaf = (
            self.access.field(current, last)
            if current is not None
            else _POLYMORPHIC_FIELDS.get(last.lower())
        )
        if leaf is None:
            entity = current.name if current is not None else "Name"
            raise self.error(
                path.offset,
                "INVALID_FIELD",
                f"No such column '{last}' on entity '{entity}'. If you are attempting to use a "
                "custom field, be sure to append the '__c' after the custom field name. Please "
                "reference your WSDL or the describe call for the appropriate names.",
            )
        return ResolvedField(tuple(references), leaf, current is None, tuple(names))

    def visible_relationship(self, current: SObjectDef | None, part: str) -> FieldDef | None:
        """The reference field of relationship `part`, when the user sees it and its target."""
        reference = current.relationship(part) if current is not None else None
        if current is None or reference is None or not self.access.sees(current, reference):
            return None
        targets = [sobject(target) for target in reference.reference_to]
        if len(targets) == 1 and (targets[0] is None or not self.access.readable(targets[0])):
            return None
        return reference

    def getter(self, resolved: ResolvedField) -> Callable[[Record], Any]:
        store = self.store
        leaf = resolved.field
        if not resolved.references:
            definition, now = self.definition, self.now
            return lambda record: _read_leaf(definition, record, leaf, now)

        def walk(record: Record) -> Any:
            definition = self.definition
            current = record
            for reference in resolved.references:
                parent_id = current.get(reference.name)
                found = store.find(parent_id) if parent_id else None
                if found is None:
                    return None
                definition, current = found
            return _read_leaf(definition, current, leaf, self.now)

        return walk

    def sort_getter(self, resolved: ResolvedField) -> Callable[[Record], Any]:
        read = self.getter(resolved)
        if resolved.field.type in TEXT_TYPES:
            return lambda record: _fold(read(record))
        return read

    def condition(self, condition: Condition) -> Predicate:
        if isinstance(condition, Junction):
            operands = [self.condition(operand) for operand in condition.operands]
            if condition.operator == "AND":
                return lambda record: all(test(record) for test in operands)
            return lambda record: any(test(record) for test in operands)
        if isinstance(condition, Negation):
            inner = self.condition(condition.operand)
            return lambda record: not inner(record)
        return self.comparison(condition)

    def comparison(self, comparison: Comparison) -> Predicate:
        resolved = self.resolve(comparison.field)
        leaf = resolved.field
        if not leaf.filterable:
            raise self.error(
                comparison.field.offset,
                "INVALID_FIELD",
                f"field '{leaf.name}' can not be filtered in a query call",
            )
        operator = comparison.operator
        if operator == "LIKE" and leaf.type not in TEXT_TYPES:
            raise self.error(
                comparison.field.offset,
                "INVALID_FIELD",
                f"invalid operator on field '{leaf.name}': LIKE works on text fields only",
            )
        read = self.getter(resolved)
        normalize = _normalizer(leaf)
        operands = [self.operand(leaf, value) for value in comparison.values]

        def value_of(record: Record) -> Any:
            raw = read(record)
            return None if raw is None else normalize(raw)

        if operator == "LIKE":
            pattern = _like_pattern(operands[0])
            return lambda record: _like(pattern, read(record))
        if operator in {"IN", "NOT IN"}:
            negate = operator == "NOT IN"
            return lambda record: (
                negate != any(_compare("=", value_of(record), o) for o in operands)
            )
        operand = operands[0]
        return lambda record: _compare(operator, value_of(record), operand)

    def operand(self, leaf: FieldDef, value: Value) -> Any:
        if value.kind == "null":
            return None
        kind = leaf.type
        if kind in TEXT_TYPES or kind in ID_TYPES:
            return self.text_operand(leaf, value)
        if kind == "boolean":
            if value.kind != "boolean":
                raise self.type_error(leaf, value, "boolean")
            return value.value
        if kind in NUMBER_TYPES:
            if not isinstance(value.value, Decimal):
                raise self.type_error(leaf, value, "double")
            return float(value.value)
        if kind not in {"date", "datetime"}:
            raise self.type_error(leaf, value, kind)
        if isinstance(value.value, RelativeDate):
            return _range(value.value, self.now, as_datetime=kind == "datetime")
        if value.kind != kind:
            raise self.type_error(leaf, value, _SOAP_TYPES[kind])
        return value.value

    def text_operand(self, leaf: FieldDef, value: Value) -> Any:
        if value.kind != "string":
            raise self.type_error(leaf, value, "string", quoted=True)
        text = str(value.value)
        if leaf.type in ID_TYPES:
            normalized = normalize_id(text)
            if normalized is None:
                raise self.error(
                    value.offset, "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {text}"
                )
            return normalized
        return _fold(text)

    def type_error(
        self, leaf: FieldDef, value: Value, expected: str, *, quoted: bool = False
    ) -> SoqlSyntaxError:
        quoting = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
        return self.error(
            value.offset,
            "INVALID_FIELD",
            f"value of filter criterion for field '{leaf.name}' must be of type {expected} "
            f"and {quoting}",
        )


def _always(_record: Record) -> bool:
    return True


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _normalizer(leaf: FieldDef) -> Callable[[Any], Any]:
    if leaf.type in TEXT_TYPES:
        return _fold
    return lambda raw: raw


def _compare(operator: str, value: Any, operand: Any) -> bool:
    if operand is None:
        return operator in {"=", "!="} and (value is None) == (operator == "=")
    if value is None:
        return operator == "!="
    if isinstance(operand, Range):
        return _compare_range(operator, value, operand)
    if operator in {"=", "!="}:
        return bool(value == operand) == (operator == "=")
    return bool(_ORDERING[operator](value, operand))


def _compare_range(operator: str, value: Any, operand: Range) -> bool:
    inside = operand.start <= value < operand.end
    outcomes = {
        "=": inside,
        "!=": not inside,
        "<": value < operand.start,
        "<=": value < operand.end,
        ">": value >= operand.end,
        ">=": value >= operand.start,
    }
    return bool(outcomes[operator])


_ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator_module.lt,
    "<=": operator_module.le,
    ">": operator_module.gt,
    ">=": operator_module.ge,
}


def _like_pattern(operand: Any) -> re.Pattern[str] | None:
    if operand is None:
        return None
    pieces: list[str] = []
    index = 0
    text = str(operand)
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            pieces.append(re.escape(text[index + 1]))
            index += 2
            continue
        pieces.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(pieces), re.IGNORECASE | re.DOTALL)


def _like(pattern: re.Pattern[str] | None, value: Any) -> bool:
    if pattern is None or value is None:
        return False
    return pattern.fullmatch(str(value)) is not None


def _range(literal: RelativeDate, now: datetime, *, as_datetime: bool) -> Range:
    today = now.astimezone(UTC).date()
    day = timedelta(days=1)
    bounds = {
        "TODAY": (today, today + day),
        "YESTERDAY": (today - day, today),
        "TOMORROW": (today + day, today + 2 * day),
        "LAST_N_DAYS": (today - literal.n * day, today + day),
        "NEXT_N_DAYS": (today + day, today + (literal.n + 1) * day),
    }
    start, end = bounds[literal.name]
    if not as_datetime:
        return Range(start, end)
    return Range(datetime.combine(start, time(), UTC), datetime.combine(end, time(), UTC))


def _shape_of(select: Iterable[ResolvedField]) -> _Shape:
    root = _Shape()
    for resolved in select:
        shape = root
        for reference, name in zip(resolved.references, resolved.relationship_names, strict=True):
            if name not in shape.children:
                shape.children[name] = (reference, _Shape())
                shape.order.append(name)
            shape = shape.children[name][1]
        if resolved.field.name not in shape.leaves:
            shape.leaves[resolved.field.name] = resolved
            shape.order.append(resolved.field.name)
    return root
