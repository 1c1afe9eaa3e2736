"""Words of a comment with the form they are matched by: stems in English, base forms in Japanese.

English (and other Latin-script languages Snowball knows) is split on letters and digits;
contractions are opened ("didn't" -> "did not", "cant" -> "can not"), chat spellings read as
words ("gr8", "pls"), a misspelt word (one the English dictionary shipped with symspellpy does
not know) close to a known keyword is read as that keyword (rapidfuzz, edit distance 1 from six
letters, 2 from nine), and each word is reduced to its
Snowball stem, so "crash" matches "crashes", "crashed" and "crashing".

Japanese is split by Sudachi (`sudachidict_small`, split mode A: the shortest units, so "連携"
is found inside "データ連携" but "高い" is not found inside "高性能"), and each word is matched
by its normalised base form: 使いやすかった -> 使う + 易い, わかりにくい -> 分かる + 難い,
spelling variants (カンタン, 簡単) folded into one.
"""

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA
from sudachipy import Dictionary, SplitMode, Tokenizer


@dataclass(frozen=True, slots=True)
class Token:
    """One word or punctuation mark: its match key, its text as written, and where it stands."""

    norm: str
    surface: str
    start: int
    end: int
    punct: bool = False
    joint: bool = False
    """A conjunctive particle (が, けど, ので …) that may end a clause."""
    noun: bool = False
    predicate: bool = False
    """A verb, adjective or auxiliary: with `noun`, where a Japanese phrase ends."""


Tokenize = Callable[[str], list[Token]]

_SNOWBALL = {
    "en": "english",
    "da": "danish",
    "de": "german",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "it": "italian",
    "nl": "dutch",
    "no": "norwegian",
    "pt": "portuguese",
    "sv": "swedish",
}
_APOSTROPHE = "\u2019"
_DASHES = "\u2014\u2013"
_WORD = re.compile(
    rf"[$€£¥%]|\w+(?:['{_APOSTROPHE}]\w+)?|[.,!?;:()\[\]{_DASHES}/&+…\"]|(?<!\w)-(?!\w)|\n"
)
_PUNCT = frozenset(f'.,!?;:()[]{_DASHES}/&+…"-\n')
_NOT_FORMS = {"ca": "can", "wo": "will", "sha": "shall"}
_CONTRACTED = {"re": "are", "ve": "have", "ll": "will", "m": "am"}
"""Contractions opened ("we're told": "we are told"); 's and 'd (is/has, had/would) are dropped."""
_NOT_SPELT = re.compile(
    r"(do|does|did|is|was|are|were|has|have|had|could|would|should|ai|need|must|wo|ca|can)nt"
)
_CHAT = {
    "gr8": "great",
    "pls": "please",
    "plz": "please",
    "ppl": "people",
    "thx": "thanks",
    "ty": "thanks",
    "bc": "because",
    "u": "you",
    "ur": "your",
    "w": "with",
    "b4": "before",
    "alot": "a lot",
    "noone": "no one",
    "nothin": "nothing",
    "n": "and",
    "abt": "about",
    "msg": "message",
    "asap": "quickly",
    "ive": "i have",
    "im": "i am",
    "youre": "you are",
    "theyre": "they are",
    "thats": "that is",
    "whats": "what is",
    "theres": "there is",
    "licence": "license",
    "licences": "licenses",
    "licenced": "licensed",
    "colour": "color",
    "colours": "colors",
    "organised": "organized",
    "optimisation": "optimization",
    "customisation": "customization",
    "customise": "customize",
    "customisable": "customizable",
    "centre": "center",
    "favourite": "favorite",
    "behaviour": "behavior",
    "cancelled": "canceled",
    "analyse": "analyze",
    "synchronisation": "synchronization",
}
_DICTIONARIES = {"en": "frequency_dictionary_en_82_765.txt"}
"""English words a spelling check must leave alone, from symspellpy's frequency dictionary."""


@cache
def dictionary(language: str) -> frozenset[str]:
    """The real words of `language` (none for a language without a shipped dictionary), so a
    correctly spelt word is never read as a lexicon word near it ("engine" is not "engineer",
    "friends" not "friendly"); only a word no dictionary knows is taken for a typo."""
    name = _DICTIONARIES.get(language)
    if name is None:
        return frozenset()
    text = (files("symspellpy") / name).read_text(encoding="utf-8")
    return frozenset(line.split(" ", 1)[0] for line in text.splitlines() if line)


