"""CRM record inputs: pages of well-formed and malformed records for each mapped object.

The property: pulling any page into the mirror never raises; a record the mapper or the store
would refuse is quarantined (counted), the rest is stored, and the cursor moves past the page.
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fuzz.config_inputs import EXAMPLE_TEXT
from worker.config import Config, parse_config
from worker.crm_types import CrmRecord, Cursor, Page
from worker.mappers import hubspot, salesforce
from worker.store.models import SyncCursor
from worker.sync.pull import PullTarget, pull_into_mirror

NOW = datetime(2027, 1, 1, tzinfo=UTC)
EARLIEST = datetime(2000, 1, 1)  # noqa: DTZ001 (hypothesis draws naive values; UTC is attached)
LATEST = datetime(2100, 1, 1)  # noqa: DTZ001 (same)


def _config(kind: str) -> Config:
    text = EXAMPLE_TEXT.replace("kind: salesforce", f"kind: {kind}", 1)
    if kind == "hubspot":
        text = text.replace("object: Case", "object: tickets").replace(
            "object: Opportunity", "object: deals"
        )
        text = "\n".join(
            line.lower() if "__c" in line and ":" in line else line for line in text.splitlines()
        )
    return parse_config(text, "config.example.yaml", env={})


def _targets() -> dict[str, PullTarget]:
    sf = salesforce.mapping_from_config(_config("salesforce"))
    hs = hubspot.mapping_from_config(_config("hubspot"))
    sf_fields = sf.read_fields()
    case = next(t for t in sf.triggers if t.object == "Case")
    return {
        "salesforce:Contact": PullTarget(
            "Contact",
            "contact",
            sf_fields["Contact"],
            partial(salesforce.to_contact, mapping=sf.contact),
        ),
        "salesforce:Account": PullTarget(
            "Account",
            "account",
            sf_fields["Account"],
            partial(salesforce.to_account, mapping=sf.account),
        ),
        "salesforce:Case": PullTarget(
            "Case", "trigger", sf_fields["Case"], partial(salesforce.to_trigger, mapping=case)
        ),
        "hubspot:contacts": PullTarget(
            "contacts",
            "contact",
            hubspot.pull_properties(hs, "contacts"),
            partial(hubspot.to_contact, mapping=hs),
        ),
        "hubspot:companies": PullTarget(
            "companies",
            "account",
            hubspot.pull_properties(hs, "companies"),
            partial(hubspot.to_account, mapping=hs),
        ),
        "hubspot:tickets": PullTarget(
            "tickets",
            "trigger",
            hubspot.pull_properties(hs, "tickets"),
            partial(hubspot.to_trigger, mapping=hs),
        ),
    }


TARGETS = _targets()

_text = st.one_of(
    st.text(max_size=20),
    st.text(st.characters(codec=None, categories=None), max_size=20),  # NUL, lone surrogates
    st.text(min_size=250, max_size=400),
    st.sampled_from(["", "true", "false", "2026-01-01T00:00:00.000+0000", "asia_slash_tokyo", "0"]),
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)


def _nest(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": [value]}
    return value


_deep = st.integers(30, 80).map(_nest)
_crm_ids = st.from_regex(r"[0-9]{1,12}|[0-9A-Za-z]{15,18}", fullmatch=True)
"""Ids as CRMs issue them (HubSpot numbers, Salesforce 15/18 characters); cursors hold them."""


@st.composite
def _record(draw: st.DrawFn, key: str, modified_at: datetime) -> CrmRecord:
    target = TARGETS[key]
    names = st.sampled_from(list(target.fields)) | st.text(max_size=10)
    fields = draw(st.dictionaries(names, _json | _deep, max_size=len(target.fields) + 2))
    if draw(st.booleans()):
        fields = {name: draw(_text) for name in target.fields} | fields
    associations = draw(
        st.dictionaries(
            st.sampled_from(["contacts", "companies"]), st.lists(_text, max_size=2).map(tuple)
        )
    )
    return CrmRecord(
        object=target.object_name,
        id=draw(_crm_ids),
        modified_at=modified_at,
        fields=fields,
        deleted=draw(st.booleans()),
        associations=associations,
    )


@st.composite
def pages(draw: st.DrawFn) -> tuple[str, list[CrmRecord]]:
    """A target and one page of records, in cursor order (modified_at, id)."""
    key = draw(st.sampled_from(sorted(TARGETS)))
    count = draw(st.integers(1, 6))
    moments = sorted(
        draw(
            st.lists(
                st.datetimes(min_value=EARLIEST, max_value=LATEST),
                min_size=count,
                max_size=count,
            )
        )
    )
    records = [draw(_record(key, moment.replace(tzinfo=UTC))) for moment in moments]
    return key, sorted(records, key=lambda record: (record.modified_at, record.id))


class OnePageCrm:
    """A CRM that serves one page of whatever records it is given."""

    def __init__(self, name: str, records: Sequence[CrmRecord]) -> None:
        self.name = name
        self.records = records

    def pull(self, object_name: str, fields: Sequence[str], since: Cursor) -> Iterator[Page]:
        """The page, with the cursor of its last record."""
        last = self.records[-1]
        yield Page(self.records, Cursor(last.modified_at, last.id))

    def pull_deleted(self, object_name: str, since: Cursor) -> Iterator[Page]:
        """No deletions."""
        return iter(())


def check_pull(sessions: sessionmaker[Session], key: str, records: list[CrmRecord]) -> None:
    """The page is stored or quarantined record by record, and its cursor is committed."""
    crm, object_name = key.split(":")
    target = TARGETS[key]
    with sessions.begin() as session:
        session.execute(SyncCursor.__table__.delete())
    stats = pull_into_mirror(OnePageCrm(crm, records), sessions, target, now=lambda: NOW)  # type: ignore[arg-type]
    assert 0 <= stats.unmappable <= len(records)
    with sessions() as session:
        cursor = session.scalars(select(SyncCursor).where(SyncCursor.object == object_name)).one()
        assert (cursor.watermark, cursor.last_id) == (records[-1].modified_at, records[-1].id)
