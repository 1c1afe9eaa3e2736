"""The HubSpot connector's look-back against a sandbox whose search index lags its writes.

HubSpot search sees a change a few seconds after it is made. The connector never commits a
cursor later than the answer's `Date` minus the look-back, so a change that reached the index
late is still read by the next pull. The portal's lag runs on a hand-moved monotonic clock; the
`Date` header is real time, so the sandbox clock starts now (the default) to match it.
"""

from datetime import timedelta

import pytest

from tests.fixtures.sandbox import SandboxFactory
from worker.mappers.hubspot import HubSpotMapping, pull_properties
from worker.sandbox.hubspot.objects import CONTACTS
from worker.sandbox.server import Sandbox
from worker.sync.base import Cursor, FieldUpdate, Page
from worker.sync.hubspot import HubSpotClient, HubSpotSettings, build_client

pytestmark = pytest.mark.e2e

TOKEN = "sandbox-token"
LAG_S = 1.0
FIELDS = pull_properties(
    HubSpotMapping(contact_writeback={"last_score": "nps_last_score"}), CONTACTS.name
)


class Ticks:
    """A hand-moved monotonic clock for the portal's index lag."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    """The monotonic time the portal's index lag runs on."""
    return Ticks()


@pytest.fixture
def lagging(sandbox_factory: SandboxFactory, ticks: Ticks) -> Sandbox:
    """A small sandbox whose search sees each write LAG_S seconds of `ticks` after it."""
    sandbox = sandbox_factory(
        size=40, seed=21, hubspot_rate_limits=False, hubspot_index_lag_s=LAG_S
    )
    sandbox.hubspot.reset_rate_limits(ticks)
    return sandbox


def connect(sandbox: Sandbox, lookback: timedelta) -> HubSpotClient:
    """The connector, built by the production factory, pulling with `lookback`."""
    settings = HubSpotSettings(
        base_url=sandbox.base_url, tier=190, search_per_second=1_000.0, lookback=lookback
    )
    return build_client(
        settings, env={settings.token_env: TOKEN}, session=sandbox.requests_session()
    )


def pull(client: HubSpotClient, since: Cursor) -> tuple[dict[str, dict[str, str]], Cursor]:
    """One pull of contacts from `since`: the fields read per id, and the cursor to commit."""
    pages: list[Page] = list(client.pull(CONTACTS.name, FIELDS, since))
    read = {record.id: dict(record.fields) for page in pages for record in page.records}
    return read, pages[-1].cursor if pages else since


class TestIndexLag:
    """Changes the index shows late are read by a later pull, thanks to the look-back."""

    def test_changes_hidden_by_the_lag_come_with_the_next_pull(
        self, lagging: Sandbox, ticks: Ticks
    ) -> None:
        """Write-backs invisible to the pull right after them arrive with the pull after the lag."""
        client = connect(lagging, timedelta(seconds=2 * LAG_S))
        first, committed = pull(client, Cursor())
        assert set(first) == set(lagging.hubspot.contact_ids())
        changed = sorted(first, key=int)[::4]
        updates = [FieldUpdate(CONTACTS.name, cid, {"nps_last_score": "7"}, cid) for cid in changed]
        assert all(result.ok for result in client.update(updates))
        right_after, committed = pull(client, committed)
        ticks.now += LAG_S
        after_lag, _ = pull(client, committed)
        assert not set(changed) & set(right_after)
        assert {cid: after_lag[cid]["nps_last_score"] for cid in changed} == dict.fromkeys(
            changed, "7"
        )

    @pytest.mark.parametrize(
        ("lookback", "caught"),
        [
            pytest.param(timedelta(0), False, id="no-look-back-skips-it"),
            pytest.param(timedelta(seconds=60), True, id="look-back-catches-it"),
        ],
    )
    def test_a_change_indexed_after_a_later_one(
        self, lagging: Sandbox, ticks: Ticks, lookback: timedelta, caught: bool
    ) -> None:
        """A change made 20 s ago but indexed after one made 10 s ago is read only with a look-back.

        The pull that sees the 10 s-old change moves the cursor past the 20 s-old one unless
        the look-back holds it back; `Date` is real time, at least 8 s past the newer change.
        """
        portal = lagging.hubspot
        now = lagging.clock.now()
        client = connect(lagging, lookback)
        _, committed = pull(client, Cursor())
        assert committed.modified_at is not None
        assert committed.modified_at < now - timedelta(seconds=30)
        with portal.lock:
            early, late = sorted(portal.store.all(CONTACTS), key=lambda r: int(r.id))[2:4]
            portal.update(CONTACTS, late, {"nps_last_score": "8"}, now - timedelta(seconds=10))
        ticks.now += LAG_S
        with portal.lock:
            portal.update(CONTACTS, early, {"nps_last_score": "2"}, now - timedelta(seconds=20))
        seen, committed = pull(client, committed)
        assert late.id in seen
        assert early.id not in seen
        ticks.now += LAG_S
        again, _ = pull(client, committed)
        assert (early.id in again) is caught
