"""Records of every object type, with HubSpot's numeric-string ids and system timestamps."""

import bisect
import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

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


class IndexLag:
    """How long each write takes to reach search: a seeded draw in [low, high] seconds.

    HubSpot says changes reach search "after a few moments"; integrators wait about ten
    seconds. The draw is per write, so writes made together become searchable in any order.
    """

    def __init__(self, low_s: float, high_s: float, seed: int | str = 0) -> None:
        if not 0 <= low_s <= high_s:
            raise ValueError(f"an index lag needs 0 <= low <= high, got {low_s}..{high_s}")
        self.low_s = low_s
        self.high_s = high_s
        self._rng = random.Random(f"index-lag:{seed}")  # noqa: S311 - reproducible, not secret

    @classmethod
    def none(cls) -> "IndexLag":
        """Search sees every write at once."""
        return cls(0.0, 0.0)

    @property
    def enabled(self) -> bool:
        """Whether writes wait at all before search sees them."""
        return self.high_s > 0

    def draw(self) -> timedelta:
        """The lag of the next write."""
        if self.low_s == self.high_s:
            return timedelta(seconds=self.low_s)
        return timedelta(seconds=self._rng.uniform(self.low_s, self.high_s))


def _epoch() -> datetime:
    return datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class _Write:
    """A write search cannot see yet: it becomes searchable at `due` (sandbox time)."""

    due: datetime
    kind: ObjectType
    record: Record
    names: frozenset[str] | None  # the properties it changed; None for a create or an archive
    version: Record | None = None  # the record as this write left it, once a later write changed it


