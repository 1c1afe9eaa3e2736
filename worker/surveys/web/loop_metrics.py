"""The loop's numbers on `/metrics`, read from the store at each scrape (the same in every
replica): what an operator alerts on. `docs/alerts.yml` has example Prometheus rules.
"""

import datetime as dt
from collections.abc import Callable, Iterator

import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config
from worker.status import Status, gather
from worker.store.models import (
    DecisionOutcome,
    FollowUp,
    FollowUpStatus,
    Response,
    SurveyDecision,
)

log = structlog.get_logger(__name__)

OPEN = (FollowUpStatus.PENDING, FollowUpStatus.OPEN, FollowUpStatus.IN_PROGRESS)


class LoopCollector(Collector):
    """Gauges of the last cycle per CRM and of the store's queues and totals."""

    def __init__(
        self, sessions: sessionmaker[Session], config: Config, clock: Callable[[], dt.datetime]
    ) -> None:
        self._sessions = sessions
        self._config = config
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        """Every loop gauge; none when the store cannot be read (`/readyz` says so)."""
        try:
            with self._sessions() as session:
                state = gather(session, self._config, self._clock())
                totals = _totals(session)
        except SQLAlchemyError:
            log.warning("loop_metrics_unavailable")
            return
        yield from _cycle_metrics(state)
        yield from _store_metrics(state, totals)


def _gauge(name: str, text: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, text, labels=labels)


def _cycle_metrics(state: Status) -> Iterator[Metric]:
    duration = _gauge("nps_cycle_duration_seconds", "Length of the last cycle.", ["crm"])
    outcome = _gauge(
        "nps_cycle_outcome", "1 for the last cycle's outcome (ok or failed).", ["crm", "outcome"]
    )
    pulled = _gauge("nps_cycle_records_pulled", "Records the last cycle pulled.", ["crm"])
    refused = _gauge(
        "nps_cycle_surveys_refused", "Candidates the last cycle refused.", ["crm", "reason"]
    )
    scheduled = _gauge("nps_cycle_surveys_planned", "Surveys the last cycle planned.", ["crm"])
    budget = _gauge(
        "nps_crm_api_budget_used_ratio", "Share of the CRM's daily API calls used.", ["crm"]
    )
    for cycle in state.cycles:
        if cycle.started_at is None or cycle.finished_at is None:
            continue
        began = cycle.cycle_started_at or cycle.started_at
        duration.add_metric([cycle.crm], (cycle.finished_at - began).total_seconds())
        outcome.add_metric([cycle.crm, cycle.outcome], 1)
        pulled.add_metric([cycle.crm], cycle.headline.get("pulled", 0))
        scheduled.add_metric([cycle.crm], cycle.headline.get("scheduled", 0))
        for reason, count in cycle.refused_by_reason.items():
            refused.add_metric([cycle.crm, reason], count)
        if cycle.api_used is not None and cycle.api_limit:
            budget.add_metric([cycle.crm], cycle.api_used / cycle.api_limit)
    yield from (duration, outcome, pulled, scheduled, refused, budget)


def _store_metrics(state: Status, totals: dict[str, dict[str, int]]) -> Iterator[Metric]:
    outbox = _gauge("nps_outbox_entries", "CRM writes in the outbox, by state.", ["state"])
    for name, count in state.outbox.items():
        outbox.add_metric([name], count)
    refused_writes = _gauge("nps_crm_refused_writes", "Writes the CRM refused for good.")
    refused_writes.add_metric([], state.failed_total)
    surveys = _gauge("nps_surveys", "Surveys by state (sent, answered, expired, ...).", ["state"])
    for name, count in state.surveys.items():
        surveys.add_metric([name], count)
    refusals = _gauge(
        "nps_survey_refusals", "Candidates refused since the start, by reason.", ["reason"]
    )
    for reason, count in totals["refusals"].items():
        refusals.add_metric([reason], count)
    answers = _gauge("nps_answers", "Answers stored.")
    answers.add_metric([], totals["answers"]["all"])
    followups = _gauge("nps_followups_open", "Follow-up tasks not closed yet.")
    followups.add_metric([], totals["followups"]["open"])
    overdue = _gauge("nps_followups_overdue", "Follow-ups past due without a first contact.")
    overdue.add_metric([], state.overdue_total)
    unknown = _gauge("nps_deliveries_unknown", "Sends whose fate a crash left unknown.")
    unknown.add_metric([], state.unknown_total)
    yield from (outbox, refused_writes, surveys, refusals, answers, followups, overdue, unknown)


def _totals(session: Session) -> dict[str, dict[str, int]]:
    refusals = session.execute(
        select(SurveyDecision.reason_code, func.count())
        .where(SurveyDecision.outcome == DecisionOutcome.REFUSE)
        .group_by(SurveyDecision.reason_code)
    ).all()
    answers = session.scalar(select(func.count()).select_from(Response)) or 0
    open_followups = session.scalar(select(func.count()).where(FollowUp.status.in_(OPEN))) or 0
    return {
        "refusals": {str(reason or "refused"): count for reason, count in refusals},
        "answers": {"all": answers},
        "followups": {"open": open_followups},
    }
