"""Copying `config.example.yaml` must not quietly make anything worse than the defaults."""

from tests.unit.test_config import EXAMPLE
from worker.config import load_config
from worker.config.tags import default_taxonomy


def test_example_tags_keep_every_built_in_word() -> None:
    """Every built-in tag is in the example with its built-in lexicon on, and every word the
    default lists for it is still listed: the example only adds."""
    example = {tag.id: tag for tag in load_config(EXAMPLE, env={}).tags}
    for builtin in default_taxonomy():
        copied = example[builtin.id]
        assert copied.builtin_words, builtin.id
        assert copied.labels == builtin.labels
        for kind in ("keywords", "problems", "praise"):
            for language, words in getattr(builtin, kind).items():
                assert set(words) <= set(getattr(copied, kind).get(language, ())), (
                    builtin.id,
                    kind,
                    language,
                )
