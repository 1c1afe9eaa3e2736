"""Non-response alerts: a key contact ignored a pre-renewal survey, so the owner gets a task."""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from worker.config.followup import FollowupConfig
from worker.domain import Account, Contact
from worker.rules.conditions import evaluate
from worker.rules.followup import TaskPlan, render, resolve_owner, template_variables


@dataclass(frozen=True, slots=True)
class SentSurvey:
    """A survey as the alert rule sees it; `key` identifies it (e.g. the survey id)."""

    key: str
    program: str
    contact_crm_id: str
    sent_at: dt.datetime
    expires_at: dt.datetime
    answered: bool


def non_response_alerts(
    surveys: Sequence[SentSurvey],
    contacts: Mapping[str, Contact],
    accounts: Mapping[str, Account],
    values: Mapping[str, Mapping[str, Any]],
    config: FollowupConfig,
    *,
    now: dt.datetime,
) -> list[TaskPlan]:
    """One task per expired, unanswered survey of a listed program sent to a key contact.

    `values` holds each contact's `contact.X` / `account.X` values by contact id. The task's
    `dedup_key` (`nonresponse:{survey}`) keeps it to one per survey across cycles.
    """
    rule = config.non_response
    if not rule.enabled:
        return []
    plans = []
    for survey in surveys:
        contact = contacts.get(survey.contact_crm_id)
        if survey.answered or survey.program not in rule.programs or contact is None:
            continue
        if survey.expires_at > now:
            continue
        fields = values.get(contact.crm_id, {})
        if not evaluate(rule.key_contacts, fields).passed:
            continue
        account = accounts.get(contact.account_crm_id or "")
        role = fields.get(f"contact.{rule.role_field}") if rule.role_field else None
        variables = template_variables(
            contact,
            account,
            survey={"sent_at": f"{survey.sent_at:%Y-%m-%d}", "key": survey.key},
            program=survey.program,
        )
        variables["contact"]["role"] = role or ""
        owner_id, source = resolve_owner(rule.owner, contact, account)
        plans.append(
            TaskPlan(
                dedup_key=f"nonresponse:{survey.key}",
                subject=render(rule.subject, variables),
                body=render(rule.body, variables),
                owner_id=owner_id,
                owner_source=source,
                due_at=survey.expires_at + rule.sla,
                priority=rule.priority,
            )
        )
    return plans
