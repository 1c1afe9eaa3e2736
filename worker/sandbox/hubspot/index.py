"""Sorted (value, id) indexes over one property: a search reads a range, not every record."""

import bisect
from collections.abc import Iterable
from operator import itemgetter

from worker.sandbox.hubspot.keys import Key, sort_key

Entry = tuple[Key, int]
Span = tuple[int, int]
_AFTER_EVERY_ID = float("inf")  # sorts after every (key, id) entry with the same key


class SortedIndex:
    """The live records that hold a value for one property, in (comparable value, id) order.

    Positions are only valid until the next write; the store keeps the index current.
    """

    def __init__(self, name: str, property_type: str) -> None:
        self.name = name
        self.property_type = property_type
        self.entries: list[Entry] = []
        self._keys: dict[int, Key] = {}

    @classmethod
    def build(
        cls, name: str, property_type: str, values: Iterable[tuple[int, str]]
    ) -> "SortedIndex":
        """An index over (record id, stored value) pairs; empty values are left out.

        Raises ValueError when a value cannot be ordered as `property_type`.
        """
        index = cls(name, property_type)
        for record_id, raw in values:
            if raw != "":
                index._keys[record_id] = index._key(raw)
        # Sorting by id, then stably by value alone, gives (value, id) order at half the cost
        # of comparing (value, id) pairs.
        index.entries = [(index._keys[record_id], record_id) for record_id in sorted(index._keys)]
        index.entries.sort(key=itemgetter(0))
        return index

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, record_id: int, raw: str) -> None:
        """Index one record's value (nothing when empty); ValueError if it cannot be ordered."""
        if raw == "":
            return
        key = self._key(raw)
        self._keys[record_id] = key
        bisect.insort(self.entries, (key, record_id))

    def remove(self, record_id: int) -> None:
        """Forget one record (nothing when it is not indexed)."""
        key = self._keys.pop(record_id, None)
        if key is not None:
            del self.entries[bisect.bisect_left(self.entries, (key, record_id))]

    def position(self, record_id: int) -> int | None:
        """Where a record sits in the order, or None when it holds no value."""
        key = self._keys.get(record_id)
        if key is None:
            return None
        return bisect.bisect_left(self.entries, (key, record_id))

    def ids(self, span: Span) -> list[int]:
        """Record ids at the positions of `span`, in order."""
        return [record_id for _, record_id in self.entries[span[0] : span[1]]]

    def span(self, operator: str, value: str | None, high: str | None) -> Span:
        """Positions whose values satisfy one comparison (EQ, GT, GTE, LT, LTE or BETWEEN).

        A value that is not of the property's type matches nothing, as in a scan.
        """
        try:
            low_key = self._key(value or "")
            high_key = self._key(high) if high is not None else low_key
        except ValueError:
            return 0, 0
        first_at = bisect.bisect_left(self.entries, (low_key,))
        past = bisect.bisect_left(self.entries, (low_key, _AFTER_EVERY_ID))
        bounds = {
            "EQ": (first_at, past),
            "GT": (past, len(self.entries)),
            "GTE": (first_at, len(self.entries)),
            "LT": (0, first_at),
            "LTE": (0, past),
            "BETWEEN": (first_at, bisect.bisect_left(self.entries, (high_key, _AFTER_EVERY_ID))),
        }
        start, stop = bounds[operator]
        return start, max(start, stop)

    def _key(self, raw: str) -> Key:
        key = sort_key(self.property_type, raw)
        if key[0] != key[0]:
            raise ValueError(f"{raw!r} has no place in an order")  # NaN
        return key
