"""CRM search semantics: filter groups (OR of ANDs), one sort, paging and the 10,000 cap."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from worker.sandbox.hubspot.errors import validation_error
from worker.sandbox.hubspot.keys import Key, sort_key
from worker.sandbox.hubspot.properties import PropertyDef
from worker.sandbox.hubspot.store import Record

# Limits from the search guide, https://developers.hubspot.com/docs/api/crm/search
# ("Limitations"): up to 5 filterGroups of up to 6 filters, 18 filters in total; one sort;
# up to 200 results a page; at most 10,000 results per query (paging past it is a 400).
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18
MAX_LIMIT = 200
DEFAULT_LIMIT = 10
RESULT_CAP = 10_000


@dataclass(frozen=True)
class Filter:
    """One property condition."""

    property_name: str
    operator: str
    value: str | None
    high_value: str | None
    values: tuple[str, ...]


@dataclass(frozen=True)
class SearchQuery:
    """A validated search request body."""

    groups: tuple[tuple[Filter, ...], ...]
    sort_property: str | None
    descending: bool
    properties: tuple[str, ...] | None
    limit: int
    after: int
    query: str | None


def parse_query(body: dict[str, object], known: Callable[[str], PropertyDef | None]) -> SearchQuery:
    """Validate a search body against the limits and the object's properties."""
    raw_groups = _list(body.get("filterGroups"), "filterGroups")
    if "filters" in body:  # a bare `filters` list behaves as one filter group
        raw_groups = [*raw_groups, {"filters": body["filters"]}]
    if len(raw_groups) > MAX_GROUPS:
        raise validation_error(
            f"Too many filter groups ({len(raw_groups)}); the maximum is {MAX_GROUPS}."
        )
    groups: list[tuple[Filter, ...]] = []
    for raw_group in raw_groups:
        if not isinstance(raw_group, dict):
            raise validation_error("Each filter group must be an object with `filters`.")
        filters = tuple(_filter(raw, known) for raw in _list(raw_group.get("filters"), "filters"))
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise validation_error(
                f"Too many filters in a group ({len(filters)}); "
                f"the maximum is {MAX_FILTERS_PER_GROUP}."
            )
        groups.append(filters)
    if sum(len(group) for group in groups) > MAX_FILTERS:
        raise validation_error(f"Too many filters; the maximum is {MAX_FILTERS} in total.")
    sort_property, descending = _sort(body.get("sorts"), known)
    limit = _int(body.get("limit"), DEFAULT_LIMIT, "limit")
    if not 0 < limit <= MAX_LIMIT:
        raise validation_error(f"limit must be between 1 and {MAX_LIMIT}, got {limit}.")
    after = _int(body.get("after"), 0, "after")
    if after + limit > RESULT_CAP:
        # Observed behaviour (connector issue trackers): asking past the 10,000th result is a
        # 400, even with a small limit, so clients must narrow the query instead of paging on.
        raise validation_error(
            f"The search cannot return results past {RESULT_CAP}: after={after}, limit={limit}.",
            after=[str(after)],
        )
    raw_properties = body.get("properties")
    properties = None
    if raw_properties:
        properties = tuple(str(name) for name in _list(raw_properties, "properties"))
    query = body.get("query")
    return SearchQuery(
        tuple(groups),
        sort_property,
        descending,
        properties,
        limit,
        after,
        str(query) if query else None,
    )


def _list(raw: object, name: str) -> list[object]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise validation_error(f"`{name}` must be a list.")
    return raw


def _int(raw: object, default: int, name: str) -> int:
    if raw is None or raw == "":
        return default
    try:
        return int(str(raw))
    except ValueError:
        raise validation_error(f"`{name}` must be an integer, got {raw!r}.") from None


def _filter(raw: object, known: Callable[[str], PropertyDef | None]) -> Filter:
    if not isinstance(raw, dict):
        raise validation_error("Each filter must be an object.")
    name = str(raw.get("propertyName", ""))
    operator = str(raw.get("operator", ""))
    if operator not in _TESTS:
        raise validation_error(f"Unknown filter operator {operator!r}.", operator=[operator])
    if known(name) is None:
        raise validation_error(
            f"Property {name!r} does not exist and cannot be filtered on.", propertyName=[name]
        )
    value = raw.get("value")
    high = raw.get("highValue")
    values = tuple(str(item) for item in _list(raw.get("values"), "values"))
    needs_value = operator not in {"HAS_PROPERTY", "NOT_HAS_PROPERTY", "IN", "NOT_IN"}
    if needs_value and value is None:
        raise validation_error(f"Filter on {name!r} with {operator} needs a `value`.")
    if operator == "BETWEEN" and high is None:
        raise validation_error(f"Filter on {name!r} with BETWEEN needs a `highValue`.")
    if operator in {"IN", "NOT_IN"} and not values:
        raise validation_error(f"Filter on {name!r} with {operator} needs `values`.")
    return Filter(
        name,
        operator,
        None if value is None else _scalar(value),
        None if high is None else _scalar(high),
        values,
    )


def _scalar(raw: object) -> str:
    if isinstance(raw, bool):
        return "true" if raw else "false"
    return str(raw)


