"""`analytics` config: theme kinds and owners must name configured tags; backlog bounds hold."""

import datetime as dt

import pytest

from worker.config import ConfigError, parse_config

SF = "crm:\n  kind: salesforce\n"


def test_defaults() -> None:
    """Without an analytics section: price, features and integrations are structural; 5 items."""
    analytics = parse_config(SF, "config.yaml", env={}).analytics
    assert set(analytics.themes.structural) == {"price_contract", "feature_value", "integrations"}
    assert analytics.backlog.size == 5
    assert analytics.backlog.quick_fix_due == dt.timedelta(days=30)


@pytest.mark.parametrize(
    ("section", "path", "message"),
    [
        pytest.param(
            "analytics:\n  themes:\n    structural: [pricing]\n",
            "analytics.themes.structural[0]",
            "unknown tag 'pricing'",
            id="structural-unknown-tag",
        ),
        pytest.param(
            "analytics:\n  themes:\n    owners: {qualty: Eng}\n",
            "analytics.themes.owners.qualty",
            "did you mean 'quality'?",
            id="owner-typo",
        ),
        pytest.param(
            "analytics:\n  backlog:\n    quick_fix_due: 2y\n",
            "analytics.backlog.quick_fix_due",
            "invalid duration",
            id="bad-duration",
        ),
        pytest.param(
            "analytics:\n  backlog:\n    size: 0\n",
            "analytics.backlog.size",
            "must be at least 1 (got 0)",
            id="empty-backlog",
        ),
    ],
)
def test_errors_name_the_key(section: str, path: str, message: str) -> None:
    """Each mistake is reported at its own key."""
    with pytest.raises(ConfigError) as raised:
        parse_config(SF + section, "config.yaml", env={})
    issue = raised.value.errors[0]
    assert issue.path == path
    assert message in issue.message
