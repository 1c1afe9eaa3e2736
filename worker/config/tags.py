"""The reason taxonomy: tags respondents pick or comments are matched to, per language."""

from pydantic import Field, model_validator

from worker.config.base import Section
from worker.config.errors import invalid
from worker.config.values import Identifier, LanguageCode


class Tag(Section):
    """One reason theme, with its label and matching keywords in each survey language."""

    id: Identifier
    labels: dict[LanguageCode, str] = Field(min_length=1)
    keywords: dict[LanguageCode, tuple[str, ...]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _labels_not_blank(self) -> "Tag":
        for language, label in self.labels.items():
            if not label.strip():
                raise invalid("label must not be blank", "labels", language)
        for language, words in self.keywords.items():
            if any(not word.strip() for word in words):
                raise invalid("keywords must not be blank", "keywords", language)
        return self


def _tag(tag_id: str, en: str, ja: str, en_words: list[str], ja_words: list[str]) -> Tag:
    return Tag(
        id=tag_id,
        labels={"en": en, "ja": ja},
        keywords={"en": tuple(en_words), "ja": tuple(ja_words)},
    )


def default_taxonomy() -> tuple[Tag, ...]:
    """The B2B reason taxonomy RevOps teams start from (DESIGN.md section 6)."""
    return (
        _tag(
            "feature_value",
            "Feature value",
            "機能価値",
            [
                "feature",
                "functionality",
                "value",
                "useful",
                "capability",
                "missing feature",
                "roadmap",
            ],
            ["機能", "価値", "便利", "役に立", "足りない", "欲しい", "ロードマップ"],
        ),
        _tag(
            "usability",
            "Usability",
            "使いやすさ",
            ["easy", "intuitive", "usability", "ui", "ux", "confusing", "complicated", "clunky"],
            [
                "使いやす",
                "使いにく",
                "分かりやす",
                "わかりやす",
                "分かりにく",
                "操作",
                "画面",
                "直感",
            ],
        ),
        _tag(
            "quality",
            "Quality / incidents",
            "品質・障害",
            ["bug", "error", "crash", "outage", "downtime", "slow", "incident", "reliable"],
            ["不具合", "バグ", "エラー", "障害", "落ちる", "遅い", "重い", "安定"],
        ),
        _tag(
            "onboarding",
            "Onboarding",
            "導入支援",
            ["onboarding", "setup", "implementation", "training", "getting started", "migration"],
            ["導入", "立ち上げ", "設定", "初期", "トレーニング", "研修", "移行"],
        ),
        _tag(
            "support",
            "Support",
            "サポート",
            ["support", "help desk", "response time", "ticket", "customer success", "answer"],
            ["サポート", "問い合わせ", "対応", "返信", "回答", "窓口", "カスタマーサクセス"],
        ),
        _tag(
            "price_contract",
            "Price / contract",
            "価格・契約",
            ["price", "pricing", "expensive", "cost", "contract", "renewal", "license", "billing"],
            ["価格", "料金", "高い", "費用", "コスト", "契約", "更新", "ライセンス", "請求"],
        ),
        _tag(
            "integrations",
            "Integrations",
            "連携・拡張",
            ["integration", "api", "connector", "sync", "plugin", "extension", "webhook"],
            ["連携", "拡張", "api", "プラグイン", "同期", "接続", "外部"],
        ),
    )
