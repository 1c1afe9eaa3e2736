"""`nps-worker tags test "comment"`: what the tagger makes of one comment, with the config's words.

RevOps add words per tag in the config (`tags`); this shows, before any answer comes in, which
tags a comment gets, praised or complained of, which words matched, and which topics the
comment rules out, in English or Japanese. With the learned model on (`tagging.learned`), it
also shows each tag's probability against its threshold, which tags the model added to or
removed from the rules' answer, with the features that weighed most, and for each tag given the
polarity model's probability of praise.
"""

from worker.config import Config
from worker.rules.tagging import Match, Opinion, Tagger, TagResult
from worker.rules.tagging.features import NAMED, NO_TAG, RULED_OUT, RULES, WORDS

_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "language": "comment language: {language}",
        "detected": " (read from its script; the contact's is {expected})",
        "tags": "tags:",
        "none": "tags: none — no reason found in the comment",
        "chosen": "chosen",
        "praise": "praise",
        "complaint": "complaint",
        "matched": "matched",
        "keyword": "keyword",
        "ruled_out": "ruled out (a topic the comment concedes, not a reason):",
        "summary": "summary: {summary}",
        "model": "learned model (probability / threshold; the rules' answer):",
        "model_off": "learned model: off (tagging.learned: false), the rules alone",
        "rules_yes": "rules: yes",
        "rules_no": "rules: no",
        "added": "ADDED by the model",
        "removed": "REMOVED by the model",
        "weighed": "weighed most",
        "praise_p": "praise probability",
        "f_rules": "rules give {tag}",
        "f_named": "a {tag} phrase",
        "f_ruled": "{tag} ruled out",
        "f_none": "rules give no tag",
    },
    "ja": {
        "language": "コメントの言語: {language}",
        "detected": " (文字から判定。連絡先の言語は {expected})",
        "tags": "タグ:",
        "none": "タグ: なし (コメントに理由が見つかりません)",
        "chosen": "選択",
        "praise": "評価",
        "complaint": "不満",
        "matched": "一致",
        "keyword": "キーワード",
        "ruled_out": "除外 (理由ではなく、前置きとして触れられた話題):",
        "summary": "要約: {summary}",
        "model": "学習モデル (確率 / しきい値、ルールの判定):",
        "model_off": "学習モデル: オフ (tagging.learned: false)、ルールのみ",
        "rules_yes": "ルール: あり",
        "rules_no": "ルール: なし",
        "added": "モデルが追加",
        "removed": "モデルが除外",
        "weighed": "主な根拠",
        "praise_p": "評価の確率",
        "f_rules": "ルールの判定 {tag}",
        "f_named": "{tag} の語",
        "f_ruled": "{tag} は前置き",
        "f_none": "ルールの判定なし",
    },
}


def tag_test_lines(
    config: Config, comment: str, language: str | None, score: int | None = None
) -> list[str]:
    """The lines `tags test` prints, in `language` (default: the comment's own, by script)."""
    expected = language or ("ja" if _japanese(comment) else "en")
    learned = config.tagging.learned
    result = Tagger(config.tags, learned=learned).tag(comment, expected, score=score)
    words = _TEXT["ja" if result.language == "ja" else "en"]
    head = words["language"].format(language=result.language)
    if language and result.language != language:
        head += words["detected"].format(expected=language)
    lines = [head]
    labels = {
        tag.id: tag.labels.get(result.language, next(iter(tag.labels.values())))
        for tag in config.tags
    }
    if not result.tags:
        lines.append(words["none"])
    else:
        lines.append(words["tags"])
        for tag in result.tags:
            lines += _tag_lines(result, tag, labels.get(tag, tag), words)
    if result.ruled_out:
        lines.append(words["ruled_out"])
        lines += [f"    {m.tag}: {_said(m)}" for m in result.ruled_out]
    if not learned:
        lines.append(words["model_off"])
    elif result.opinions:
        lines.append(words["model"])
        for opinion in result.opinions:
            lines += _opinion_lines(result, opinion, words)
    if result.summary:
        lines.append(words["summary"].format(summary=result.summary))
    return lines


def _tag_lines(result: TagResult, tag: str, label: str, words: dict[str, str]) -> list[str]:
    polarity = result.polarity_of(tag)
    shown = words[polarity] if polarity else "-"
    lines = [f"  {tag} ({label}): {shown}"]
    found = [m for m in result.matches if m.tag == tag]
    for match in found:
        lean = f", {words[match.polarity]}" if match.polarity else ""
        lines.append(
            f"      {words['matched']} {_said(match)} ({words['keyword']} {match.keyword!r}{lean})"
        )
    return lines


def _opinion_lines(result: TagResult, opinion: Opinion, words: dict[str, str]) -> list[str]:
    rules = words["rules_yes" if opinion.rules else "rules_no"]
    line = f"  {opinion.tag}: {opinion.probability:.2f} / {opinion.threshold:.2f} ({rules})"
    if opinion.added or opinion.removed:
        line += f" {words['added' if opinion.added else 'removed']}"
    if opinion.praise is not None:
        line += f"; {words['praise_p']} {opinion.praise:.2f}"
    lines = [line]
    if opinion.reasons:
        shown = ", ".join(f"{_feature(name, words)} {w:+.2f}" for name, w in opinion.reasons)
        lines.append(f"      {words['weighed']}: {shown}")
    if opinion.removed:
        lines += [
            f"      {words['matched']} {_said(m)} ({words['keyword']} {m.keyword!r})"
            for m in result.matches
            if m.tag == opinion.tag
        ]
    return lines


def _feature(name: str, words: dict[str, str]) -> str:
    """A model feature (worker/rules/tagging/features.py) as a person reads it."""
    if name == NO_TAG:
        return words["f_none"]
    for prefix, key in ((RULES, "f_rules"), (NAMED, "f_named"), (RULED_OUT, "f_ruled")):
        if name.startswith(prefix):
            return words[key].format(tag=name.removeprefix(prefix))
    return f'"{name.removeprefix(WORDS)}"'


def _said(match: Match) -> str:
    return f'"{match.text}"'


def _japanese(text: str) -> bool:
    return any("\u3040" <= char <= "\u30ff" or "\u4e00" <= char <= "\u9fff" for char in text)
