"""An answer the CRM confirmed is never written again (promise 6), even after its echo pull.

Both CRMs: pull contacts into the store, queue one write-back built by the mapper against the
mirror's last known values, drain the outbox, pull again (our write bumped the record), and
build the same write-back again: nothing is left to write.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.crm_setup import ENV, contacts_target, crm_config
from tests.fixtures.sandbox import SandboxFactory
from worker.config import Config
from worker.crm_types import FieldUpdate
from worker.domain import Category, ContactWriteback
from worker.mappers import hubspot as hubspot_mapping
from worker.mappers import salesforce as salesforce_mapping
from worker.store.engine import make_engine, session_factory
from worker.store.migrate import upgrade
from worker.store.mirror import known_values
from worker.store.models import Contact
from worker.sync import outbox
from worker.sync.factory import connect
from worker.sync.pull import pull_into_mirror

pytestmark = pytest.mark.e2e

ANSWERED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
DETRACTOR = ContactWriteback(
    last_score=3, last_category=Category.DETRACTOR, last_response_at=ANSWERED
)


def _now() -> datetime:
    return datetime.now(UTC)


def _contact_update(config: Config) -> Callable[..., FieldUpdate | None]:
    if config.crm.kind == "salesforce":
        mapping: Any = salesforce_mapping.mapping_from_config(config)
        return lambda *args: salesforce_mapping.contact_update(*args, mapping, "answer-1")
    mapping = hubspot_mapping.mapping_from_config(config)
    return lambda *args: hubspot_mapping.contact_update(*args, mapping, "answer-1")


@pytest.mark.parametrize("kind", ["salesforce", "hubspot"])
def test_confirmed_answer_is_not_written_again(
    kind: str, sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """Written once; the same values, before or after the echo pull, queue no second write."""
    sandbox = sandbox_factory(size=40, seed=9, hubspot_rate_limits=False)
    config = crm_config(kind, sandbox.base_url, str(sandbox.ca_path))
    client = connect(config, env=ENV)
    db_url = f"sqlite:///{tmp_path / 'nps.db'}"
    upgrade(db_url)
    sessions = session_factory(make_engine(db_url))
    target = contacts_target(config)
    drainer = outbox.Outbox(client, sessions, _now, mirrored={target.object_name: "contact"})
    pull_into_mirror(client, sessions, target, now=_now)
    with sessions() as session:
        contact_id = session.scalars(select(Contact.crm_id).order_by(Contact.id)).first()
    assert contact_id is not None
    build = _contact_update(config)

    def pending_update(writeback: ContactWriteback) -> FieldUpdate | None:
        with sessions() as session:
            known = known_values(session, kind, "contact", contact_id)
        return build(contact_id, writeback, known)

    first = pending_update(DETRACTOR)
    assert first is not None
    with sessions.begin() as session:
        outbox.enqueue_update(session, kind, first, essential=True, now=_now())
    assert drainer.drain().done == 1

    assert pending_update(DETRACTOR) is None
    pull_into_mirror(client, sessions, target, now=_now)
    assert pending_update(DETRACTOR) is None
    changed = pending_update(ContactWriteback(last_score=9, last_category=Category.PROMOTER))
    assert changed is not None
    assert set(changed.fields) == {
        name for name in first.fields if "score" in name.lower() or "category" in name.lower()
    }
