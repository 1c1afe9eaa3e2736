"""The report's words in English and Japanese, KPI definitions included."""

# ruff: noqa: RUF001 - Japanese text uses full-width punctuation; math signs are intended

from typing import Literal

Language = Literal["en", "ja"]
LANGUAGES: tuple[Language, ...] = ("en", "ja")

_TEXT: dict[str, dict[Language, str]] = {
    "title": {"en": "NPS report", "ja": "NPS レポート"},
    "period": {"en": "Period", "ja": "期間"},
    "all_time": {"en": "all time", "ja": "全期間"},
    "range": {"en": "{start} to {until}", "ja": "{start} 〜 {until}"},
    "generated": {"en": "Generated", "ja": "作成日時"},
    "overall": {"en": "Overall NPS", "ja": "全体 NPS"},
    "answers": {"en": "answers", "ja": "件の回答"},
    "n": {"en": "Answers", "ja": "回答数"},
    "nps": {"en": "NPS", "ja": "NPS"},
    "interval": {"en": "95% interval", "ja": "95% 信頼区間"},
    "promoters": {"en": "Promoters", "ja": "推奨者"},
    "passives": {"en": "Passives", "ja": "中立者"},
    "detractors": {"en": "Detractors", "ja": "批判者"},
    "trend": {"en": "NPS by month", "ja": "月別 NPS"},
    "change": {"en": "Change", "ja": "前月比"},
    "significant": {"en": "more than noise", "ja": "有意な変化"},
    "noise": {"en": "within noise", "ja": "誤差の範囲"},
    "distribution": {"en": "Score distribution", "ja": "スコア分布"},
    "score": {"en": "Score", "ja": "スコア"},
    "slices": {"en": "NPS by slice", "ja": "セグメント別 NPS"},
    "value": {"en": "Value", "ja": "値"},
    "not_enough": {
        "en": "not enough answers (fewer than {min})",
        "ja": "回答数不足（{min} 件未満）",
    },
    "hidden": {"en": "n < {min}", "ja": "{min} 件未満"},
    "legend_hidden": {
        "en": "Slices with fewer than {min} answers show their count but no score.",
        "ja": "回答が {min} 件未満のセグメントは件数のみ表示し、スコアは表示しません。",
    },
    "themes": {"en": "Themes ranked by frequency × impact", "ja": "テーマ（頻度 × 影響度 順）"},
    "theme": {"en": "Theme", "ja": "テーマ"},
    "kind": {"en": "Kind", "ja": "種別"},
    "quick_fix": {"en": "quick fix", "ja": "すぐ直せる"},
    "structural": {"en": "structural", "ja": "構造的"},
    "mentions": {"en": "Mentions", "ja": "言及数"},
    "frequency": {"en": "Frequency", "ja": "頻度"},
    "detractor_share": {"en": "Detractor share", "ja": "批判者比率"},
    "nps_with": {"en": "NPS with", "ja": "言及あり NPS"},
    "nps_without": {"en": "NPS without", "ja": "言及なし NPS"},
    "impact": {"en": "Impact", "ja": "影響度"},
    "priority": {"en": "Priority", "ja": "優先度"},
    "focus": {"en": "Most detractors at", "ja": "批判者が最も多い接点"},
    "quotes": {"en": "What customers say", "ja": "顧客の声"},
    "praised": {"en": "Praised", "ja": "評価"},
    "complained": {"en": "Complaints", "ja": "不満"},
    "praise": {"en": "praise", "ja": "評価"},
    "complaint": {"en": "complaint", "ja": "不満"},
    "theme_trend": {"en": "Share of answers by month", "ja": "月別の言及率"},
    "themes_definition": {
        "en": "Impact: NPS of answers without the theme minus NPS of answers citing it. "
        "Priority: frequency × impact, the NPS points the theme costs overall. "
        "Themes cited fewer than {min} times are listed without impact.",
        "ja": "影響度：そのテーマに言及しない回答の NPS − 言及した回答の NPS。"
        "優先度：頻度 × 影響度（全体 NPS を何ポイント下げているか）。"
        "言及が {min} 件未満のテーマは影響度を表示しません。",
    },
    "kpis": {"en": "Operating KPIs", "ja": "運用 KPI"},
    "kpi": {"en": "KPI", "ja": "KPI"},
    "definition": {"en": "Definition", "ja": "定義"},
    "based_on": {"en": "Based on", "ja": "対象"},
    "response_rates": {
        "en": "Response rate by program and channel",
        "ja": "回答率（プログラム・チャネル別）",
    },
    "sent": {"en": "Sent", "ja": "送信数"},
    "answered": {"en": "Answered", "ja": "回答数"},
    "rate": {"en": "Rate", "ja": "回答率"},
    "all": {"en": "all", "ja": "すべて"},
    "none": {"en": "—", "ja": "—"},
    "no_answers": {"en": "No answers in this period.", "ja": "この期間の回答はありません。"},
    "dim.touchpoint": {"en": "Touchpoint", "ja": "タッチポイント"},
    "dim.program": {"en": "Program", "ja": "プログラム"},
    "dim.channel": {"en": "Channel", "ja": "チャネル"},
    "dim.language": {"en": "Language", "ja": "言語"},
    "dim.month": {"en": "Month", "ja": "月"},
    "dim.account": {"en": "Account", "ja": "アカウント"},
    "dim.segment": {"en": "Segment: {name}", "ja": "セグメント：{name}"},
    "kpi.response_rate": {"en": "Response rate", "ja": "回答率"},
    "kpi.sla_compliance": {"en": "Follow-up SLA compliance", "ja": "フォローアップ SLA 遵守率"},
    "kpi.time_to_first_contact": {
        "en": "Median time to first contact",
        "ja": "初回連絡までの時間（中央値）",
    },
    "kpi.time_to_close": {"en": "Median time to close", "ja": "完了までの時間（中央値）"},
    "kpi.action_completion": {"en": "Action completion rate", "ja": "アクション完了率"},
    "kpi.detractor_recovery": {"en": "Detractor recovery", "ja": "批判者の回復率"},
    "kpi.theme_recurrence": {"en": "Theme recurrence", "ja": "テーマ再発率"},
    "def.response_rate": {
        "en": "Surveys sent in the period that received a human answer, "
        "divided by surveys sent in the period.",
        "ja": "期間内に送信したアンケートのうち本人の回答があった数 ÷ 期間内の送信数。",
    },
    "def.sla_compliance": {
        "en": "Follow-ups opened in the period whose first contact came by the due time, "
        "divided by those contacted or already past due (open ones not yet due are left out).",
        "ja": "期間内に作成したフォローアップのうち期限内に初回連絡したもの ÷ "
        "連絡済みまたは期限切れのもの（期限前の未連絡分は除外）。",
    },
    "def.time_to_first_contact": {
        "en": "Median hours from the customer's answer to the first contact, "
        "over follow-ups opened in the period that have one.",
        "ja": "顧客の回答から初回連絡までの時間の中央値"
        "（期間内に作成され連絡済みのフォローアップ）。",
    },
    "def.time_to_close": {
        "en": "Median hours from the customer's answer to the closing of its follow-up, "
        "over follow-ups opened in the period and closed.",
        "ja": "顧客の回答からフォローアップ完了までの時間の中央値"
        "（期間内に作成され完了したもの）。",
    },
    "def.action_completion": {
        "en": "Follow-ups opened in the period that are closed, divided by all opened "
        "(cancelled ones left out).",
        "ja": "期間内に作成したフォローアップのうち完了したもの ÷ 作成数（取り消し分は除外）。",
    },
    "def.detractor_recovery": {
        "en": "Contacts answering again in the period whose previous answer was a detractor: "
        "the share whose new answer is passive or promoter.",
        "ja": "期間内に再回答した顧客のうち前回が批判者だった人で、"
        "今回が中立者または推奨者になった割合。",
    },
    "def.theme_recurrence": {
        "en": "Contacts answering again in the period whose previous answer cited a theme: "
        "the share citing one of the same themes again.",
        "ja": "期間内に再回答した顧客のうち前回テーマに言及した人で、"
        "今回も同じテーマに言及した割合。",
    },
    "unit.h": {"en": "h", "ja": "時間"},
    "backlog": {"en": "Improvement backlog", "ja": "改善バックログ"},
    "done_when": {
        "en": "Detractor share among answers citing {theme}{where} at or below {target:.1f}% "
        "(now {baseline:.1f}%), over at least {min} answers received after {due}.",
        "ja": "{theme}{where}に言及した回答の批判者比率が {target:.1f}% 以下"
        "（現在 {baseline:.1f}%）。{due} 以降に受け付けた {min} 件以上の回答で測定。",
    },
    "done_where": {"en": " at the {touchpoint} touchpoint", "ja": "（{touchpoint}）"},
}


class Words:
    """The report text in one language; unknown keys fail loudly in tests, not in print."""

    def __init__(self, language: Language) -> None:
        self.language = language

    def __call__(self, key: str, **values: object) -> str:
        """The text for `key` with `{name}` placeholders filled from `values`."""
        text = _TEXT[key][self.language]
        return text.format(**values) if values else text

    def dimension(self, dimension_id: str) -> str:
        """The heading of a slice dimension (`segment.plan` -> "Segment: plan")."""
        if dimension_id.startswith("segment."):
            return self("dim.segment", name=dimension_id.removeprefix("segment."))
        return self(f"dim.{dimension_id}")
