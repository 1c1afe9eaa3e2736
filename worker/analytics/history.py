"""A realistic, seeded answer history written straight into the store.

For the analytics benchmark and tests: accounts and contacts with segment values, surveys
sent over several months through each configured program, human and provisional answers with
reason tags and English or Japanese comments (some carrying e-mail addresses, phone numbers
and the author's name, as real comments do), and a follow-up per detractor. Rows go in
through bulk inserts, so 50,000 answers take seconds.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from worker.config import Config
from worker.domain import Category
from worker.store.models import (
    Account,
    Contact,
    Crm,
    FollowUp,
    FollowUpStatus,
    Response,
    ResponseSource,
    Survey,
    SurveyChannel,
    SurveyState,
)

_VALUES = {
    "industry": ("Manufacturing", "Retail", "Finance", "Healthcare", "Software", "Logistics"),
    "country": ("Japan", "United States", "Germany", "Singapore", "United Kingdom"),
    "plan": ("Starter", "Professional", "Enterprise"),
}
_FIRST = ("Emma", "Liam", "Olivia", "Noah", "Sakura", "Haruto", "Yui", "Ren", "Aoi", "Mia")
_LAST = ("Tanaka", "Suzuki", "Sato", "Smith", "Johnson", "Brown", "Kato", "Ito", "Miller")
_COMPANY = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Kaito", "Mirai", "Sakura", "Nova")

_COMMENTS: dict[str, dict[str, tuple[str, str]]] = {
    # tag -> language -> (a detractor's comment, a promoter's comment)
    "feature_value": {
        "en": ("The missing features make it hard to justify.", "Great value, useful features."),
        "ja": ("欲しい機能が足りないです。", "機能が便利で価値があります。"),
    },
    "usability": {
        "en": ("The UI is confusing and clunky.", "Easy and intuitive to use."),
        "ja": ("画面が分かりにくく使いにくい。", "操作が直感的で使いやすい。"),
    },
    "quality": {
        "en": ("Another outage this month, too many bugs.", "Reliable, no errors at all."),
        "ja": ("障害が多く、動作が遅いです。", "安定していて不具合もありません。"),
    },
    "onboarding": {
        "en": ("Setup took far too long, training was thin.", "Onboarding was smooth."),
        "ja": ("導入に時間がかかりすぎました。", "導入支援が丁寧でした。"),
    },
    "support": {
        "en": ("Support response time is slow.", "Support answered quickly."),
        "ja": ("サポートの返信が遅いです。", "サポートの対応が早くて助かりました。"),
    },
    "price_contract": {
        "en": ("Too expensive for what we get; renewal price went up.", "Fair price."),
        "ja": ("価格が高く、更新時の料金も上がりました。", "料金は妥当です。"),
    },
    "integrations": {
        "en": ("The API and sync with our CRM keep breaking.", "Integrations work well."),
        "ja": ("連携がよく切れます。", "外部連携が便利です。"),
    },
}
_DETRACTOR_WEIGHTS = {
    "quality": 5,
    "support": 4,
    "price_contract": 3,
    "usability": 2,
    "onboarding": 2,
    "integrations": 2,
    "feature_value": 1,
}
_PROMOTER_WEIGHTS = {"feature_value": 5, "usability": 4, "support": 3, "onboarding": 1}


@dataclass(frozen=True, slots=True)
class History:
    """What was written: row counts of each kind."""

    accounts: int
    contacts: int
    surveys: int
    answers: int
    provisional: int
    followups: int


def generate(
    session: Session,
    config: Config,
    *,
    answers: int,
    start: datetime,
    months: int = 12,
    now: datetime,
    seed: int = 1,
) -> History:
    """Write about `answers` human answers spread over `months` months from `start`."""
    rng = random.Random(seed)  # noqa: S311 - reproducible sample data, not secrets
    accounts = _accounts(session, config, rng, max(answers // 40, 5), now)
    contacts = _contacts(session, config, rng, accounts, count=max(answers // 3, 10), now=now)
    programs = [name for name, program in config.programs.items() if program.enabled] or ["nps"]
    span = timedelta(days=30 * months)
    surveys: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    followups: list[dict[str, Any]] = []
    last: dict[int, Category] = {}
    answered = provisional = 0
    index = 0
    while answered < answers:
        index += 1
        contact_id, language, plan = rng.choice(contacts)
        sent_at = start + span * (index / (answers * 1.6))
        program = rng.choice(programs)
        survey = {
            "id": index,
            "program": program,
            "contact_id": contact_id,
            "token_id": f"h{seed}-{index}",
            "state": SurveyState.EXPIRED,
            "language": language,
            "channel": SurveyChannel.CRM if rng.random() < 0.15 else SurveyChannel.EMAIL,
            "planned_at": sent_at,
            "scheduled_for": sent_at,
            "sent_at": sent_at,
        }
        surveys.append(survey)
        if rng.random() > 0.62:
            continue
        received = sent_at + timedelta(hours=rng.uniform(0.2, 96))
        score = _score(rng, plan, program, last.get(contact_id), index / (answers * 1.6))
        category = Category.of_score(score)
        is_provisional = rng.random() < 0.02
        tags = _tags(rng, category)
        survey.update(state=SurveyState.ANSWERED, answered_at=received)
        responses.append(
            {
                "id": index,
                "survey_id": index,
                "score": score,
                "category": category,
                "comment": _comment(rng, tags, category, language, contacts_names(contact_id)),
                "reason_tags": tags,
                "reason_polarity": dict.fromkeys(
                    tags, "praise" if category is Category.PROMOTER else "complaint"
                ),
                "provisional": is_provisional,
                "source": ResponseSource.WEB,
                "received_at": received,
                "confirmed_at": None if is_provisional else received,
            }
        )
        if is_provisional:
            provisional += 1
            continue
        answered += 1
        last[contact_id] = category
        if category is Category.DETRACTOR:
            followups.append(_followup(rng, index, received, now) | {"crm": Crm(config.crm.kind)})
    _bulk(session, Survey, surveys)
    _bulk(session, Response, responses)
    _bulk(session, FollowUp, followups)
    return History(
        len(accounts), len(contacts), len(surveys), answered, provisional, len(followups)
    )


def contacts_names(index: int) -> tuple[str, str]:
    """The name a generated contact signs a comment with (also their mirrored name)."""
    return _FIRST[index % len(_FIRST)], _LAST[index % len(_LAST)]


def _bulk(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    for offset in range(0, len(rows), 5000):
        session.execute(insert(model), rows[offset : offset + 5000])


_ARR = (8_000, 35_000, 60_000, 120_000, 350_000, 800_000, 2_400_000)
"""Annual recurring revenue of generated accounts (a `segments.bands` field in the example)."""


def _segment_value(rng: random.Random, name: str) -> str | int:
    if name == "arr":
        return rng.choice(_ARR)
    return rng.choice(_VALUES.get(name, ("A", "B", "C")))


def _accounts(
    session: Session, config: Config, rng: random.Random, count: int, now: datetime
) -> list[tuple[int, str]]:
    """Accounts with their segment values; returns (id, plan)."""
    names = [n for n, source in config.segments.fields.items() if source.startswith("account.")]
    rows, found = [], []
    for number in range(1, count + 1):
        segments = {name: _segment_value(rng, name) for name in names}
        found.append((number, str(segments.get("plan", ""))))
        rows.append(
            {
                "id": number,
                "crm": Crm(config.crm.kind),
                "crm_id": f"001H{number:010d}",
                "name": f"{rng.choice(_COMPANY)} {number}",
                "fields": {
                    "segments": segments,
                    "crm_values": {},
                    "customer_since": (now - timedelta(days=rng.randint(30, 2500))).isoformat(),
                },
                "modified_at": now,
                "synced_at": now,
            }
        )
    _bulk(session, Account, rows)
    return found


def _contacts(
    session: Session,
    config: Config,
    rng: random.Random,
    accounts: Sequence[tuple[int, str]],
    *,
    count: int,
    now: datetime,
) -> list[tuple[int, str, str]]:
    """Contacts linked to accounts; returns (id, language, account plan)."""
    names = [n for n, source in config.segments.fields.items() if source.startswith("contact.")]
    rows, found = [], []
    for number in range(1, count + 1):
        account_id, plan = rng.choice(accounts)
        language = "ja" if rng.random() < 0.4 else "en"
        first, last = contacts_names(number)
        rows.append(
            {
                "id": number,
                "crm": Crm(config.crm.kind),
                "crm_id": f"003H{number:010d}",
                "email": f"{first}.{last}{number}@example.com".lower(),
                "first_name": first,
                "last_name": last,
                "account_id": account_id,
                "account_crm_id": f"001H{account_id:010d}",
                "language": language,
                "fields": {
                    "segments": {name: _segment_value(rng, name) for name in names},
                    "crm_values": {},
                },
                "modified_at": now,
                "synced_at": now,
            }
        )
        found.append((number, language, plan))
    _bulk(session, Contact, rows)
    return found


def _score(
    rng: random.Random, plan: str, program: str, previous: Category | None, progress: float
) -> int:
    """Higher on bigger plans and later in the period; detractors who were followed up rebound."""
    mean = 7.6 + {"Enterprise": 0.8, "Starter": -0.8}.get(plan, 0.0) + 0.8 * progress
    mean += -0.6 if "support" in program else 0.0
    if previous is Category.DETRACTOR and rng.random() < 0.5:
        mean += 1.5
    return max(0, min(10, round(rng.gauss(mean, 2.3))))


def _tags(rng: random.Random, category: Category) -> list[str]:
    if category is Category.PASSIVE and rng.random() < 0.5:
        return []
    weights = _PROMOTER_WEIGHTS if category is Category.PROMOTER else _DETRACTOR_WEIGHTS
    count = 1 if rng.random() < 0.7 else 2
    return list(dict.fromkeys(rng.choices(list(weights), list(weights.values()), k=count)))


def _comment(
    rng: random.Random,
    tags: Sequence[str],
    category: Category,
    language: str,
    name: tuple[str, str],
) -> str | None:
    if not tags or rng.random() < 0.4:
        return None
    side = 1 if category is Category.PROMOTER else 0
    text = " ".join(_COMMENTS[tag]["ja" if language == "ja" else "en"][side] for tag in tags)
    extra = rng.random()
    if extra < 0.05:
        text += f" Call me at +81 3-1234-{rng.randint(1000, 9999)}."
    elif extra < 0.10:
        text += f" — {name[0]} {name[1]}, {name[0].lower()}@example.com"
    return text


def _followup(rng: random.Random, index: int, received: datetime, now: datetime) -> dict[str, Any]:
    due = received + timedelta(hours=24)
    contacted = received + timedelta(hours=rng.uniform(1, 40))
    closed = contacted + timedelta(hours=rng.uniform(4, 240))
    first_contact = contacted if contacted <= now and rng.random() < 0.9 else None
    closed_at = (
        closed if first_contact is not None and closed <= now and rng.random() < 0.8 else None
    )
    status = (
        FollowUpStatus.CLOSED
        if closed_at
        else FollowUpStatus.IN_PROGRESS
        if first_contact
        else FollowUpStatus.OPEN
    )
    return {
        "response_id": index,
        "dedup_key": f"followup:{index}",
        "crm_task_id": f"00T{index:012d}",
        "status": status,
        "due_at": due,
        "first_contact_at": first_contact,
        "closed_at": closed_at,
        "created_at": received + timedelta(minutes=5),
    }
