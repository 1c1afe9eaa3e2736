"""Comment text before tagging: Unicode normalisation, the comment's own language, its summary.

NFKC folds half-width katakana (ｻﾎﾟｰﾄ) and full-width letters (U+FF21…) into their usual forms;
case is folded after it, so keywords are written once, in lower case or as they are spelt.
"""

import re
import unicodedata

SUMMARY_CHARS = 120
_SENTENCE_END = re.compile(r"(?<=[.!?])\s|[。\uff01\uff1f\n]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_KANJI = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")


def normalise(text: str) -> str:
    """NFKC, case folded, whitespace collapsed: the form keywords and comments are matched in."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def detect_language(text: str, expected: str) -> str:
    """The language a comment is written in, judged by its script; `expected` when in doubt.

    A contact marked English may write in Japanese and the other way round. Kana mark Japanese
    for sure; kanji without kana (Chinese looks the same) only when there are more of them than
    Latin letters. A comment expected in Japanese but written in Latin letters only is English.
    Another Latin-script language (fr, de …) cannot be told apart from English by its script, so
    its expected language is kept.
    """
    kana = len(_KANA.findall(text))
    kanji = len(_KANJI.findall(text))
    latin = len(_LATIN.findall(text))
    if kana or kanji > latin:
        return "ja"
    if expected == "ja" and latin:
        return "en"
    return expected


def summarize(text: str) -> str:
    """The first sentence, whitespace collapsed, cut at a word near SUMMARY_CHARS with '…'."""
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0] if text.strip() else ""
    first = " ".join(first.split())
    if len(first) <= SUMMARY_CHARS:
        return first
    cut = first[: SUMMARY_CHARS - 1]
    if " " in cut[SUMMARY_CHARS // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"
