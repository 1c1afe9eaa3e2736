"""How an incremental pull walks HubSpot's CRM search without losing, repeating or looping.

Search facts (https://developers.hubspot.com/docs/api/crm/search): one sort, 200 results a
page, at most 10,000 results per query (paging past it returns 400), dates compared as epoch
milliseconds, and offset (`after`) paging that shifts when a record changes while we read.

So every query here is keyset-paged and reads ONE page: a query whose answer has no
`paging.next` (it matched nothing past that page) ends its slice with no search for an empty
page; otherwise the next query starts again at the last modification time seen, leaving out by
id the records of that instant already read (100 of them at most: filter value lists are kept
small, and the rest are re-read and dropped). That never reaches the result cap and never skips
a record that moved while we paged. When a whole page shares one timestamp (a bulk update can
stamp more than 10,000 records with one millisecond), time alone cannot move forward, so that
instant is read by `hs_object_id` ascending before time resumes just after it (Airbyte hit both
the cap and the loop: airbytehq/airbyte PRs 10700 and 44899).

Search-index lag (a change becomes searchable a few moments after it is made): a committed
cursor never claims more than `server time of the read - lookback`, so the next pull re-reads
only what changed within the look-back before the last read, and a quiet portal costs one
search per object per cycle (instead of re-reading the look-back before the newest change).
"""

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from worker.sync.base import Cursor

PAGE_SIZE = 200
RESULT_CAP = 10_000
ID_PROPERTY = "hs_object_id"
TICK = timedelta(milliseconds=1)
MAX_VALUES = 100  # ids in one NOT_IN filter, as batch inputs: HubSpot caps value lists


def epoch_ms(moment: datetime) -> str:
    """A datetime as the epoch-millisecond string HubSpot search filters take."""
    return str(int(moment.timestamp() * 1000))


def from_epoch_ms(value: int) -> datetime:
    """Epoch milliseconds as an aware UTC datetime."""
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def truncate_ms(moment: datetime) -> datetime:
    """`moment` at HubSpot's millisecond precision (a pulled value already is: kept as it is)."""
    extra = moment.microsecond % 1000
    return moment - timedelta(microseconds=extra) if extra else moment


@dataclass(frozen=True)
class Window:
    """One slice of the pull: records modified at or after `start`, or one instant read by id.

    In id mode (`after_id` set) the slice is the records modified exactly at `start` whose
    `hs_object_id` is greater than `after_id`. Otherwise records modified at `start` whose ids
    are in `read_at_start` are left out (already read by the previous page).
    """

    start: datetime | None
    after_id: int | None = None
    read_at_start: tuple[int, ...] = ()

    @property
    def by_id(self) -> bool:
        """Whether this slice walks one instant by record id."""
        return self.after_id is not None

    def search_body(self, modified_property: str, properties: Sequence[str]) -> dict[str, Any]:
        """The search request for the next page of this slice."""
        groups: list[list[dict[str, Any]]] = []
        sort = modified_property
        if self.start is not None:
            at = epoch_ms(self.start)
            if self.after_id is not None:
                groups.append(
                    [
                        _filter(modified_property, "EQ", at),
                        _filter(ID_PROPERTY, "GT", str(self.after_id)),
                    ]
                )
                sort = ID_PROPERTY
            elif self.read_at_start:
                read = [str(record_id) for record_id in self.read_at_start]
                groups.append([_filter(modified_property, "GT", at)])
                groups.append(
                    [
                        _filter(modified_property, "EQ", at),
                        {"propertyName": ID_PROPERTY, "operator": "NOT_IN", "values": read},
                    ]
                )
            else:
                groups.append([_filter(modified_property, "GTE", at)])
        return {
            "filterGroups": [{"filters": filters} for filters in groups],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": list(properties),
            "limit": PAGE_SIZE,
        }


def _filter(name: str, operator: str, value: str) -> dict[str, str]:
    return {"propertyName": name, "operator": operator, "value": value}


