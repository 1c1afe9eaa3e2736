"""Evaluating a configured Condition against a record's values, clause by clause, with reasons."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from worker.config.conditions import Clause, Condition, Operator
from worker.rules.values import comparable, equals, is_null

_ORDER = {
    Operator.GT: lambda a, b: a > b,
    Operator.GTE: lambda a, b: a >= b,
    Operator.LT: lambda a, b: a < b,
    Operator.LTE: lambda a, b: a <= b,
}


@dataclass(frozen=True, slots=True)
class ClauseResult:
    """One clause's verdict, with the values it saw, for explain."""

    clause: Clause
    passed: bool
    actual: Any
    previous: Any = None

    @property
    def detail(self) -> str:
        """`Status changed_to 'Closed': was 'Open', now 'Closed' -> yes`."""
        clause = self.clause
        operand = list(clause.value) if isinstance(clause.value, tuple) else clause.value
        seen = f"now {self.actual!r}"
        if clause.operator is Operator.CHANGED_TO:
            seen = f"was {self.previous!r}, {seen}"
        verdict = "yes" if self.passed else "no"
        return f"{clause.field} {clause.operator.value} {operand!r}: {seen} -> {verdict}"


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """A condition's verdict: its own clauses, then its `any` and `all` groups."""

    passed: bool
    clauses: tuple[ClauseResult, ...] = ()
    any_of: tuple["ConditionResult", ...] = ()
    all_of: tuple["ConditionResult", ...] = ()

    def lines(self, indent: str = "") -> list[str]:
        """Readable lines, one per clause, groups indented under `any`/`all`."""
        out = [f"{indent}{'+' if item.passed else '-'} {item.detail}" for item in self.clauses]
        for name, groups in (("any", self.any_of), ("all", self.all_of)):
            if groups:
                passed = (
                    any(g.passed for g in groups)
                    if name == "any"
                    else all(g.passed for g in groups)
                )
                out.append(f"{indent}{'+' if passed else '-'} {name} of:")
                for group in groups:
                    out.extend(group.lines(indent + "    "))
        return out


def evaluate(
    condition: Condition,
    values: Mapping[str, Any],
    previous: Mapping[str, Any] | None = None,
) -> ConditionResult:
    """Test `condition` on `values`; `previous` (None: the record is new) feeds `changed_to`."""
    clauses = tuple(_clause(clause, values, previous) for clause in condition.clauses)
    any_of = tuple(evaluate(group, values, previous) for group in condition.any_of)
    all_of = tuple(evaluate(group, values, previous) for group in condition.all_of)
    passed = (
        all(item.passed for item in clauses)
        and all(group.passed for group in all_of)
        and (not any_of or any(group.passed for group in any_of))
    )
    return ConditionResult(passed, clauses, any_of, all_of)


def holds(condition: Condition, values: Mapping[str, Any]) -> bool:
    """Whether `condition` holds on current values, reading `changed_to` as plain equality."""
    return evaluate(_as_state(condition), values).passed


def _as_state(condition: Condition) -> Condition:
    """The condition with `changed_to X` read as `equals X`: the state it wants to reach."""
    return Condition(
        tuple(
            Clause(c.field, Operator.EQUALS, c.value) if c.operator is Operator.CHANGED_TO else c
            for c in condition.clauses
        ),
        tuple(_as_state(group) for group in condition.any_of),
        tuple(_as_state(group) for group in condition.all_of),
    )


def _clause(
    clause: Clause, values: Mapping[str, Any], previous: Mapping[str, Any] | None
) -> ClauseResult:
    actual = values.get(clause.field)
    operand = clause.value
    match clause.operator:
        case Operator.CHANGED_TO:
            before = None if previous is None else previous.get(clause.field)
            passed = equals(actual, operand) and not equals(before, operand)
            return ClauseResult(clause, passed, actual, before)
        case Operator.EQUALS:
            passed = equals(actual, operand)
        case Operator.IN | Operator.NOT_IN:
            assert isinstance(operand, tuple)
            found = any(equals(actual, item) for item in operand)
            passed = found if clause.operator is Operator.IN else not found
        case Operator.IS_NULL:
            passed = is_null(actual) is bool(operand)
        case _:
            pair = comparable(actual, operand)
            passed = pair is not None and bool(_ORDER[clause.operator](*pair))
    return ClauseResult(clause, passed, actual)


def qualified(contact: Mapping[str, Any], account: Mapping[str, Any] | None) -> dict[str, Any]:
    """Field values keyed `contact.<Field>` / `account.<Field>`, as audiences read them."""
    values = {f"contact.{name}": value for name, value in contact.items()}
    values.update({f"account.{name}": value for name, value in (account or {}).items()})
    return values
