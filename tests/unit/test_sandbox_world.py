"""The sandbox's generated world: deterministic per seed, realistic B2B shape, known warts."""

import time
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from worker.sandbox.world import (
    CASE_PRIORITIES,
    CASE_STATUSES,
    LANGUAGES,
    ONBOARDING_STATUSES,
    PLANS,
    RENEWAL_STAGES,
    World,
    generate_world,
)

NOW = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)
SHAPE_SIZE = 20_000


@pytest.fixture(scope="module")
def world() -> World:
    """One mid-sized world shared by the shape tests (generation is pure)."""
    return generate_world(11, SHAPE_SIZE, NOW)


def _is_japanese(text: str) -> bool:
    return any("\u3040" <= char <= "\u9fff" for char in text)


class TestDeterminism:
    def test_same_seed_gives_the_same_world(self) -> None:
        """Two generations with the same seed, size and now are equal record for record."""
        assert generate_world(3, 2_000, NOW) == generate_world(3, 2_000, NOW)

    def test_another_seed_gives_another_world(self) -> None:
        """A different seed changes the people generated."""
        first = generate_world(3, 500, NOW).people
        second = generate_world(4, 500, NOW).people
        assert [p.email for p in first] != [p.email for p in second]

    @pytest.mark.parametrize(
        "size",
        [
            pytest.param(10, id="smallest"),
            pytest.param(50, id="fixture"),
            pytest.param(1_234, id="odd"),
        ],
    )
    def test_size_is_the_number_of_people(self, size: int) -> None:
        """`size` people are generated, spread over several companies even in small worlds."""
        world = generate_world(1, size, NOW)
        assert len(world.people) == size
        assert len(world.companies) >= 5

    @pytest.mark.parametrize(
        "size", [pytest.param(9, id="too-small"), pytest.param(300_001, id="too-large")]
    )
    def test_size_outside_the_supported_range_is_refused(self, size: int) -> None:
        """Sizes outside 10..300,000 raise a ValueError naming the range."""
        with pytest.raises(ValueError, match=r"10\.\.300000"):
            generate_world(1, size, NOW)

    def test_naive_now_is_refused(self) -> None:
        """The world's reference time must be timezone-aware."""
        with pytest.raises(ValueError, match="timezone-aware"):
            generate_world(1, 10, datetime(2025, 6, 2))  # noqa: DTZ001

    def test_largest_world_is_generated_well_under_a_minute(self) -> None:
        """100,000 people are generated in seconds (benchmarks build them on every run)."""
        started = time.perf_counter()
        world = generate_world(5, 100_000, NOW)
        elapsed = time.perf_counter() - started
        assert len(world.people) == 100_000
        assert elapsed < 20, f"100k people took {elapsed:.1f}s"


