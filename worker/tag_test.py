"""`nps-worker tags test "comment"`: what the tagger makes of one comment, with the config's words.

RevOps add words per tag in the config (`tags`); this shows, before any answer comes in, which
tags a comment gets, praised or complained of, which words matched, and which topics the
comment rules out, in English or Japanese.
"""

from worker.config import Config
from worker.rules.tagging import Match, Tagger, TagResult

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
    },
}


def tag_test_lines(
    config: Config, comment: str, language: str | None, score: int | None = None
) -> list[str]:
    """The lines `tags test` prints, in `language` (default: the comment's own, by script)."""
    expected = language or ("ja" if _japanese(comment) else "en")
    result = Tagger(config.tags).tag(comment, expected, score=score)
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


def _said(match: Match) -> str:
    return f'"{match.text}"'


def _japanese(text: str) -> bool:
    return any("\u3040" <= char <= "\u30ff" or "\u4e00" <= char <= "\u9fff" for char in text)
