"""Plain-text lines for every decision record, for `nps-worker explain` and `sync --dry-run`."""

import datetime as dt
from functools import singledispatch

from worker.rules.eligibility import Check, Eligibility
from worker.rules.followup import AskDecision, Escalation, FollowupPlan, TaskPlan
from worker.rules.tagging import TagResult
from worker.rules.triggers import TriggerDecision


@singledispatch
def render(decision: object) -> list[str]:
    """Readable lines for one decision; nested detail is indented by four spaces."""
    raise TypeError(f"no text form for {type(decision).__name__}")


@render.register
def _trigger(decision: TriggerDecision) -> list[str]:
    head = (
        f"trigger {decision.program} ({decision.kind}) on {decision.object} "
        f"{decision.record_crm_id}: {decision.reason_code} - {decision.detail}"
    )
    lines = [head]
    if decision.event is not None:
        event = decision.event
        who = event.contact_crm_id or "contacts of the account matching the selector"
        lines.append(f"    event {event.dedup_key} for {who}, fire at {_at(event.fire_at)}")
    if decision.condition is not None:
        lines.extend(decision.condition.lines("    "))
    return lines


@render.register
def _eligibility(decision: Eligibility) -> list[str]:
    if decision.outcome == "refuse":
        verdict = f"refused ({decision.reason_code})"
    else:
        verdict = f"{decision.outcome} at {_at(decision.send_at)}"
    lines = [f"survey {decision.program} for {decision.contact_crm_id}: {verdict}"]
    lines.extend(_check(check) for check in decision.checks)
    return lines


@render.register
def _followup(plan: FollowupPlan) -> list[str]:
    severity = f", {plan.severity}" if plan.severity else ""
    lines = [f"follow-up for response {plan.response_key}: {plan.category.value}{severity}"]
    lines.extend("    " + line for line in (render(plan.task) if plan.task else ["no task"]))
    for escalation in plan.escalations:
        lines.extend("    " + line for line in render(escalation))
    for ask in plan.asks:
        lines.extend("    " + line for line in render(ask))
    return lines


@render.register
def _task(task: TaskPlan) -> list[str]:
    owner = task.owner_id or "unassigned"
    return [
        f"task {task.dedup_key}: {task.subject!r}, {task.priority} priority, "
        f"owner {owner} ({task.owner_source}), due {_at(task.due_at)}"
    ]


@render.register
def _escalation(escalation: Escalation) -> list[str]:
    target = escalation.notify_id or "nobody resolvable"
    return [
        f"escalate to level {escalation.level}: notify {escalation.notify} ({target}), "
        f"{escalation.reason}"
    ]


@render.register
def _ask(ask: AskDecision) -> list[str]:
    lines = [f"{ask.kind} ask: {'yes' if ask.granted else 'no'}"]
    lines.extend("    " + _check(check) for check in ask.checks)
    return lines


@render.register
def _tags(result: TagResult) -> list[str]:
    tags = ", ".join(f"{tag} ({result.polarity_of(tag) or '-'})" for tag in result.tags)
    found = ", ".join(f"{m.tag} ({m.text!r})" for m in result.matches) or "none"
    lines = [f"tags: {tags or 'none'}", f"    from the comment: {found}"]
    if result.ruled_out:
        ruled = ", ".join(f"{m.tag} ({m.text!r})" for m in result.ruled_out)
        lines.append(f"    ruled out by the comment: {ruled}")
    return lines


def _check(check: Check) -> str:
    return f"    {'+' if check.passed else '-'} {check.code}: {check.detail}"


def _at(moment: dt.datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%MZ")
