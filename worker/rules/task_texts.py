"""The words of follow-up tasks, notes and escalations, in each language a rep may read.

English and Japanese are built in; a language without its own words falls back to English.
Japanese names are written family name first, with 様 after a customer's name.
"""

# ruff: noqa: RUF001 - Japanese text uses full-width punctuation

import re
from collections.abc import Mapping

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
"""Hiragana, katakana and kanji: a name written in them is a Japanese name."""

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "detractor": "Detractor",
        "passive": "Passive",
        "promoter": "Promoter",
        "subject": "NPS {score} · {category}: {customer} · due {due}",
        "subject_complaint": "NPS {score} · {category} with a complaint: {customer} · due {due}",
        "note_subject": "NPS {score} · {category}",
        "note_answer": "NPS answer: {score} ({category}), program {program}",
        "heading": "{customer} answered {score} ({category}) on {answered}.",
        "moment": "About: {moment}",
        "moment_record": '{object} "{title}"',
        "program": "Program: {program} (touchpoint: {touchpoint})",
        "due": "Due: {due} ({sla} SLA)",
        "owner": "Owner: {owner} · chain: {chain}",
        "said": "What they said",
        "comment": "Comment: {comment}",
        "no_comment": "Comment: (none)",
        "reasons": "Reasons: {reasons}",
        "praise": "praise",
        "complaint": "complaint",
        "context": "Context for the call",
        "earlier": "Earlier answers: {answers}",
        "earlier_none": "Earlier answers: none (first answer)",
        "answer_count": "Answers in all: {count}",
        "account_nps": "Account NPS: {nps}{trend}",
        "trend": " (trend {trend} against the previous window)",
        "arr": "ARR: {arr}",
        "renewal": "Renewal: {renewal}",
        "guide": "Guided response",
        "step_1": "Apologise and show empathy: thank them for the honest answer and say you"
        " are sorry for what they went through.",
        "step_2": "Confirm the facts: restate what happened in their words.",
        "step_3": "Confirm expectations: agree what a good outcome is, and by when.",
        "step_4": "Interim measure: do what can be done now and tell the customer.",
        "step_5": "Permanent fix: open a ticket for the root cause and link it here.",
        "outcomes": "Outcomes (write after each colon; the worker reads these lines back):",
        "outcome_1": "[1] Apology:",
        "outcome_2": "[2] Facts:",
        "outcome_3": "[3] Expectations:",
        "outcome_4": "[4] Interim measure:",
        "outcome_5": "[5] Permanent fix:",
        "nobody": "the CRM's default owner",
        "account_owner": "account owner",
        "contact_owner": "contact owner",
        "user": "user",
        "manager": "manager",
        "escalation_subject": "Escalated (level {level}): NPS {score} · {category}: {customer}",
        "escalation_body": "Follow-up escalated to you ({notify}): {reason}.",
        "escalation_original": "The original task is owned by {owner}; it was due {due}.",
        "escalation_customer": "Customer: {customer}",
        "escalation_due": "Please make sure the customer hears from us by {due}.",
        "reason_at_once": "the account matters enough to hear of it at once",
        "reason_overdue": "open {overdue} past its due time",
    },
    "ja": {
        "detractor": "批判者",
        "passive": "中立者",
        "promoter": "推奨者",
        "subject": "NPS {score}・{category}：{customer}・期限 {due}",
        "subject_complaint": "NPS {score}・{category}（苦情あり）：{customer}・期限 {due}",
        "note_subject": "NPS {score}・{category}",
        "note_answer": "NPS の回答：{score} 点（{category}）、プログラム {program}",
        "heading": "{customer}が {answered} に {score} 点（{category}）と回答しました。",
        "moment": "対象：{moment}",
        "moment_record": "{object}「{title}」",
        "program": "プログラム：{program}（タッチポイント：{touchpoint}）",
        "due": "期限：{due}（SLA {sla}）",
        "owner": "担当：{owner}・担当の順：{chain}",
        "said": "お客様の声",
        "comment": "コメント：{comment}",
        "no_comment": "コメント：（なし）",
        "reasons": "理由：{reasons}",
        "praise": "評価",
        "complaint": "不満",
        "context": "電話の前に",
        "earlier": "過去の回答：{answers}",
        "earlier_none": "過去の回答：なし（初回の回答）",
        "answer_count": "回答数：{count}",
        "account_nps": "取引先の NPS：{nps}{trend}",
        "trend": "（前の期間から {trend}）",
        "arr": "ARR：{arr}",
        "renewal": "更新日：{renewal}",
        "guide": "対応の手順",
        "step_1": "お詫びと共感：率直な回答へのお礼と、ご不便へのお詫びを伝える。",
        "step_2": "事実の確認：何が起きたかをお客様の言葉で確かめる。",
        "step_3": "期待の確認：どうなれば良いか、いつまでにかを合意する。",
        "step_4": "暫定対応：今できることを行い、お客様に伝える。",
        "step_5": "恒久対応：根本原因のチケットを起票し、ここにリンクする。",
        "outcomes": "結果（各コロンの後に記入してください。ワーカーがこの行を読み取ります）：",
        "outcome_1": "[1] お詫び：",
        "outcome_2": "[2] 事実：",
        "outcome_3": "[3] 期待：",
        "outcome_4": "[4] 暫定対応：",
        "outcome_5": "[5] 恒久対応：",
        "nobody": "CRM の既定の担当者",
        "account_owner": "取引先の担当",
        "contact_owner": "取引先責任者の担当",
        "user": "ユーザー",
        "manager": "マネージャー",
        "escalation_subject": "エスカレーション（レベル {level}）："
        "NPS {score}・{category}：{customer}",
        "escalation_body": "フォローアップがあなた（{notify}）に"
        "エスカレーションされました：{reason}。",
        "escalation_original": "元のタスクの担当は {owner} です。期限は {due} でした。",
        "escalation_customer": "お客様：{customer}",
        "escalation_due": "{due} までにお客様へ連絡が届くようにしてください。",
        "reason_at_once": "重要な取引先のため直ちに共有",
        "reason_overdue": "期限を {overdue} 過ぎても未対応",
    },
}
"""Each language's words; `{name}` fields are filled by `text`."""


def words(language: str) -> Mapping[str, str]:
    """The words of `language`, or English when it has none of its own."""
    return TEXTS.get(language.split("-", maxsplit=1)[0], TEXTS["en"])


def text(language: str, key: str, **values: object) -> str:
    """One phrase of `language` with its fields filled in."""
    return words(language)[key].format(**values)


def person_name(first: str | None, last: str | None, language: str | None) -> str | None:
    """A name as a reader of `language` writes it: family name first in Japanese, and for
    any name written in Japanese script (山田 太郎 stays 山田 太郎 in an English task)."""
    family_first = (language or "").startswith("ja") or any(
        _JAPANESE.search(part) for part in (first, last) if part
    )
    parts = (last, first) if family_first else (first, last)
    name = " ".join(part for part in parts if part)
    return name or None


def customer_name(name: str, reader_language: str) -> str:
    """How a task in `reader_language` addresses a customer: 様 after the name in Japanese."""
    return f"{name} 様" if reader_language.startswith("ja") else name
