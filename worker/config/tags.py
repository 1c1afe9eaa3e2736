"""The reason taxonomy: tags respondents pick or comments are matched to, per language.

Seven tags are built in (DESIGN.md section 6), with labels in English and Japanese and a
lexicon per language in worker/rules/tagging/words_*.py. A config that lists a built-in id
keeps that lexicon and adds its own words to it, so listing the tags to add a word never
loses the built-in ones; `builtin_words: false` turns them off for that tag. Any other id is
a tag of the config's own, matched by its own words only.
"""

import re
from typing import Any

from pydantic import Field, model_validator

from worker.config.base import Section
from worker.config.errors import invalid
from worker.config.values import Identifier, LanguageCode

BUILTIN_LABELS: dict[str, dict[str, str]] = {
    "feature_value": {"en": "Feature value", "ja": "機能価値"},
    "usability": {"en": "Usability", "ja": "使いやすさ"},
    "quality": {"en": "Quality / incidents", "ja": "品質・障害"},
    "onboarding": {"en": "Onboarding", "ja": "導入支援"},
    "support": {"en": "Support", "ja": "サポート"},
    "price_contract": {"en": "Price / contract", "ja": "価格・契約"},
    "integrations": {"en": "Integrations", "ja": "連携・拡張"},
}
"""The built-in tags, in the order reports list them, with their labels."""

_Words = dict[LanguageCode, tuple[str, ...]]
_MARKS = re.compile(r"…|\.\.\.|(?<!\S)=|\*(?!\S)")
_PREFIX = re.compile(r"(?<!\S)(\w{0,2})\*(?!\S)")
MIN_PREFIX = 3


class Tag(Section):
    """One reason theme: its labels and, per language, words that suggest it in a comment.

    Words are matched on word boundaries in every form (stems in English, base forms in
    Japanese): `keywords` name the topic ("invoice", "請求"), `problems` complain of it
    ("overcharged", "高すぎる"; negated they praise it), `praise` praises it ("fair price").
    """

    id: Identifier
    labels: dict[LanguageCode, str] = Field(default_factory=dict)
    keywords: _Words = Field(default_factory=dict)
    problems: _Words = Field(default_factory=dict)
    praise: _Words = Field(default_factory=dict)
    builtin_words: bool = True
    """For a built-in id: match its built-in lexicon as well as the words listed here."""

    @model_validator(mode="before")
    @classmethod
    def _builtin_labels(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("labels") and data.get("id") in BUILTIN_LABELS:
            return {**data, "labels": dict(BUILTIN_LABELS[data["id"]])}
        return data

    @model_validator(mode="after")
    def _labels_not_blank(self) -> "Tag":
        if not self.labels:
            raise invalid(
                f"labels are needed for a tag of your own (built in: {', '.join(BUILTIN_LABELS)})",
                "labels",
            )
        for language, label in self.labels.items():
            if not label.strip():
                raise invalid("label must not be blank", "labels", language)
        for key, lists in (
            ("keywords", self.keywords),
            ("problems", self.problems),
            ("praise", self.praise),
        ):
            for language, words in lists.items():
                for index, word in enumerate(words):
                    problem = _word_problem(word)
                    if problem:
                        raise invalid(problem, key, language, index)
        return self

    @property
    def builtin(self) -> bool:
        """Whether the tag is one of the built-in seven."""
        return self.id in BUILTIN_LABELS


class TaggingConfig(Section):
    """How comments are tagged: the rules alone, or with the learned second opinion per tag.

    `learned: true` (the default) lets models trained on the shipped labelled comments decide
    each built-in tag and its polarity, the rules' answer among their evidence
    (worker/rules/tagging/combined.py); words listed under `tags` still tag whatever they say.
    `false`: the words and grammar alone.
    """

    learned: bool = True


def _word_problem(word: str) -> str | None:
    """Why a listed word could never match, or None (see worker/rules/tagging/lexicon.py)."""
    if not word.strip():
        return "must not be blank"
    if not re.search(r"\w", _MARKS.sub(" ", word)):
        return f"'{word}' has no letter or digit to match"
    short = _PREFIX.search(word)
    if short:
        return f"'{word}': a prefix needs {MIN_PREFIX} letters before * (e.g. integrat*)"
    return None


def default_taxonomy() -> tuple[Tag, ...]:
    """The B2B reason taxonomy RevOps teams start from (DESIGN.md section 6).

    Its words are the built-in lexicons, measured on the labelled sets in
    worker/rules/tagging/data (and tests/data/tagging_*.jsonl) by benchmarks/tagging_quality.py;
    the learned model is trained on the former for these seven tags.
    """
    return tuple(Tag(id=tag_id) for tag_id in BUILTIN_LABELS)