def _sort(raw: object, known: Callable[[str], PropertyDef | None]) -> tuple[str | None, bool]:
    sorts = _list(raw, "sorts")
    if not sorts:
        return None, False
    if len(sorts) > 1:
        raise validation_error("Only one sort is supported.")
    only = sorts[0]
    if isinstance(only, str):  # the short form: "createdate" or "-createdate"
        name, descending = only.lstrip("-"), only.startswith("-")
    elif isinstance(only, dict):
        name = str(only.get("propertyName", ""))
        descending = str(only.get("direction", "ASCENDING")).upper() == "DESCENDING"
    else:
        raise validation_error("A sort is a property name or {propertyName, direction}.")
    if known(name) is None:
        raise validation_error(f"Cannot sort by unknown property {name!r}.", propertyName=[name])
    return name, descending


def scan(
    records: Sequence[Record],
    query: SearchQuery,
    known: Callable[[str], PropertyDef | None],
    searchable: Sequence[str],
) -> tuple[list[Record], int, int | None]:
    """The page of matching records, the total number of matches, and the next `after`.

    Reads every record: the reference semantics, and the way any query runs that the sorted
    indexes cannot answer (see plan.py).
    """
    matching = [
        record
        for record in records
        if not record.archived
        and _matches_groups(record, query.groups, known)
        and _matches_text(record, query.query, searchable)
    ]
    matching.sort(key=lambda record: int(record.id))
    if query.sort_property is not None:
        prop = known(query.sort_property)
        name = query.sort_property
        present = [record for record in matching if record.properties.get(name, "") != ""]
        missing = [record for record in matching if record.properties.get(name, "") == ""]
        present.sort(
            key=lambda record: _sort_key(prop, record.properties[name]),
            reverse=query.descending,
        )
        matching = present + missing
    page = matching[query.after : query.after + query.limit]
    following = query.after + query.limit
    return page, len(matching), following if following < len(matching) else None


def _matches_groups(
    record: Record,
    groups: tuple[tuple[Filter, ...], ...],
    known: Callable[[str], PropertyDef | None],
) -> bool:
    if not groups:
        return True
    return any(all(matches(record, one, known) for one in group) for group in groups)


def _matches_text(record: Record, text: str | None, searchable: Sequence[str]) -> bool:
    if text is None:
        return True
    needle = text.lower()
    return any(needle in record.properties.get(name, "").lower() for name in searchable)


def matches(record: Record, condition: Filter, known: Callable[[str], PropertyDef | None]) -> bool:
    """Whether one record satisfies one filter."""
    stored = record.properties.get(condition.property_name, "")
    test = _TESTS[condition.operator]
    return test(known(condition.property_name), stored, condition)


def _has(prop: PropertyDef | None, stored: str, condition: Filter) -> bool:
    return (stored != "") == (condition.operator == "HAS_PROPERTY")


def _in(prop: PropertyDef | None, stored: str, condition: Filter) -> bool:
    hit = any(_equal(prop, stored, value) for value in condition.values)
    return hit == (condition.operator == "IN")


def _eq(prop: PropertyDef | None, stored: str, condition: Filter) -> bool:
    return _equal(prop, stored, condition.value or "") == (condition.operator == "EQ")


def _token(prop: PropertyDef | None, stored: str, condition: Filter) -> bool:
    hit = _contains_token(stored, condition.value or "")
    return hit == (condition.operator == "CONTAINS_TOKEN")


def _range(prop: PropertyDef | None, stored: str, condition: Filter) -> bool:
    if stored == "" or condition.value is None:
        return False
    return _compare(prop, stored, condition.operator, condition.value, condition.high_value)


_TESTS: dict[str, Callable[[PropertyDef | None, str, Filter], bool]] = {
    "HAS_PROPERTY": _has,
    "NOT_HAS_PROPERTY": _has,
    "IN": _in,
    "NOT_IN": _in,
    "EQ": _eq,
    "NEQ": _eq,
    "CONTAINS_TOKEN": _token,
    "NOT_CONTAINS_TOKEN": _token,
    "LT": _range,
    "LTE": _range,
    "GT": _range,
    "GTE": _range,
    "BETWEEN": _range,
}


def _equal(prop: PropertyDef | None, stored: str, wanted: str) -> bool:
    if stored == "":
        return False
    if prop is not None and prop.multi_valued:
        return wanted.lower() in {part.lower() for part in stored.split(";")}
    if prop is not None and prop.type in {"number", "date", "datetime"}:
        try:
            return _sort_key(prop, stored) == _sort_key(prop, wanted)
        except ValueError:
            return False
    return stored.lower() == wanted.lower()


def _contains_token(stored: str, token: str) -> bool:
    needle = token.strip("*").lower()
    return any(needle in word.lower() for word in stored.replace("@", " ").split()) or (
        needle in stored.lower()
    )


def _compare(
    prop: PropertyDef | None, stored: str, operator: str, value: str, high: str | None
) -> bool:
    try:
        left = _sort_key(prop, stored)
        right = _sort_key(prop, value)
        upper = _sort_key(prop, high) if high is not None else right
    except ValueError:
        return False
    if operator == "BETWEEN":
        return right <= left <= upper
    checks: dict[str, bool] = {
        "LT": left < right,
        "LTE": left <= right,
        "GT": left > right,
        "GTE": left >= right,
    }
    return checks[operator]


def _sort_key(prop: PropertyDef | None, raw: str) -> Key:
    """Numbers compare as numbers, dates and datetimes in time order, everything else as text."""
    return sort_key(prop.type if prop is not None else "string", raw)