class TestShape:
    def test_values_come_from_the_documented_sets(self, world: World) -> None:
        """Statuses, priorities, plans, stages and languages use only the contract's values."""
        assert {c.onboarding_status for c in world.companies} == set(ONBOARDING_STATUSES)
        assert {c.plan for c in world.companies} == set(PLANS)
        assert {c.status for c in world.cases} == set(CASE_STATUSES)
        assert {c.priority for c in world.cases} == set(CASE_PRIORITIES)
        assert {r.stage for r in world.renewals} == set(RENEWAL_STAGES)
        assert {p.language for p in world.people} == set(LANGUAGES)

    def test_data_quality_warts_have_their_documented_shares(self, world: World) -> None:
        """About 3 % opted out, 2 % without e-mail, 1 % sharing an e-mail across companies."""
        people = world.people
        opted_out = sum(p.opted_out for p in people) / len(people)
        no_email = sum(p.email is None for p in people) / len(people)
        counts = Counter(p.email for p in people if p.email is not None)
        shared = sum(n for n in counts.values() if n > 1) / len(people)
        assert 0.025 <= opted_out <= 0.035
        assert 0.015 <= no_email <= 0.025
        assert 0.008 <= shared <= 0.012
        assert max(counts.values()) == 2

    def test_a_shared_email_belongs_to_people_of_two_companies(self, world: World) -> None:
        """Duplicated e-mails pair people at different companies, never colleagues."""
        by_email: dict[str, set[int]] = {}
        for person in world.people:
            if person.email is not None:
                by_email.setdefault(person.email, set()).add(person.company_key)
        counts = Counter(p.email for p in world.people if p.email is not None)
        assert all(len(by_email[email]) == 2 for email, n in counts.items() if n == 2)

    def test_japanese_customers_have_japanese_names_and_tokyo_time(self, world: World) -> None:
        """About a fifth of people speak Japanese, carry Japanese names, and Japan means Tokyo."""
        companies = {c.key: c for c in world.companies}
        ja = [p for p in world.people if p.language == "ja"]
        assert 0.12 <= len(ja) / len(world.people) <= 0.3
        assert all(_is_japanese(p.last_name + p.first_name) for p in ja)
        assert not any(_is_japanese(p.last_name) for p in world.people if p.language == "en")
        in_japan = [p for p in world.people if companies[p.company_key].country == "Japan"]
        assert {p.time_zone for p in in_japan} == {"Asia/Tokyo"}
        japan_names = [c.name for c in world.companies if c.country == "Japan"]
        assert all("株式会社" in name for name in japan_names)

    def test_time_zones_are_iana_names(self, world: World) -> None:
        """Every time zone loads with zoneinfo, and several regions are represented."""
        zones = {p.time_zone for p in world.people}
        assert all(ZoneInfo(zone) for zone in zones)
        assert {"America/New_York", "Europe/London", "Asia/Tokyo"} <= zones

    def test_emails_are_at_the_company_domain_and_never_real(self, world: World) -> None:
        """A person's address is at their company's domain; every domain is RFC 2606 `.example`."""
        companies = {c.key: c for c in world.companies}
        unique = [p for p in world.people if p.email is not None]
        at_own = sum(p.email.endswith("@" + companies[p.company_key].domain) for p in unique)  # type: ignore[union-attr]
        assert at_own / len(unique) > 0.99
        assert all(c.domain.endswith(".example") for c in world.companies)
        assert len({c.domain for c in world.companies}) == len(world.companies)
        assert all(u.email.endswith(".example") for u in world.users)

    def test_company_sizes_are_skewed_like_a_b2b_book(self, world: World) -> None:
        """Most customers are small; enterprise customers have many more contacts."""
        plans = {c.key: c.plan for c in world.companies}
        heads = Counter(p.company_key for p in world.people)
        by_plan = {plan: [heads[key] for key, p in plans.items() if p == plan] for plan in PLANS}
        mean = {plan: sum(v) / len(v) for plan, v in by_plan.items()}
        assert mean["Starter"] < mean["Growth"] < mean["Enterprise"]
        assert Counter(plans.values()).most_common(1)[0][0] == "Starter"

    def test_references_point_at_existing_records(self, world: World) -> None:
        """Owners, managers, companies and case contacts all exist and agree with each other."""
        users = {u.key for u in world.users}
        people = {p.key: p for p in world.people}
        companies = {c.key for c in world.companies}
        assert all(c.owner_key in users for c in world.companies)
        assert all(r.owner_key in users and r.company_key in companies for r in world.renewals)
        assert all(p.company_key in companies for p in world.people)
        assert all(people[c.person_key].company_key == c.company_key for c in world.cases)

    def test_users_form_a_small_hierarchy(self, world: World) -> None:
        """One user has no manager; every other reports to an existing user; owners are reps."""
        keys = {u.key for u in world.users}
        assert [u.manager_key for u in world.users].count(None) == 1
        assert all(u.manager_key in keys for u in world.users if u.manager_key is not None)
        managers = {u.manager_key for u in world.users}
        owners = {c.owner_key for c in world.companies}
        assert not owners & managers
        assert {u.language for u in world.users} == {"en", "ja"}

    def test_lifecycle_fields_are_consistent(self, world: World) -> None:
        """Closed cases have a close time, open ones none; completed onboarding has a date."""
        for case in world.cases:
            assert (case.status == "Closed") == (case.closed_at is not None)
            assert case.opened_at <= case.modified_at <= NOW
        for company in world.companies:
            completed = company.onboarding_status == "Completed"
            assert completed == (company.onboarding_completed_at is not None)
            assert company.created_at <= company.modified_at <= NOW
            assert company.renewal_date > NOW.date()
        for person in world.people:
            assert person.created_at <= person.modified_at <= NOW

    def test_there_is_work_for_the_time_machine(self, world: World) -> None:
        """Open cases and onboarding in progress exist for the simulation to finish."""
        statuses = Counter(c.onboarding_status for c in world.companies)
        open_cases = sum(c.status != "Closed" for c in world.cases)
        assert statuses["In Progress"] / len(world.companies) > 0.05
        assert open_cases / len(world.cases) > 0.2

    def test_each_company_has_one_open_renewal(self, world: World) -> None:
        """Every company has exactly one renewal still open, closing on its renewal date."""
        open_stages = {"Prospecting", "Negotiation"}
        renewal_dates = {c.key: c.renewal_date for c in world.companies}
        open_renewals = [r for r in world.renewals if r.stage in open_stages]
        assert Counter(r.company_key for r in open_renewals) == dict.fromkeys(renewal_dates, 1)
        assert all(r.close_date == renewal_dates[r.company_key] for r in open_renewals)