class RecordStore:
    """Every record of every object type, keyed by type name then id (ids in creation order).

    Sorted indexes over the properties searches filter and sort on are built on first use and
    kept current. They hold what search sees: with an index lag, a write reaches them (and
    search) only its drawn lag after it is made (sandbox time, `now`, so the time machine moves
    it too), when a search publishes it; until then search sees the record as it was. Writes to
    one record reach search in the order they were made. Reads by id see every write at once.
    """

    def __init__(
        self,
        first_id: int = 1001,
        *,
        index_lag: IndexLag | None = None,
        now: Callable[[], datetime] = _epoch,
    ) -> None:
        self.index_lag = index_lag or IndexLag.none()
        self.now = now
        self._ids = itertools.count(first_id)
        self._records: dict[str, dict[str, Record]] = {kind.name: {} for kind in ALL_TYPES}
        self._order: dict[str, list[int]] = {kind.name: [] for kind in ALL_TYPES}
        self._live: dict[str, int] = {kind.name: 0 for kind in ALL_TYPES}  # as search sees them
        self._indexes: dict[str, dict[str, SortedIndex]] = {kind.name: {} for kind in ALL_TYPES}
        # What search shows of records with a pending write (None: not searchable yet), the
        # pending writes in the order they become due, and each record's latest pending write.
        self._shown: dict[str, dict[str, Record | None]] = {kind.name: {} for kind in ALL_TYPES}
        self._pending: list[tuple[datetime, int, _Write]] = []  # a heap by (due, order made)
        self._made = itertools.count()
        self._latest: dict[tuple[str, str], _Write] = {}

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
        self._written(kind, record, None, None)
        return record

    def update(
        self, kind: ObjectType, record: Record, properties: dict[str, str], at: datetime
    ) -> None:
        """Apply written values (an empty string clears) and bump the modification stamps."""
        was_live = self._before_write(kind, record)
        for key, value in properties.items():
            if value == "":
                record.properties.pop(key, None)
            else:
                record.properties[key] = value
        record.touched = set(properties)
        self._stamp(kind, record, at)
        self._written(kind, record, was_live, frozenset({*properties, *_stamped(kind)}))

    def archive(self, kind: ObjectType, record: Record, at: datetime) -> None:
        """Soft-delete a record (archived reads still find it)."""
        was_live = self._before_write(kind, record)
        record.archived = True
        record.archived_at = at
        self._stamp(kind, record, at)
        self._written(kind, record, was_live, None)

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

    # --- what search sees ---------------------------------------------------------------------

    def publish_due(self) -> None:
        """Make searchable every write whose index lag has passed (searches call this first)."""
        now = self.now()
        while self._pending and self._pending[0][0] <= now:
            self._publish(heapq.heappop(self._pending)[2])

    def publish_all(self) -> None:
        """Make every write searchable now (a loaded world has long been indexed)."""
        while self._pending:
            self._publish(heapq.heappop(self._pending)[2])

    def searchable(self, kind: ObjectType) -> list[Record]:
        """Every record of a type as search sees it, archived included, in id order."""
        shown = self._shown[kind.name]
        if not shown:
            return self.all(kind)
        return [
            seen
            for record in self._records[kind.name].values()
            if (seen := shown.get(record.id, record)) is not None
        ]

    def searchable_record(self, kind: ObjectType, record_id: str) -> Record | None:
        """One record as search sees it (None when search does not know it yet)."""
        shown = self._shown[kind.name]
        if record_id in shown:
            return shown[record_id]
        return self._records[kind.name].get(record_id)

    def searchable_count(self, kind: ObjectType) -> int:
        """How many records of a type search sees as not archived."""
        return self._live[kind.name]

    def index(self, kind: ObjectType, name: str, property_type: str) -> SortedIndex | None:
        """The sorted index over one property's searchable live values, built on first use.

        None when some stored value cannot be ordered as `property_type` (searches then scan).
        """
        indexes = self._indexes[kind.name]
        found = indexes.get(name)
        if found is not None and found.property_type == property_type:
            return found
        values = (
            (int(record.id), record.properties.get(name, ""))
            for record in self.searchable(kind)
            if not record.archived
        )
        try:
            built = SortedIndex.build(name, property_type, values)
        except ValueError:
            indexes.pop(name, None)
            return None
        indexes[name] = built
        return built

    def _before_write(self, kind: ObjectType, record: Record) -> bool:
        """Whether search sees the record live; with a lag, keep what search shows of it."""
        if self.index_lag.enabled:
            latest = self._latest.get((kind.name, record.id))
            if latest is not None:
                latest.version = _copy(record)  # that write is no longer the record's latest
            else:
                self._shown[kind.name][record.id] = _copy(record)
        return not record.archived

    def _written(
        self,
        kind: ObjectType,
        record: Record,
        was_live: bool | None,
        names: frozenset[str] | None,
    ) -> None:
        """Index a write now, or with a lag queue it (`was_live` None: a new record)."""
        if not self.index_lag.enabled:
            self._show(kind, record, bool(was_live), names)
            return
        if was_live is None:
            self._shown[kind.name][record.id] = None
        due = self.now() + self.index_lag.draw()
        earlier = self._latest.get((kind.name, record.id))
        if earlier is not None:
            due = max(due, earlier.due)  # one record's writes reach search in order
        write = _Write(due, kind, record, names)
        heapq.heappush(self._pending, (due, next(self._made), write))
        self._latest[(kind.name, record.id)] = write

    def _publish(self, write: _Write) -> None:
        """Show search the version one pending write left."""
        kind, record_id = write.kind, write.record.id
        shown = self._shown[kind.name]
        before = shown[record_id]
        version = write.version
        if version is None:  # the record's latest write: search now sees the record itself
            version = write.record
            del shown[record_id]
            del self._latest[(kind.name, record_id)]
        else:
            shown[record_id] = version
        self._show(kind, version, before is not None and not before.archived, write.names)

    def _show(
        self, kind: ObjectType, version: Record, was_live: bool, names: frozenset[str] | None
    ) -> None:
        """Put one record version into the indexes over `names` (all when None), and count it.

        An index the version cannot enter (a value of the wrong type) is dropped.
        """
        indexes = self._indexes[kind.name]
        record_id = int(version.id)
        for name, index in list(indexes.items()):
            if names is not None and name not in names:
                continue
            index.remove(record_id)
            if version.archived:
                continue
            try:
                index.add(record_id, version.properties.get(name, ""))
            except ValueError:
                indexes.pop(name, None)
        self._live[kind.name] += int(not version.archived) - int(was_live)

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


def _copy(record: Record) -> Record:
    """A record version that later writes to `record` leave alone."""
    return replace(record, properties=dict(record.properties), touched=set(record.touched))


def _stamped(kind: ObjectType) -> tuple[str, ...]:
    """The properties every write to a record of `kind` bumps."""
    return (kind.modified_property, "hs_lastmodifieddate")
