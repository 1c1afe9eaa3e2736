"""Fuzzing the config loader: any text loads or fails with located ConfigError issues."""

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz import examples
from tests.fuzz.config_inputs import check_config, config_texts, environments


@pytest.mark.filterwarnings("ignore::ruamel.yaml.error.ReusedAnchorWarning")
@settings(
    max_examples=examples(),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=config_texts, env=environments)
def test_any_text_loads_or_fails_located(text: str, env: dict[str, str]) -> None:
    """No input makes `parse_config` raise anything but a ConfigError naming file:line:col."""
    check_config(text, env)


ANCHORS = "&a [x, x, x, x, x, x, x, x, x, x]"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "a: "
            + ANCHORS
            + "\n"
            + "".join(
                f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]\n"
                for prev, name in zip("abcdefg", "bcdefgh", strict=True)
            ),
            id="billion-laughs",
        ),
        pytest.param("crm: &c\n  kind: salesforce\n  loop: [*c]\n", id="recursive-alias"),
        pytest.param(
            "crm:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 300)), id="deep-mapping"
        ),
        pytest.param("crm: " + "[" * 400 + "]" * 400 + "\n", id="deep-flow-list"),
        pytest.param("survey:\n  daily_cap: 1" + "0" * 5000 + "\n", id="integer-over-4300-digits"),
        pytest.param("crm: !!set\n", id="set-tag-on-scalar"),
        pytest.param("crm: !!omap a\n", id="omap-tag-on-scalar"),
    ],
)
def test_found_by_fuzzing(text: str) -> None:
    """Inputs that once escaped as RecursionError, ValueError, AttributeError or a long hang."""
    check_config(text, {})
