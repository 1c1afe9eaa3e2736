"""Records of every object type, with HubSpot's numeric-string ids and system timestamps."""

import bisect
import itertools
from dataclasses import dataclass, field
from datetime import datetime

from worker.sandbox.hubspot.index import SortedIndex
from worker.sandbox.hubspot.objects import ALL_TYPES, CONTACTS, ObjectType
from worker.sandbox.hubspot.timefmt import iso_ms


@dataclass
class Record:
    """One CRM record: string property values plus the system timestamps."""

    id: str
    properties: dict[str, str]
    created_at: datetime
    updated_at: datetime
    archived: bool = False
    archived_at: datetime | None = None
    touched: set[str] = field(default_factory=set)  # properties changed by the last write


class RecordStore:
    """Every record of every object type, keyed by type name then id (ids in creation order).

    Sorted indexes over the properties searches filter and sort on are built on first use and
    kept current by every write here.
    """

    def __init__(self, first_id: int = 1001) -> None:
        self._ids = itertools.count(first_id)
        self._records: dict[str, dict[str, Record]] = {kind.name: {} for kind in ALL_TYPES}
        self._order: dict[str, list[int]] = {kind.name: [] for kind in ALL_TYPES}
        self._live: dict[str, int] = {kind.name: 0 for kind in ALL_TYPES}
        self._indexes: dict[str, dict[str, SortedIndex]] = {kind.name: {} for kind in ALL_TYPES}

    def new_id(self) -> str:
        """The next record id: numeric strings, unique across the portal."""
        return str(next(self._ids))

    def insert(
        self,
        kind: ObjectType,
        properties: dict[str, str],
        at: datetime,
        modified_at: datetime | None = None,
    ) -> Record:
        """Store a new record created at `at` (last modified at `modified_at`, default `at`)."""
        new_id = self.new_id()
        stamp = iso_ms(at)
        values = {key: value for key, value in properties.items() if value != ""}
        values["hs_object_id"] = new_id
        values[kind.created_property] = stamp
        record = Record(new_id, values, at, at, touched=set(values))
        self._stamp(kind, record, modified_at or at)
        self._records[kind.name][new_id] = record
        self._order[kind.name].append(int(new_id))
        self._live[kind.name] += 1
        self._reindex(kind, record, list(self._indexes[kind.name].values()))
        return record

    def update(
        self, kind: ObjectType, record: Record, properties: dict[str, str], at: datetime
    ) -> None:
        """Apply written values (an empty string clears) and bump the modification stamps."""
        stale = self._unindex(kind, record, {*properties, *_stamped(kind)})
        for key, value in properties.items():
            if value == "":
                record.properties.pop(key, None)
            else:
                record.properties[key] = value
        record.touched = set(properties)
        self._stamp(kind, record, at)
        self._reindex(kind, record, stale)

    def archive(self, kind: ObjectType, record: Record, at: datetime) -> None:
        """Soft-delete a record (archived reads still find it)."""
        if not record.archived:
            self._live[kind.name] -= 1
        self._unindex(kind, record, set(self._indexes[kind.name]))
        record.archived = True
        record.archived_at = at
        self._stamp(kind, record, at)

    def get(self, kind: ObjectType, record_id: str) -> Record | None:
        """The record with this id, archived or not."""
        return self._records[kind.name].get(record_id)

    def all(self, kind: ObjectType) -> list[Record]:
        """Every record of a type, archived included, in id order."""
        return list(self._records[kind.name].values())

    def page(
        self, kind: ObjectType, after: int, limit: int, *, archived: bool
    ) -> tuple[list[Record], int | None]:
        """Up to `limit` records with id >= `after` (archived or live), and the next page's id."""
        order = self._order[kind.name]
        records = self._records[kind.name]
        found: list[Record] = []
        for position in range(bisect.bisect_left(order, after), len(order)):
            record = records[str(order[position])]
            if record.archived != archived:
                continue
            if len(found) == limit:
                return found, order[position]
            found.append(record)
        return found, None

    def live_count(self, kind: ObjectType) -> int:
        """How many records of a type are not archived."""
        return self._live[kind.name]

    def index(self, kind: ObjectType, name: str, property_type: str) -> SortedIndex | None:
        """The sorted index over one property's live values, built on first use.

        None when some stored value cannot be ordered as `property_type` (searches then scan).
        """
        indexes = self._indexes[kind.name]
        found = indexes.get(name)
        if found is not None and found.property_type == property_type:
            return found
        values = (
            (int(record.id), record.properties.get(name, ""))
            for record in self._records[kind.name].values()
            if not record.archived
        )
        try:
            built = SortedIndex.build(name, property_type, values)
        except ValueError:
            indexes.pop(name, None)
            return None
        indexes[name] = built
        return built

    def _unindex(self, kind: ObjectType, record: Record, names: set[str]) -> list[SortedIndex]:
        """Take a record out of the indexes over `names` (before they change); those indexes."""
        stale = [index for name, index in self._indexes[kind.name].items() if name in names]
        for index in stale:
            index.remove(int(record.id))
        return stale

    def _reindex(self, kind: ObjectType, record: Record, indexes: list[SortedIndex]) -> None:
        """Put a live record's current values into `indexes`; drop an index it cannot enter."""
        if record.archived:
            return
        for index in indexes:
            try:
                index.add(int(record.id), record.properties.get(index.name, ""))
            except ValueError:
                self._indexes[kind.name].pop(index.name, None)

    def find_by(self, kind: ObjectType, name: str, value: str) -> Record | None:
        """The first live record whose property `name` equals `value` (for `idProperty`)."""
        for record in self._records[kind.name].values():
            if not record.archived and record.properties.get(name) == value:
                return record
        return None

    @staticmethod
    def _stamp(kind: ObjectType, record: Record, at: datetime) -> None:
        # Contacts carry both `lastmodifieddate` and `hs_lastmodifieddate`; every write bumps
        # them, which is how a connector's own write-backs come back on its next pull.
        stamp = iso_ms(at)
        record.updated_at = at
        record.properties[kind.modified_property] = stamp
        if kind is CONTACTS:
            record.properties["hs_lastmodifieddate"] = stamp


def _stamped(kind: ObjectType) -> tuple[str, ...]:
    """The properties every write to a record of `kind` bumps."""
    return (kind.modified_property, "hs_lastmodifieddate")
