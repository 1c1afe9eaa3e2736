"""Condition evaluation: every operator, CRM value kinds, any/all groups, explanations."""

from typing import Any

import pytest
from pydantic import TypeAdapter

from worker.config.conditions import AudienceCondition, Condition, RecordCondition
from worker.rules.conditions import evaluate, holds, qualified

_RECORD: TypeAdapter[Condition] = TypeAdapter(RecordCondition)


def _when(data: dict[str, Any]) -> Condition:
    return _RECORD.validate_python(data)


OPERATORS = [
    pytest.param({"S": "Closed"}, {"S": "Closed"}, None, True, id="bare-equals"),
    pytest.param({"S": {"equals": "Closed"}}, {"S": "Open"}, None, False, id="equals-differs"),
    pytest.param({"Stage": {"equals": 4}}, {"Stage": "4"}, None, True, id="equals-number-as-text"),
    pytest.param({"Vip": True}, {"Vip": "true"}, None, True, id="equals-bool-as-text"),
    pytest.param({"S": {"in": ["A", "B"]}}, {"S": "B"}, None, True, id="in"),
    pytest.param({"S": {"in": ["A", "B"]}}, {"S": None}, None, False, id="in-null"),
    pytest.param({"S": {"not_in": ["A"]}}, {"S": "B"}, None, True, id="not-in"),
    pytest.param({"S": {"not_in": ["A"]}}, {}, None, True, id="not-in-missing"),
    pytest.param({"N": {"gt": 10}}, {"N": 11}, None, True, id="gt"),
    pytest.param({"N": {"gt": 10}}, {"N": 10}, None, False, id="gt-equal"),
    pytest.param({"N": {"gte": 1000000}}, {"N": "1000000"}, None, True, id="gte-hubspot-text"),
    pytest.param({"N": {"lt": 5}}, {"N": "abc"}, None, False, id="lt-not-a-number"),
    pytest.param({"N": {"lte": 5}}, {"N": None}, None, False, id="lte-null"),
    pytest.param({"D": {"gte": "2025-01-01"}}, {"D": "2025-03-01"}, None, True, id="date-gte"),
    pytest.param(
        {"D": {"lt": "2025-01-01"}}, {"D": "2024-12-31T23:00:00Z"}, None, True, id="dt-vs-date"
    ),
    pytest.param(
        {"D": {"equals": "2025-01-01"}},
        {"D": "2025-01-01T10:00:00.000+0000"},
        None,
        True,
        id="date-equals-same-day",
    ),
    pytest.param(
        {"D": {"gt": "2025-01-01T09:00:00Z"}},
        {"D": "2025-01-01T10:00:00+02:00"},
        None,
        False,
        id="datetime-offsets",
    ),
    pytest.param({"C": {"is_null": True}}, {"C": ""}, None, True, id="is-null-blank"),
    pytest.param({"C": {"is_null": False}}, {"C": "x"}, None, True, id="is-not-null"),
    pytest.param({"S": {"changed_to": "Closed"}}, {"S": "Closed"}, {"S": "Open"}, True, id="chg"),
    pytest.param(
        {"S": {"changed_to": "Closed"}}, {"S": "Closed"}, {"S": "Closed"}, False, id="chg-same"
    ),
    pytest.param({"S": {"changed_to": "Closed"}}, {"S": "Closed"}, None, True, id="chg-new"),
    pytest.param(
        {"any": [{"P": "High"}, {"A": {"gte": 100}}]},
        {"P": "Low", "A": 150},
        None,
        True,
        id="any-one",
    ),
    pytest.param(
        {"any": [{"P": "High"}, {"A": {"gte": 100}}]},
        {"P": "Low", "A": 50},
        None,
        False,
        id="any-none",
    ),
    pytest.param(
        {"all": [{"any": [{"P": "High"}, {"P": "Critical"}]}, {"any": [{"T": "Bug"}]}]},
        {"P": "Critical", "T": "Bug"},
        None,
        True,
        id="all-of-anys",
    ),
]


class TestOperators:
    """Each operator on the kinds of values CRMs send."""

    @pytest.mark.parametrize(("when", "values", "previous", "expected"), OPERATORS)
    def test_verdict(
        self,
        when: dict[str, Any],
        values: dict[str, Any],
        previous: dict[str, Any] | None,
        expected: bool,
    ) -> None:
        """The condition holds exactly when the operator says so."""
        assert evaluate(_when(when), values, previous).passed is expected

    def test_explanation_names_each_clause(self) -> None:
        """Explain shows the field, the test, the values seen and the verdict per clause."""
        result = evaluate(
            _when({"S": {"changed_to": "Closed"}, "any": [{"P": "High"}]}),
            {"S": "Closed", "P": "Low"},
            {"S": "Open"},
        )
        assert result.lines() == [
            "+ S changed_to 'Closed': was 'Open', now 'Closed' -> yes",
            "- any of:",
            "    - P equals 'High': now 'Low' -> no",
        ]

    def test_holds_reads_changed_to_as_the_target_state(self) -> None:
        """`holds` answers 'is the record in the wanted state', for the previous values."""
        assert holds(_when({"S": {"changed_to": "Closed"}}), {"S": "Closed"})
        assert not holds(_when({"S": {"changed_to": "Closed"}}), {"S": "Open"})

    def test_audience_values_are_qualified(self) -> None:
        """Audience conditions read `contact.X` and `account.X`."""
        audience = TypeAdapter(AudienceCondition).validate_python(
            {"account.Type": "Customer", "contact.Title": {"is_null": False}}
        )
        values = qualified({"Title": "CFO"}, {"Type": "Customer"})
        assert evaluate(audience, values).passed
