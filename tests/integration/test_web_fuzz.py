"""Malformed input in every field the web app reads: never a 5xx, never anything stored.

The inputs and the check are shared with the long campaign (`benchmarks/fuzz.py --target web`).
"""

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy.engine import Engine

from tests.fuzz.web_inputs import Attack, attacks, check_attack
from tests.integration.web_support import Harness, Link
from worker.store.engine import session_factory


@pytest.fixture(scope="module")
def web(engine: Engine) -> Harness:
    """One app for the module; every example uses the same survey and must leave it unanswered."""
    return Harness(session_factory(engine))


@pytest.fixture(scope="module")
def link(web: Harness) -> Link:
    """The survey every example attacks."""
    return web.survey()


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(attack=attacks())
def test_any_request_is_a_4xx_at_worst_and_stores_nothing_final(
    web: Harness, link: Link, attack: Attack
) -> None:
    """Form fields without a valid token, raw bodies on every POST route, odd links and agents."""
    check_attack(web, link, attack)
