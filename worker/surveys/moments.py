"""The moment an invitation asks about, in the contact's words: "your support case 'Export
times out'", "your first 30 days". Program-aware: the touchpoint picks the phrase, the
triggering record's title fills it in."""

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "support": "your support case “{title}”",
        "support_untitled": "your recent support case",
        "onboarding": "your first 30 days with us",
        "renewal": "your renewal",
        "recovery": "how things are since we followed up on your feedback",
        "titled": "“{title}”",
    },
    "ja": {
        "support": "サポートケース「{title}」",
        "support_untitled": "最近のサポートケース",
        "onboarding": "ご利用開始からの最初の 30 日間",
        "renewal": "ご契約の更新",
        "recovery": "前回いただいたご意見へのご対応以降のご様子",
        "titled": "「{title}」",
    },
}
"""Phrases per language and touchpoint; a touchpoint of RevOps' own names its record's title."""


def moment_phrase(touchpoint: str | None, title: str | None, language: str) -> str | None:
    """What the survey is about, or None for a relationship survey (about us in general)."""
    words = PHRASES.get(language, PHRASES["en"])
    if touchpoint == "support":
        return words["support"].format(title=title) if title else words["support_untitled"]
    if touchpoint in ("onboarding", "renewal", "recovery"):
        return words[touchpoint]
    return words["titled"].format(title=title) if title else None
