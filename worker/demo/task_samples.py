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
JAPANESE_CATEGORIES = ("批判者", "中立者", "推奨者")
"""How a Japanese task's subject names the answer's category."""
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
    """Per language a task is written in, the detractor task and the escalation task with the
    most to say (`task-en.txt`, `escalation-ja.txt`, …); the files written. The language is
    read from the subject: reps hand tasks to colleagues, so the owner now may not be the
    one it was written for."""
    if kind == "salesforce":
        tasks = [
            (
                str(t.get("NPS_Dedup_Key__c") or ""),
                str(t.get("Subject")),
                _shown(t, SALESFORCE_FIELDS),
            )
            for t in sandbox.salesforce.records("Task")
        ]
    else:
        tasks = [
            (
                str(t.get("nps_dedup_key") or ""),
                str(t.get("hs_task_subject")),
                _shown(t, HUBSPOT_FIELDS),
            )
            for t in sandbox.hubspot.records("tasks")
        ]
    samples: dict[str, str] = {}
    for key, subject, shown in tasks:
        if not key.startswith("followup:"):
            continue
        language = "ja" if any(word in subject for word in JAPANESE_CATEGORIES) else "en"
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