def english_tokens(vocabulary: Iterable[str] = (), language: str = "en") -> Tokenize:
    """A tokenizer for a Latin-script language; `vocabulary` holds the words typos are read as."""
    stemmer = snowballstemmer.stemmer(_SNOWBALL[language]) if language in _SNOWBALL else None
    known = sorted({word for word in vocabulary if len(word) >= 6 and word.isalpha()})
    known_set = frozenset(known)
    known_stems = frozenset(stemmer.stemWord(word) for word in known) if stemmer else known_set
    real = dictionary(language)

    @lru_cache(maxsize=65536)
    def stem(word: str) -> str:
        return stemmer.stemWord(word) if stemmer is not None and word.isalpha() else word

    @lru_cache(maxsize=65536)
    def spell(word: str) -> str:
        if (
            len(word) < 6
            or word in known_set
            or word in real
            or not word.isalpha()
            or stem(word) in known_stems
        ):
            return word
        limit = 2 if len(word) >= 9 else 1
        found = process.extractOne(word, known, scorer=OSA.distance, score_cutoff=limit)
        if found is None or found[0][0] != word[0]:
            return word
        return str(found[0])

    def tokenize(text: str) -> list[Token]:
        tokens: list[Token] = []
        for hit in _WORD.finditer(text):
            raw = hit.group()
            if raw in _PUNCT:
                tokens.append(Token(raw, raw, hit.start(), hit.end(), punct=True))
                continue
            for written in _words(raw):
                word = spell(written) if known else written
                tokens.append(Token(stem(word), word, hit.start(), hit.end()))
        return tokens

    return tokenize


def _words(raw: str) -> list[str]:
    """A written word as the words it stands for: "didn't" -> did not, "gr8" -> great."""
    word = raw.replace(_APOSTROPHE, "'")
    if word.endswith("n't"):
        base = word[:-3]
        return [_NOT_FORMS.get(base, base), "not"]
    if "'" in word:
        word, ending = word.split("'", 1)
        if ending in _CONTRACTED:
            return [word, _CONTRACTED[ending]]
    spelt = _NOT_SPELT.fullmatch(word)
    if spelt:
        base = spelt.group(1)
        return [_NOT_FORMS.get(base, base), "not"]
    return _CHAT.get(word, word).split()


_local = threading.local()
_NOUNS = frozenset({"名詞", "代名詞"})
_PREDICATES = frozenset({"動詞", "形容詞", "助動詞", "形状詞"})
_PARTICLE_VERBS = frozenset({"関する", "対する", "つく", "よる", "おく"})
"""Verbs that with に…て make a compound particle (に関して, について): their て ends no clause."""


def _sudachi() -> Tokenizer:
    """One Sudachi tokenizer per thread (they are not shared across threads)."""
    tokenizer: Tokenizer | None = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        fields = {"pos", "normalized_form"}
        tokenizer = Dictionary(dict="small").tokenizer(mode=SplitMode.A, fields=fields)
        _local.tokenizer = tokenizer
    return tokenizer


def japanese_tokens(text: str) -> list[Token]:
    """Sudachi's shortest units, matched by their normalised base form (lower case)."""
    tokens: list[Token] = []
    previous = ""
    for morpheme in _sudachi().tokenize(text):
        pos = morpheme.part_of_speech()
        surface = morpheme.surface()
        if pos[0] == "空白" or not surface.strip():
            continue
        norm = morpheme.normalized_form().casefold()
        if norm == "ず":
            norm = "ない"  # 分からず and 分からない are one keyword
        if surface == "で":
            # The particle and the copula's て-form read alike and Sudachi tells them apart by
            # context, which a keyword ("自動で") does not have: both are matched as で.
            norm = surface
        tokens.append(
            Token(
                norm,
                surface.casefold(),
                morpheme.begin(),
                morpheme.end(),
                punct=pos[0] == "補助記号",
                joint=pos[1] == "接続助詞" and not (norm == "て" and previous in _PARTICLE_VERBS),
                noun=pos[0] in _NOUNS,
                predicate=pos[0] in _PREDICATES,
            )
        )
        previous = norm
    return tokens
