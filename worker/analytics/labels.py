"""Display names for what the report slices by: programs, touchpoints, channels, languages,
tags, bands and the stand-ins for missing values, in the report's language.

Program and touchpoint names come from `analytics.labels`, then from the built-in names of the
default programs and common touchpoints; a program nobody named is called after its touchpoint
(numbered when two share one), so no raw id reaches a reader.
"""

# ruff: noqa: RUF001 - Japanese text uses full-width punctuation

from collections.abc import Mapping

from worker.analytics.i18n import Language
from worker.analytics.values import NO_ACCOUNT, NOT_A_NUMBER, NOT_SET
from worker.config import Config

_TOUCHPOINTS: dict[str, dict[str, str]] = {
    "support": {"en": "Support", "ja": "サポート"},
    "onboarding": {"en": "Onboarding", "ja": "オンボーディング"},
    "renewal": {"en": "Renewal", "ja": "契約更新"},
    "relationship": {"en": "Relationship", "ja": "リレーションシップ（定期）"},
    "purchase": {"en": "Purchase", "ja": "購入"},
    "implementation": {"en": "Implementation", "ja": "導入"},
    "training": {"en": "Training", "ja": "トレーニング"},
    "product": {"en": "Product", "ja": "製品"},
    "billing": {"en": "Billing", "ja": "請求"},
}
_PROGRAMS: dict[str, dict[str, str]] = {
    "support_case_closed": {"en": "Support case closed", "ja": "サポートケース完了後"},
    "support_ticket_closed": {"en": "Support ticket closed", "ja": "サポートチケット完了後"},
    "onboarding_completed": {"en": "Onboarding completed", "ja": "オンボーディング完了後"},
    "renewal_upcoming": {"en": "Before renewal", "ja": "契約更新前"},
    "relationship_quarterly": {"en": "Quarterly relationship", "ja": "四半期の定期調査"},
}
_CHANNELS = {
    "email": {"en": "E-mail", "ja": "メール"},
    "crm": {"en": "CRM field", "ja": "CRM フィールド"},
    "webhook": {"en": "Webhook", "ja": "Webhook"},
}
_LANGUAGES = {"en": {"en": "English", "ja": "英語"}, "ja": {"en": "Japanese", "ja": "日本語"}}
_MISSING = {
    NOT_SET: {"en": "(not set)", "ja": "（未設定）"},
    NO_ACCOUNT: {"en": "(no account)", "ja": "（アカウントなし）"},
    NOT_A_NUMBER: {"en": "(not a number)", "ja": "（数値でない）"},
}
_MONTHS = {"en": " months", "ja": " か月"}


def _pick(texts: Mapping[str, str], language: Language) -> str | None:
    return texts.get(language) or None


def touchpoint(config: Config, value: str, language: Language) -> str:
    """A touchpoint's display name."""
    given = config.analytics.labels.touchpoints.get(value, {})
    found = _pick(given, language) or _pick(_TOUCHPOINTS.get(value, {}), language)
    return found or value.replace("_", " ").capitalize()


def programs(config: Config, language: Language) -> dict[str, str]:
    """Every configured program's display name; unnamed ones after their touchpoint."""
    names: dict[str, str] = {}
    used: dict[str, int] = {}
    for program_id, program in config.programs.items():
        given = config.analytics.labels.programs.get(program_id, {})
        name = _pick(given, language) or _pick(_PROGRAMS.get(program_id, {}), language)
        if name is None:
            name = touchpoint(config, program.touchpoint, language)
        used[name] = used.get(name, 0) + 1
        names[program_id] = name if used[name] == 1 else f"{name} {used[name]}"
    return names


def tags(config: Config, language: Language) -> dict[str, str]:
    """Reason tag id -> label in `language` (English, then the id, when it has none)."""
    return {
        tag.id: tag.labels.get(language) or tag.labels.get("en") or tag.id for tag in config.tags
    }


def value_labels(
    config: Config, dimension: str, values: list[str], language: Language
) -> dict[str, str]:
    """Display names of a dimension's values; values shown as they are get no entry."""
    found: dict[str, str] = {}
    known = programs(config, language) if dimension == "program" else {}
    for value in values:
        text: str | None = None
        if value in _MISSING:
            text = _MISSING[value][language]
        elif dimension == "touchpoint":
            text = touchpoint(config, value, language)
        elif dimension == "program":
            text = known.get(value) or value.replace("_", " ").capitalize()
        elif dimension == "channel":
            text = _CHANNELS.get(value, {}).get(language)
        elif dimension == "language":
            text = _LANGUAGES.get(value, {}).get(language)
        elif dimension == "tenure":
            text = value + _MONTHS[language]
        if text is not None and text != value:
            found[value] = text
    return found