def start_windows(since: Cursor) -> list[Window]:
    """The slices a pull from `since` walks; a cursor inside one instant resumes it by id."""
    if since.modified_at is None:
        return [Window(None)]
    at = truncate_ms(since.modified_at)
    if since.last_id is None:
        return [Window(at)]
    return [Window(at, after_id=int(since.last_id)), Window(at + TICK)]


def next_windows(
    window: Window, page: Sequence[tuple[datetime, int]], more: bool = True
) -> list[Window]:
    """What replaces `window` after reading one page of (modified_at, id), oldest first.

    Empty when the slice is exhausted: a short page, or HubSpot said the query matched nothing
    past this page (`more` false: no `paging.next`).
    """
    if not more or len(page) < PAGE_SIZE:
        return []
    last_at, last_id = page[-1]
    if window.by_id:
        return [Window(window.start, after_id=last_id)]
    if page[0][0] == last_at:
        return [Window(last_at, after_id=0), Window(last_at + TICK)]
    read = tuple(record_id for at, record_id in page if at == last_at)
    return [Window(last_at, read_at_start=read[-MAX_VALUES:])]


def _order(cursor: Cursor) -> tuple[datetime, int]:
    """Cursors in the order of what they cover; (t, id) covers more than (t, None)."""
    assert cursor.modified_at is not None
    return cursor.modified_at, -1 if cursor.last_id is None else int(cursor.last_id)


def advance(since: Cursor, window: Window, last: tuple[datetime, int], horizon: datetime) -> Cursor:
    """The cursor to commit once a page of `window` ending at `last` (time, id) is stored.

    Cursor(t, None) promises every record modified before t is delivered; Cursor(t, id) adds
    those at t with an id up to `id`. The promise stops at `horizon` (what the search index
    certainly held when it answered) and never falls behind `since`.
    """
    last_at, last_id = last
    reached = Cursor(last_at, str(last_id)) if window.by_id else Cursor(last_at, None)
    if last_at > horizon:
        reached = Cursor(horizon, None)
    if since.modified_at is None or _order(reached) > _order(since):
        return reached
    return since


class Keyed(Protocol):
    """A search result as the walk sees it: an id and a modification time."""

    @property
    def id(self) -> str:
        """HubSpot's record id (`hs_object_id`)."""
        ...

    @property
    def modified_at(self) -> datetime:
        """The record's last-modified time, at millisecond precision."""
        ...


R = TypeVar("R", bound=Keyed)


class Answer(NamedTuple, Generic[R]):
    """One search page as the walk needs it."""

    records: Sequence[R]
    """The page, oldest first (by id in id mode)."""
    answered_at: datetime | None
    """The server's time of the answer (None when unknown: the page's newest record stands in)."""
    more: bool
    """Whether HubSpot offered a next page of the same query (`paging.next`)."""


def walk(
    fetch: Callable[[Window], Answer[R]],
    since: Cursor,
    lookback: timedelta,
) -> Iterator[tuple[list[R], Cursor]]:
    """Run the windows from `since`: each page's new records and the cursor covering them.

    `fetch` runs one search for a window and returns its `Answer`. A record version already
    yielded by this walk is not yielded again, so the keyset overlap costs calls, never
    duplicates.
    """
    queue: deque[Window] = deque(start_windows(since))
    seen: dict[str, datetime] = {}
    cursor = since
    while queue:
        window = queue.popleft()
        if window.start is not None:
            start = window.start
            seen = {key: at for key, at in seen.items() if at >= start}
        records, answered_at, more = fetch(window)
        keys = [(record.modified_at, int(record.id)) for record in records]
        queue.extendleft(reversed(next_windows(window, keys, more)))
        if not records:
            continue
        horizon = truncate_ms((answered_at or keys[-1][0]) - lookback)
        cursor = advance(cursor, window, keys[-1], horizon)
        fresh = [record for record in records if seen.get(record.id) != record.modified_at]
        seen.update((record.id, record.modified_at) for record in records)
        if fresh:
            yield fresh, cursor
