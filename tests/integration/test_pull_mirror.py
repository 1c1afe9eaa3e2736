"""Pulling into the mirror commits each page with its cursor (promise 7): crash, resume, no loss."""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from worker import domain
from worker.store import mirror
from worker.store.models import Contact, SyncCursor
from worker.sync.base import CrmRecord, Cursor, Page
from worker.sync.pull import PullTarget, pull_into_mirror

T0 = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


class CrashHere(RuntimeError):
    """Stands for the process dying between two pages."""


class ScriptedCrm:
    """An in-memory CRM honouring the Protocol's cursor contract: (modified_at, id) > cursor."""

    name = "salesforce"

    def __init__(self, records: Sequence[CrmRecord], page_size: int, crash_after: int | None):
        self.records = sorted(records, key=lambda r: (r.modified_at, r.id))
        self.page_size = page_size
        self.crash_after = crash_after
        self.served: list[str] = []

    def pull(self, object_name: str, fields: Sequence[str], since: Cursor) -> Iterator[Page]:
        """Pages of records strictly after the cursor, with the cursor of each page's end."""
        after = [
            r
            for r in self.records
            if since.modified_at is None
            or (r.modified_at, r.id) > (since.modified_at, since.last_id or "")
        ]
        for number, start in enumerate(range(0, len(after), self.page_size)):
            if self.crash_after is not None and number == self.crash_after:
                raise CrashHere
            page = after[start : start + self.page_size]
            self.served.extend(r.id for r in page)
            yield Page(page, Cursor(page[-1].modified_at, page[-1].id))

    def pull_deleted(self, object_name: str, since: Cursor) -> Iterator[Page]:
        """This CRM deletes nothing."""
        return iter(())


def _contact(record: CrmRecord) -> domain.Contact:
    if not record.fields.get("Email"):
        raise ValueError("Email: missing")
    return domain.Contact(
        crm="salesforce",
        crm_id=record.id,
        email=record.fields["Email"],
        first_name=None,
        last_name=None,
        account_crm_id=None,
        owner_id=None,
        language="en",
        time_zone=None,
        opted_out=False,
        modified_at=record.modified_at,
    )


TARGET = PullTarget("Contact", "contact", ("Email",), _contact)


def _records(count: int) -> list[CrmRecord]:
    """`count` contacts, three to each timestamp so page ends fall inside a tie."""
    return [
        CrmRecord(
            "Contact",
            f"003{i:015d}",
            T0 + timedelta(seconds=i // 3),
            {"Email": f"P{i}@Example.com"},
        )
        for i in range(count)
    ]


class TestPullIntoMirror:
    """One transaction per page: records and cursor together."""

    def test_crash_mid_pull_resumes_without_loss_or_repeat(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """A pull that dies after 3 of 7 pages keeps those 3; the next run fetches only the rest."""
        records = _records(20)
        first = ScriptedCrm(records, page_size=3, crash_after=3)
        with pytest.raises(CrashHere):
            pull_into_mirror(first, sessions, TARGET, now=lambda: NOW)

        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Contact)) == 9
            assert mirror.read_cursor(session, "salesforce", "Contact") == (
                records[8].modified_at,
                records[8].id,
            )

        second = ScriptedCrm(records, page_size=3, crash_after=None)
        stats = pull_into_mirror(second, sessions, TARGET, now=lambda: NOW)

        assert second.served == [r.id for r in records[9:]]
        assert stats.stored == 11
        with sessions() as session:
            stored = session.scalars(select(Contact.crm_id).order_by(Contact.crm_id)).all()
        assert stored == [r.id for r in records]

    def test_unchanged_crm_pulls_nothing_and_keeps_the_cursor(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """A second pull with no CRM changes stores nothing and leaves the watermark alone."""
        records = _records(5)
        pull_into_mirror(ScriptedCrm(records, 2, None), sessions, TARGET, now=lambda: NOW)
        with sessions() as session:
            before = session.scalars(select(SyncCursor)).one().updated_at

        stats = pull_into_mirror(
            ScriptedCrm(records, 2, None), sessions, TARGET, now=lambda: NOW + timedelta(hours=1)
        )

        assert (stats.pages, stats.stored) == (0, 0)
        with sessions() as session:
            assert session.scalars(select(SyncCursor)).one().updated_at == before

    def test_unmappable_record_is_counted_and_the_rest_stored(
        self, sessions: sessionmaker[Session]
    ) -> None:
        """A record the mapper refuses is skipped and counted; its neighbours are stored."""
        records = _records(4)
        broken = CrmRecord("Contact", "003BROKEN", T0, {"Email": None})
        stats = pull_into_mirror(
            ScriptedCrm([*records, broken], 10, None), sessions, TARGET, now=lambda: NOW
        )

        assert (stats.stored, stats.unmappable) == (4, 1)

    def test_emails_are_stored_lower_cased(self, sessions: sessionmaker[Session]) -> None:
        """Addresses are normalised, so throttles match however the CRM spells them."""
        pull_into_mirror(ScriptedCrm(_records(1), 1, None), sessions, TARGET, now=lambda: NOW)
        with sessions() as session:
            assert session.scalars(select(Contact.email)).one() == "p0@example.com"
