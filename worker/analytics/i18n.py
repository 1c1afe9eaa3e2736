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
    "theme_trend": {"en": "Share of answers by month", "ja": "月別の言及率"},
    "themes_definition": {
        "en": "Impact: NPS of answers without the theme minus NPS of answers citing it, each "
        "pulled toward the overall mix by {prior:g} answers' weight so that rarely cited themes "
        "are ranked with the uncertainty they carry; [95% interval]. "
        "Priority: frequency × impact, the NPS points the theme costs overall. "
        "Themes cited fewer than {min} times are marked “{low_n}” and show no raw NPS.",
        "ja": "影響度：そのテーマに言及しない回答の NPS − 言及した回答の NPS。"
        "言及の少ないテーマも不確かさを含めて順位付けできるよう、"
        "それぞれ全体の構成へ {prior:g} 件分の重みで引き寄せた推定値です［95% 信頼区間］。"
        "優先度：頻度 × 影響度（全体 NPS を何ポイント下げているか）。"
        "言及が {min} 件未満のテーマは「{low_n}」と表示し、NPS の実測値は表示しません。",
    },
    "low_n": {"en": "low n", "ja": "少数"},
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
    "kpi.followup_completion": {"en": "Follow-up completion rate", "ja": "フォローアップ完了率"},
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
    "def.followup_completion": {
        "en": "Follow-ups opened in the period that are closed, divided by all opened "
        "(cancelled ones left out).",
        "ja": "期間内に作成したフォローアップのうち完了したもの ÷ 作成数（取り消し分は除外）。",
    },
    "def.action_completion": {
        "en": "Improvement backlog items created by the end of the period that are done by "
        "then, divided by all such items (dropped ones left out). Follow-up tasks are not "
        "counted here.",
        "ja": "期間末までに作成された改善バックログ項目のうち期間末までに完了したもの ÷ "
        "その項目数（取り下げ分は除外）。フォローアップタスクは含みません。",
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
    "trend_weekly": {"en": "NPS by week", "ja": "週別 NPS"},
    "change_week": {"en": "Change", "ja": "前週比"},
    "dim.week": {"en": "Week", "ja": "週"},
    "dim.tenure": {"en": "Tenure (months a customer)", "ja": "契約期間（顧客になってからの月数）"},
    "order.periods": {"en": "oldest first", "ja": "古い順"},
    "order.count": {"en": "by number of answers, largest first", "ja": "回答数の多い順"},
    "order.bands": {"en": "lowest band first", "ja": "低い区分から順"},
    "order.accounts": {
        "en": "the {shown} accounts with most answers",
        "ja": "回答数の多い上位 {shown} アカウント",
    },
    "order.themes": {
        "en": "ranked by priority (frequency × impact), highest first",
        "ja": "優先度（頻度 × 影響度）の高い順",
    },
    "order.quotes": {
        "en": "per theme: complaints first, then the report's language, newest first",
        "ja": "テーマごとに不満の声を先に、レポートの言語を優先し、新しい順",
    },
    "order.backlog": {
        "en": "active items first, then by due date",
        "ja": "対応中の項目を先に、期限の早い順",
    },
    "order.kpis": {"en": "in the order of the loop", "ja": "ループの流れの順"},
    "ordering": {"en": "Ordering: {how}", "ja": "並び順：{how}"},
    "praise": {"en": "praise", "ja": "称賛"},
    "mixed": {"en": "mixed", "ja": "どちらとも"},
    "complaint": {"en": "complaint", "ja": "不満"},
    "quote_score": {"en": "score {score}", "ja": "スコア {score}"},
    "target": {"en": "Target", "ja": "目標"},
    "target_met": {"en": "on target", "ja": "目標達成"},
    "target_missed": {"en": "below target", "ja": "目標未達"},
    "target_at_most": {"en": "at most {value}", "ja": "{value} 以下"},
    "target_at_least": {"en": "at least {value}", "ja": "{value} 以上"},
    "interventions": {"en": "Interventions: NPS before and after", "ja": "施策の前後比較（NPS）"},
    "interventions_definition": {
        "en": "NPS over the {days} days before each intervention against the {days} days from "
        "its date (or up to the end of the report); the difference with its 95% interval. "
        "The numbered lines on the trend charts mark the dates.",
        "ja": "各施策の実施日より前の {days} 日間と、実施日から {days} 日間"
        "（レポート期間末まで）の NPS を比較し、差と 95% 信頼区間を示します。"
        "推移グラフの番号付きの線が実施日です。",
    },
    "intervention": {"en": "Intervention", "ja": "施策"},
    "date": {"en": "Date", "ja": "日付"},
    "slice": {"en": "Slice", "ja": "対象"},
    "everyone": {"en": "everyone", "ja": "全体"},
    "before": {"en": "Before", "ja": "実施前"},
    "after": {"en": "After", "ja": "実施後"},
    "difference": {"en": "Difference [95% interval]", "ja": "差［95% 信頼区間］"},
    "no_interventions": {
        "en": "No interventions recorded "
        "(analytics.interventions, or nps-worker intervention add).",
        "ja": "記録された施策はありません（analytics.interventions または "
        "nps-worker intervention add）。",
    },
    "backlog_stored": {
        "en": "Items in the backlog (nps-worker backlog)",
        "ja": "バックログの項目（nps-worker backlog）",
    },
    "backlog_proposed": {
        "en": "Proposed from this report's ranking, not yet in the backlog",
        "ja": "このレポートの順位からの提案（未登録）",
    },
    "backlog_empty": {
        "en": "No items yet: `nps-worker backlog plan` stores the proposed ones.",
        "ja": "項目はまだありません。`nps-worker backlog plan` で提案を登録できます。",
    },
    "item": {"en": "Item", "ja": "項目"},
    "owner": {"en": "Owner", "ja": "担当"},
    "due": {"en": "Due", "ja": "期限"},
    "status": {"en": "Status", "ja": "状態"},
    "done_on": {"en": "Done", "ja": "完了日"},
    "linked": {"en": "Answers", "ja": "関連回答"},
    "overdue": {"en": "overdue", "ja": "期限切れ"},
    "status.open": {"en": "open", "ja": "未着手"},
    "status.in_progress": {"en": "in progress", "ja": "対応中"},
    "status.done": {"en": "done", "ja": "完了"},
    "status.dropped": {"en": "dropped", "ja": "取り下げ"},
    "detractor_share_target": {
        "en": "Detractor share: now → target",
        "ja": "批判者比率：現在 → 目標",
    },
    "digest.title": {"en": "Weekly NPS review", "ja": "週次 NPS レビュー"},
    "digest.subject": {
        "en": "NPS review {start} to {end}: {nps}",
        "ja": "NPS 週次レビュー {start}〜{end}：{nps}",
    },
    "digest.this": {"en": "This period", "ja": "今期間"},
    "digest.change": {"en": "Change", "ja": "前期間比"},
    "digest.what": {"en": "What changed", "ja": "変更内容"},
    "digest.last": {"en": "Previous period", "ja": "前期間"},
    "digest.vs": {"en": "NPS this period vs the previous one", "ja": "NPS：今期間と前期間の比較"},
    "digest.trend": {"en": "NPS by period", "ja": "期間別 NPS"},
    "digest.new_themes": {"en": "New themes", "ja": "新しいテーマ"},
    "digest.new_definition": {
        "en": "Cited this period and in none of the {n} before.",
        "ja": "今期間に言及され、直前 {n} 期間には言及のなかったテーマ。",
    },
    "digest.rising_themes": {"en": "Rising themes", "ja": "増えているテーマ"},
    "digest.rising_definition": {
        "en": "Share of answers citing the theme this period against the {n} periods before, "
        "largest rise first.",
        "ja": "今期間にテーマへ言及した回答の割合と直前 {n} 期間の割合の差（増加の大きい順）。",
    },
    "digest.share_now": {"en": "Share now", "ja": "今期間の割合"},
    "digest.share_before": {"en": "Before", "ja": "以前"},
    "digest.no_themes": {"en": "None this period.", "ja": "今期間はありません。"},
    "digest.overdue": {"en": "Overdue follow-ups", "ja": "期限切れのフォローアップ"},
    "digest.overdue_definition": {
        "en": "{total} follow-ups are past due with no first contact yet (oldest first).",
        "ja": "期限を過ぎても初回連絡のないフォローアップが {total} 件あります（古い順）。",
    },
    "digest.escalation": {"en": "Escalation", "ja": "エスカレーション"},
    "digest.kpis": {"en": "KPIs against targets", "ja": "KPI と目標"},
    "digest.no_target": {"en": "no target set", "ja": "目標未設定"},
    "digest.backlog": {"en": "Backlog changes", "ja": "バックログの変更"},
    "digest.no_changes": {"en": "No changes this period.", "ja": "今期間の変更はありません。"},
    "digest.overdue_items": {"en": "Overdue backlog items", "ja": "期限切れのバックログ項目"},
    "digest.action.created": {"en": "created", "ja": "作成"},
    "digest.action.assigned": {"en": "assigned to {owner}", "ja": "担当を {owner} に変更"},
    "digest.action.status": {"en": "now {status}", "ja": "状態：{status}"},
    "digest.action.imported": {"en": "updated from a file", "ja": "ファイルから更新"},
    "digest.link": {"en": "Open the full report", "ja": "レポート全体を開く"},
    "digest.chat_title": {
        "en": "NPS review {start} to {end}",
        "ja": "NPS 週次レビュー {start}〜{end}",
    },
    "digest.chat_nps": {
        "en": "NPS {nps} (previous {previous}) from {n} answers",
        "ja": "NPS {nps}（前期間 {previous}）回答 {n} 件",
    },
    "digest.chat_themes": {
        "en": "New or rising themes: {themes}",
        "ja": "新規・増加テーマ：{themes}",
    },
    "digest.chat_overdue": {
        "en": "Overdue follow-ups: {n}; backlog changes: {changes}",
        "ja": "期限切れフォローアップ：{n} 件、バックログの変更：{changes} 件",
    },
    "digest.chat_kpis": {"en": "KPIs below target: {kpis}", "ja": "目標未達の KPI：{kpis}"},
    "digest.footer": {
        "en": "Sent by nps-worker on the schedule in digest.cron. Figures as of {at}.",
        "ja": "nps-worker が digest.cron の予定に従って送信しました。{at} 時点の数値です。",
    },
    "account.title": {"en": "Account review: {name}", "ja": "アカウントレビュー：{name}"},
    "account.trend": {"en": "NPS by quarter", "ja": "四半期別 NPS"},
    "account.quarter": {"en": "Quarter", "ja": "四半期"},
    "account.contacts": {"en": "Answers by contact", "ja": "担当者別の回答"},
    "account.contacts_order": {
        "en": "contacts with most answers first; each contact's answers newest first",
        "ja": "回答数の多い担当者から、各担当者の回答は新しい順",
    },
    "account.themes": {"en": "Themes this account cites", "ja": "このアカウントが挙げたテーマ"},
    "account.followups": {"en": "Follow-ups and their outcomes", "ja": "フォローアップと結果"},
    "account.followups_order": {"en": "newest answer first", "ja": "回答の新しい順"},
    "account.answered": {"en": "Answered", "ja": "回答日"},
    "account.first_contact": {"en": "First contact", "ja": "初回連絡"},
    "account.closed": {"en": "Closed", "ja": "完了"},
    "account.next": {"en": "Next answer", "ja": "次の回答"},
    "account.contact": {"en": "Contact", "ja": "担当者"},
    "account.comment": {"en": "Comment", "ja": "コメント"},
    "account.reasons": {"en": "Reasons", "ja": "理由"},
    "account.no_followups": {"en": "No follow-ups.", "ja": "フォローアップはありません。"},
    "followup.pending": {"en": "pending", "ja": "作成待ち"},
    "followup.open": {"en": "open", "ja": "未対応"},
    "followup.in_progress": {"en": "in progress", "ja": "対応中"},
    "followup.closed": {"en": "closed", "ja": "完了"},
    "followup.cancelled": {"en": "cancelled", "ja": "取り消し"},
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
