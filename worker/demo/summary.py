"""What the demo prints: the loop's outcome in the words a RevOps person uses."""

import datetime as dt
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from worker.analytics.dataset import Window, load
from worker.analytics.kpis import followup_kpis
from worker.config import Config
from worker.cycle import CycleReport
from worker.demo.respondents import Tally
from worker.digest.send import Sent
from worker.domain import Category
from worker.loop.rollups import tally
from worker.store.models import (
    Account,
    BacklogItem,
    BacklogStatus,
    Contact,
    DecisionOutcome,
    FollowUp,
    FollowUpStatus,
    OutboxEntry,
    Response,
    Survey,
    SurveyDecision,
)

ACCOUNTS_SHOWN = 8


@dataclass
class Totals:
    """Sums over every cycle of the demo."""

    cycles: int = 0
    failed_cycles: int = 0
    sent: int = 0
    reminded: int = 0
    first_sync_skipped: int = 0
    trigger_refusals: Counter[str] = field(default_factory=Counter)
    digests: list[str] = field(default_factory=list)
    digest_mails: int = 0
    told: int = 0

    def add(self, report: CycleReport) -> None:
        """Count one cycle."""
        self.cycles += 1
        self.failed_cycles += not report.ok
        self.sent += report.dispatch.sent
        self.reminded += report.dispatch.reminded
        for crm in report.crms:
            self.trigger_refusals.update(crm.events.refused)

    def digest(self, sent: Sent | None) -> None:
        """Count a weekly digest, when one went out."""
        if sent is not None:
            self.digests.append(f"{sent.scheduled_for:%Y-%m-%d}")
            self.digest_mails += sent.mails
            print(
                f"  weekly digest of {sent.scheduled_for:%Y-%m-%d}: {sent.mails} e-mails,"
                f" {sent.planned} backlog items planned"
            )

    @property
    def ok(self) -> bool:
        """Whether every cycle ran to its end."""
        return self.failed_cycles == 0

    def progress(self) -> str:
        """One line for the weekly progress print."""
        return f"{self.cycles} cycles, {self.sent} surveys sent, {self.reminded} reminders"


def print_summary(
    config: Config,
    sessions: sessionmaker[Session],
    totals: Totals,
    people: Tally,
    *,
    out: Path,
    now: dt.datetime,
) -> None:
    """Print the whole story: surveys, answers, follow-ups, NPS, CRM writes, where to look."""
    with sessions() as session:
        _surveys(session, totals)
        _answers(session, people)
        _followups(session, config, now)
        _nps(session, config, now)
        _outer_loop(session, totals)
        _writes(session)
    print("\nWhere to look")
    print(f"  e-mails as sent:          {out / 'mail'}/*.eml ({people.mails} files)")
    print(f"  the config the demo used: {out / 'config.yaml'}")
    print(f"  the outer-loop report:    {out / 'report-en.html'} (and report-ja.html)")
    print(f"  an account review pack:   {out / 'account-en.html'} (and account-ja.html)")
    print(f"  the latest weekly digest: {out / 'digest-en.html'} (and digest-ja.html);")
    print(f"    as e-mailed:            {out / 'mail'}/nps.digest.*.eml")
    print(f"  improvement backlog:      {out / 'backlog.csv'}")
    print(f"  the same in the terminal: nps-worker report --config {out / 'config.yaml'}")
    print(
        f"  why someone was (not) surveyed: nps-worker explain EMAIL --config {out / 'config.yaml'}"
    )


def _surveys(session: Session, totals: Totals) -> None:
    refused = Counter(
        dict(
            session.execute(
                select(SurveyDecision.reason_code, func.count())
                .where(SurveyDecision.outcome == DecisionOutcome.REFUSE)
                .group_by(SurveyDecision.reason_code)
            ).all()
        )
    )
    by_program = session.execute(
        select(Survey.program, func.count())
        .where(Survey.sent_at.is_not(None))
        .group_by(Survey.program)
        .order_by(Survey.program)
    ).all()
    print(f"\nSurveys ({totals.cycles} cycles)")
    print(f"  sent: {totals.sent}, reminders: {totals.reminded}")
    print("  by program: " + (", ".join(f"{name} {count}" for name, count in by_program) or "-"))
    skipped = totals.trigger_refusals.get("first_sync", 0)
    print(f"  not sent on the first sync (no blast of old events): {skipped}")
    print(f"  refused by eligibility: {sum(refused.values())}")
    for reason, count in refused.most_common():
        print(f"    {reason:<20} {count}")


