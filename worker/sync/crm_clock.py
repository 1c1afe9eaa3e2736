"""Which clock a command keeps: the wall clock, or the sandbox CRM's when it is one.

The sandbox's time machine moves its clock by days; a worker on the wall clock would then see
cases closed "in the future" and events that never come due. When `crm.endpoint` answers the
sandbox's clock request, commands follow that clock (its offset from the wall clock, taken
once); against a real CRM or a proxy the request fails or is refused and the wall clock stays.
"""

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import requests

from worker.config import Config
from worker.sync.endpoint import endpoint_session

Clock = Callable[[], dt.datetime]


def wall_clock() -> dt.datetime:
    """The wall clock, in UTC."""
    return dt.datetime.now(dt.UTC)


def shifted(now: dt.datetime, base: Clock = wall_clock) -> Clock:
    """A clock that reads `now` at this moment and moves on with `base`."""
    offset = now - base()
    return lambda: base() + offset


def command_clock(config: Config, now: dt.datetime | None = None) -> tuple[Clock, str | None]:
    """The clock for one command (`now` given: from there) and, when not the wall clock, why."""
    if now is not None:
        return shifted(now), f"clock: --now {now:%Y-%m-%d %H:%M}Z"
    endpoint = config.crm.endpoint
    if endpoint is None:
        return wall_clock, None
    ca_bundle = Path(config.crm.ca_bundle) if config.crm.ca_bundle else None
    session = endpoint_session(endpoint, ca_bundle)
    try:
        answer = session.get(f"{endpoint.rstrip('/')}/_sandbox/clock", timeout=2)
        sandbox_now = dt.datetime.fromisoformat(answer.json()["now"]) if answer.ok else None
    except (requests.RequestException, ValueError, KeyError, TypeError):
        sandbox_now = None
    finally:
        session.close()
    if sandbox_now is None or sandbox_now.tzinfo is None:
        return wall_clock, None
    return shifted(sandbox_now), (
        f"clock: the sandbox CRM's, {sandbox_now:%Y-%m-%d %H:%M}Z"
        f" / サンドボックスの時計 {sandbox_now:%Y-%m-%d %H:%M}Z"
    )
