"""What simulated respondents write: short, realistic B2B NPS comments in English and Japanese.

Grouped by the mood of the score; the demo picks one at random, so comments carry the reasons
the tagger finds (support, price, quality, usability, onboarding, integrations, feature value).
"""

COMMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "detractor": (
            "The sync with our calendar broke twice this month and support took days to answer.",
            "Too expensive for what we use, and the renewal price went up again.",
            "Reports are slow and the dashboard often shows an error.",
            "Onboarding was rushed; nobody trained our team on the basics.",
            "The UI is confusing, my team keeps asking how to do simple things.",
            "We lost data after an outage and never got an explanation.",
            "Integration with our ERP is still missing after a year of asking.",
            "Billing mistakes every quarter, and the contract terms are rigid.",
        ),
        "passive": (
            "Does the job, but the export could be faster.",
            "Good product, pricing is a bit high for a team our size.",
            "Support is friendly but response time varies a lot.",
            "Useful features; the setup took longer than we planned.",
            "Works well most days; the mobile app feels clunky.",
            "Fine overall. Would like a Slack integration.",
        ),
        "promoter": (
            "Our CSM is fantastic and the onboarding was smooth.",
            "Easy to use and the reports save us hours every week.",
            "Reliable, fast, and support answers within the hour.",
            "The API and integrations let us automate our whole workflow.",
            "Great value for the price; the team loves the new features.",
            "Not a single outage this year. Very stable product.",
        ),
    },
    "ja": {
        "detractor": (
            "今月カレンダー連携が二回止まり、サポートの返信にも数日かかりました。",
            "使っている機能に対して価格が高すぎます。更新のたびに値上がりしています。",
            "レポートが遅く、ダッシュボードでエラーがよく出ます。",
            "導入支援が不十分で、基本操作のトレーニングがありませんでした。",
            "画面が分かりにくく、簡単な操作でも社内から質問が絶えません。",
            "障害でデータが消え、説明もありませんでした。",
            "基幹システムとの連携が一年以上待っても実現しません。",
        ),
        "passive": (
            "十分使えますが、エクスポートがもう少し速いと助かります。",
            "良い製品ですが、私たちの規模には料金が少し高めです。",
            "サポートは丁寧ですが、回答までの時間にばらつきがあります。",
            "便利な機能が多い一方で、初期設定に想定より時間がかかりました。",
            "全体的には満足です。Slack連携が欲しいです。",
        ),
        "promoter": (
            "担当のカスタマーサクセスの方が素晴らしく、導入もスムーズでした。",
            "使いやすく、レポートのおかげで毎週何時間も節約できています。",
            "安定していて速く、サポートもすぐに回答してくれます。",
            "APIと連携機能で業務をまるごと自動化できました。",
            "価格以上の価値があります。新機能もチームに好評です。",
            "今年は一度も障害がなく、とても安定しています。",
        ),
    },
}