def _answers(session: Session, people: Tally) -> None:
    rows = session.execute(select(Response.score, Response.provisional)).all()
    final = [score for score, provisional in rows if not provisional]
    categories = Counter(Category.of_score(score) for score in final)
    sent = session.scalar(select(func.count()).where(Survey.sent_at.is_not(None))) or 0
    rate = 100.0 * len(final) / sent if sent else 0.0
    print("\nAnswers")
    print(f"  answers: {len(final)} of {sent} surveys sent ({rate:.0f}% response rate)")
    print(
        f"  promoters {categories[Category.PROMOTER]}, passives {categories[Category.PASSIVE]},"
        f" detractors {categories[Category.DETRACTOR]}"
    )
    print(
        f"  link-scanner clicks ignored: {people.scanner_clicks} (still provisional:"
        f" {len(rows) - len(final)}); unsubscribed in one click: {people.unsubscribed}"
    )


def _followups(session: Session, config: Config, now: dt.datetime) -> None:
    rows = session.scalars(select(FollowUp)).all()
    contacted = [f for f in rows if f.first_contact_at is not None]
    closed = [f for f in rows if f.status == FollowUpStatus.CLOSED]
    in_crm = [f for f in rows if f.crm_task_id]
    print("\nFollow-ups (the inner loop)")
    print(f"  tasks opened in the CRM: {len(in_crm)} of {len(rows)} follow-ups")
    cancelled = sum(1 for f in rows if f.status == FollowUpStatus.CANCELLED)
    print(
        f"  contacted: {len(contacted)}, closed: {len(closed)}, escalated: "
        f"{sum(1 for f in rows if f.escalation_level > 0)}, task deleted in the CRM: {cancelled}"
    )
    data = load(session, config, Window(None, now + dt.timedelta(seconds=1)))
    kpi = {item.id: item for item in followup_kpis(data.followups, now)}
    sla, first_contact = kpi["sla_compliance"], kpi["time_to_first_contact"]
    if sla.value is not None:
        print(f"  SLA compliance (first contact before due): {sla.value:.0f}% of {sla.count} due")
    if first_contact.value is not None:
        print(f"  median time from answer to first contact: {first_contact.value:.1f} h")
    recorded = sum(1 for f in closed if f.outcomes)
    print(f"  closed tasks with guided-response outcomes read back: {recorded} of {len(closed)}")


def _nps(session: Session, config: Config, now: dt.datetime) -> None:
    rows = session.execute(
        select(Account.name, Contact.id, Response.category, Response.received_at)
        .join(Contact, Contact.account_id == Account.id)
        .join(Survey, Survey.contact_id == Contact.id)
        .join(Response, Response.survey_id == Survey.id)
        .where(Response.provisional.is_(False))
    ).all()
    window = config.writeback.account_window
    start, end = now - window, now + dt.timedelta(seconds=1)
    overall = tally([(c, cat, at) for _, c, cat, at in rows], start, end)
    print("\nNPS (each contact's latest answer, true NPS = % promoters - % detractors)")
    print(
        f"  overall: {overall.nps if overall.nps is not None else '-'} from {overall.count} people"
    )
    by_account: dict[str, list[tuple[int, Category, dt.datetime]]] = {}
    for name, contact_id, category, at in rows:
        by_account.setdefault(name or "?", []).append((contact_id, category, at))
    ranked = sorted(by_account.items(), key=lambda item: -len(item[1]))[:ACCOUNTS_SHOWN]
    for name, answers in ranked:
        account = tally(answers, start, end)
        print(f"  {_fit(name, 34)} NPS {account.nps:>6}  ({account.count} answers)")
    print("  (the same roll-ups are written onto each Account in the CRM)")


def _outer_loop(session: Session, totals: Totals) -> None:
    items = session.scalars(select(BacklogItem)).all()
    done = sum(1 for item in items if item.status is BacklogStatus.DONE)
    print("\nThe outer loop")
    print(f"  backlog items: {len(items)} ({done} done)")
    print(
        f"  weekly digests sent: {len(totals.digests)} ({', '.join(totals.digests) or 'none'}),"
        f" {totals.digest_mails} e-mails in English and Japanese"
    )
    print(f"  'you said, we did' e-mails to customers: {totals.told}")


def _writes(session: Session) -> None:
    states = dict(
        session.execute(select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state)).all()
    )
    print("\nCRM writes (outbox)")
    print("  " + ", ".join(f"{state.value}: {count}" for state, count in states.items()))


def _fit(text: str, width: int) -> str:
    """`text` cut and padded to `width` terminal columns (Japanese characters take two)."""
    out, used = "", 0
    for char in text:
        size = 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        if used + size > width:
            break
        out, used = out + char, used + size
    return out + " " * (width - used)
