"""The `privacy` section: retention ages RevOps writes, and the located errors for bad ones."""

from datetime import timedelta

import pytest

from worker.config import ConfigError, parse_config

SF = "crm:\n  kind: salesforce\n"


@pytest.mark.parametrize(
    ("text", "comments", "personal_fields"),
    [
        pytest.param("", timedelta(days=730), timedelta(days=730), id="defaults"),
        pytest.param(
            "privacy:\n  retention:\n    comments: 90d\n    personal_fields: 1w\n",
            timedelta(days=90),
            timedelta(weeks=1),
            id="given",
        ),
        pytest.param(
            "privacy:\n  retention:\n    comments: null\n    personal_fields: null\n",
            None,
            None,
            id="keep-forever",
        ),
    ],
)
def test_retention_ages(
    text: str, comments: timedelta | None, personal_fields: timedelta | None
) -> None:
    """Durations in the usual syntax; null keeps the data."""
    retention = parse_config(SF + text, "config.yaml", env={}).privacy.retention
    assert (retention.comments, retention.personal_fields) == (comments, personal_fields)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "privacy:\n  retention:\n    comments: 0s\n",
            "config.yaml:5:5: privacy.retention.comments: '0s' is out of range 1d to 36500d",
            id="zero",
        ),
        pytest.param(
            "privacy:\n  retention:\n    comments: forever\n",
            "config.yaml:5:5: privacy.retention.comments: invalid duration 'forever'"
            " (use e.g. 30m, 2h, 7d)",
            id="not-a-duration",
        ),
        pytest.param(
            "privacy:\n  retention:\n    coments: 30d\n",
            "config.yaml:5:5: privacy.retention.coments: unknown key; did you mean 'comments'?",
            id="typo",
        ),
    ],
)
def test_bad_retention_is_located(text: str, expected: str) -> None:
    """A bad age names file, line, column and key."""
    with pytest.raises(ConfigError) as caught:
        parse_config(SF + text, "config.yaml", env={})
    assert [str(issue) for issue in caught.value.errors] == [expected]
