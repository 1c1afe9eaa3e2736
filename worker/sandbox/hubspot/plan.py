"""Answering a search from sorted indexes instead of reading every record, with the same result.

A connector's incremental pull asks for ranges of `lastmodifieddate` (or `hs_object_id`) sorted
on one of them, 200 at a time; at 100,000 records a full scan and sort per query would cap the
pull far below HubSpot's 5 searches a second. Here each filter group becomes position ranges of
the sort property's index: a group of range filters on the sort property is a range outright;
any other group reads the smallest range one of its filters selects in that filter's own index
and checks the group's filters on just those records. Queries neither shape fits (free-text
`query`, a group without an EQ/IN/range filter on an orderable property, multi-checkbox sorts)
run as the reference scan in search.py. Both read the records as search sees them: a write
within the portal's index lag is not searchable yet (store.py).
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from worker.sandbox.hubspot.index import Entry, SortedIndex, Span
from worker.sandbox.hubspot.objects import ObjectType
from worker.sandbox.hubspot.properties import PropertyDef
from worker.sandbox.hubspot.search import Filter, SearchQuery, matches, scan
from worker.sandbox.hubspot.store import Record, RecordStore

Known = Callable[[str], PropertyDef | None]
Result = tuple[list[Record], int, int | None]
ID_PROPERTY = "hs_object_id"  # the order of a search without a sort
RANGES = frozenset({"EQ", "GT", "GTE", "LT", "LTE", "BETWEEN"})


@dataclass(frozen=True)
class Matches:
    """Every match of a query: ranges of the sort index, then those without a sort value."""

    order: SortedIndex
    runs: list[Span]  # ascending, disjoint
    unsorted: Callable[[], list[int]]  # ids of matches with no value for the sort property
    unsorted_count: int

    @property
    def sorted_count(self) -> int:
        """Matches that hold a value for the sort property."""
        return sum(stop - start for start, stop in self.runs)


def execute(
    store: RecordStore,
    kind: ObjectType,
    query: SearchQuery,
    known: Known,
    searchable: Sequence[str],
) -> Result:
    """The page of matching records, the total number of matches, and the next `after`."""
    store.publish_due()
    found = _matches(store, kind, query, known)
    if found is None:
        return scan(store.searchable(kind), query, known, searchable)
    with_value = found.sorted_count
    total = with_value + found.unsorted_count
    start, stop = query.after, query.after + query.limit
    ids: list[int] = []
    if start < with_value:
        end = min(stop, with_value)
        ids = (_descending if query.descending else _ascending)(found.order, found.runs, start, end)
    if stop > with_value and found.unsorted_count:
        ids += found.unsorted()[max(0, start - with_value) : stop - with_value]
    found_ids = (store.searchable_record(kind, str(record_id)) for record_id in ids)
    page = [record for record in found_ids if record is not None]
    return page, total, stop if stop < total else None


def _matches(
    store: RecordStore, kind: ObjectType, query: SearchQuery, known: Known
) -> Matches | None:
    if query.query is not None:
        return None
    order_name = query.sort_property or ID_PROPERTY
    order = _index(store, kind, known(order_name))
    if order is None:
        return None
    if not query.groups:
        return Matches(
            order,
            [(0, len(order))] if len(order) else [],
            lambda: _without(store, kind, order_name),
            store.searchable_count(kind) - len(order),
        )
    runs: list[Span] = []
    picked: set[int] = set()
    for group in query.groups:
        if all(one.property_name == order_name and one.operator in RANGES for one in group):
            runs.append(_intersection(order, group))
            continue
        checked = _checked(store, kind, group, known)
        if checked is None:
            return None
        picked |= checked
    unsorted: list[int] = []
    for record_id in picked:
        position = order.position(record_id)
        if position is None:
            unsorted.append(record_id)
        else:
            runs.append((position, position + 1))
    unsorted.sort()
    return Matches(order, _merged(runs), lambda: unsorted, len(unsorted))


def _index(store: RecordStore, kind: ObjectType, prop: PropertyDef | None) -> SortedIndex | None:
    """The property's sorted index; None for multi-checkbox properties (EQ means "contains")."""
    if prop is None or prop.multi_valued:
        return None
    return store.index(kind, prop.name, prop.type)


def _intersection(order: SortedIndex, group: Sequence[Filter]) -> Span:
    start, stop = 0, len(order)
    for one in group:
        low, high = order.span(one.operator, one.value, one.high_value)
        start, stop = max(start, low), min(stop, high)
    return start, max(start, stop)


def _checked(
    store: RecordStore, kind: ObjectType, group: Sequence[Filter], known: Known
) -> set[int] | None:
    """Ids matching every filter of a group, read from its most selective indexed filter."""
    best: tuple[int, SortedIndex, list[Span]] | None = None
    for one in group:
        if one.operator not in RANGES and one.operator != "IN":
            continue
        index = _index(store, kind, known(one.property_name))
        if index is None:
            continue
        if one.operator == "IN":
            spans = _merged([index.span("EQ", value, None) for value in one.values])
        else:
            spans = [index.span(one.operator, one.value, one.high_value)]
        size = sum(stop - start for start, stop in spans)
        if best is None or size < best[0]:
            best = (size, index, spans)
    if best is None:
        return None
    _, index, spans = best
    found: set[int] = set()
    for span in spans:
        for record_id in index.ids(span):
            record = store.searchable_record(kind, str(record_id))
            if record is not None and all(matches(record, one, known) for one in group):
                found.add(record_id)
    return found


def _merged(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, stop in sorted(span for span in spans if span[0] < span[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def _without(store: RecordStore, kind: ObjectType, name: str) -> list[int]:
    """Ids of searchable live records with no value for `name`, in id order."""
    return [
        int(record.id)
        for record in store.searchable(kind)
        if not record.archived and record.properties.get(name, "") == ""
    ]


def _ascending(order: SortedIndex, runs: list[Span], start: int, stop: int) -> list[int]:
    """Ids at match positions [start, stop) in ascending order."""
    ids: list[int] = []
    skip = start
    for low, high in runs:
        if skip >= high - low:
            skip -= high - low
            continue
        first = low + skip
        skip = 0
        ids += order.ids((first, min(high, first + stop - start - len(ids))))
        if len(ids) == stop - start:
            break
    return ids


def _descending(order: SortedIndex, runs: list[Span], start: int, stop: int) -> list[int]:
    """Ids at match positions [start, stop) in descending value order, ties by ascending id.

    The first `stop` matches from the top plus the rest of the last value's ties hold the
    page; re-sorted, they give the same order as a stable sort of the whole result.
    """
    top: list[Entry] = []
    for entry in _from_the_top(order, runs):
        if len(top) >= stop and entry[0] != top[-1][0]:
            break
        top.append(entry)
    top.sort(key=lambda entry: entry[1])
    top.sort(key=lambda entry: entry[0], reverse=True)
    return [record_id for _, record_id in top[start:stop]]


def _from_the_top(order: SortedIndex, runs: list[Span]) -> Iterator[Entry]:
    for low, high in reversed(runs):
        for position in range(high - 1, low - 1, -1):
            yield order.entries[position]
