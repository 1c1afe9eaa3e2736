"""Follow-up tasks per rep language, as the sandbox CRM stores them, written next to the mail.

Reps never open the worker: what they read is the CRM's task. The demo keeps an English and a
Japanese detractor task (`demo-out/task-en.txt`, `task-ja.txt`) and escalation task so a reader
can see them.
"""

from collections.abc import Mapping
from pathlib import Path

from worker.sandbox.hubspot.projection import owner_id
from worker.sandbox.server import Sandbox

SALESFORCE_FIELDS = (
    "Subject",
    "ActivityDate",
    "ReminderDateTime",
    "Priority",
    "Status",
    "OwnerId",
    "Description",
)
HUBSPOT_FIELDS = (
    "hs_task_subject",
    "hs_timestamp",
    "hs_task_priority",
    "hs_task_status",
    "hubspot_owner_id",
    "hs_task_body",
)


def hubspot_reps(sandbox: Sandbox) -> dict[str, dict[str, str]]:
    """`followup.reps` as RevOps would write it for the sandbox portal's Japanese owners
    (HubSpot owners carry no language)."""
    return {
        owner_id(user.key): {"language": "ja", "time_zone": "Asia/Tokyo"}
        for user in sandbox.world.users
        if user.language == "ja"
    }


def write_task_samples(sandbox: Sandbox, kind: str, out: Path) -> list[Path]:
    """Per rep language, the detractor task and the escalation task with the most to say
    (`task-en.txt`, `escalation-ja.txt`, …); the files written."""
    languages = {
        owner_id(user.key) if kind == "hubspot" else user.email: user.language
        for user in sandbox.world.users
    }
    found: list[tuple[str, str, str]] = []
    if kind == "salesforce":
        emails = {u["Id"]: u["Email"] for u in sandbox.salesforce.records("User")}
        for task in sandbox.salesforce.records("Task"):
            key = str(task.get("NPS_Dedup_Key__c") or "")
            language = languages.get(emails.get(task.get("OwnerId"), ""), "en")
            found.append((key, language, _shown(task, SALESFORCE_FIELDS)))
    else:
        for task in sandbox.hubspot.records("tasks"):
            key = str(task.get("nps_dedup_key") or "")
            language = languages.get(task.get("hubspot_owner_id") or "", "en")
            found.append((key, language, _shown(task, HUBSPOT_FIELDS)))
    samples: dict[str, str] = {}
    for key, language, shown in found:
        if not key.startswith("followup:"):
            continue
        name = f"{'escalation' if ':escalation:' in key else 'task'}-{language}.txt"
        if len(shown) > len(samples.get(name, "")):
            samples[name] = shown
    written = []
    for name, shown in sorted(samples.items(), key=lambda item: item[0][::-1]):
        path = out / name
        path.write_text(shown, encoding="utf-8")
        written.append(path)
    return written


def _shown(record: Mapping[str, object], fields: tuple[str, ...]) -> str:
    lines = [f"{name}: {record.get(name)}" for name in fields[:-1]]
    return "\n".join([*lines, f"{fields[-1]}:", str(record.get(fields[-1]) or ""), ""])
