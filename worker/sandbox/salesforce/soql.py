"""A SOQL subset parser: query text to a small syntax tree, with Salesforce's error positions.

Grammar from the SOQL and SOSL Reference: SELECT (sforce_api_calls_soql_select.htm), WHERE
conditions (sforce_api_calls_soql_select_conditionexpression.htm: AND and OR cannot be mixed
without parentheses), comparison operators (sforce_api_calls_soql_select_comparisonoperators.htm),
date formats and date literals (sforce_api_calls_soql_select_dateformats.htm), ORDER BY,
LIMIT and OFFSET. Not supported: aggregate functions other than COUNT(), GROUP BY, subqueries,
semi-joins, TYPEOF, FOR VIEW/UPDATE, INCLUDES/EXCLUDES (the org has no multi-select picklist).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal as TypingLiteral

from worker.sandbox.salesforce.values import parse_date, parse_datetime

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<relative>[A-Za-z_]+:\d+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<operator>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}
_SIMPLE_DATE_LITERALS = frozenset({"TODAY", "YESTERDAY", "TOMORROW"})
_PARAMETERIZED_DATE_LITERALS = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS"})
_LIST_OPERATORS = frozenset({"IN", "NOT IN"})

Operator = TypingLiteral["=", "!=", "<", ">", "<=", ">=", "LIKE", "IN", "NOT IN"]


class SoqlSyntaxError(Exception):
    """A query Salesforce would refuse, with the error code and the offset it points at."""

    def __init__(self, error_code: str, message: str, offset: int) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Token:
    """One lexical token and where it starts in the query text."""

    kind: str
    text: str
    offset: int

    def is_word(self, *words: str) -> bool:
        """Whether this token is one of the given keywords (case-insensitive)."""
        return self.kind == "name" and self.text.upper() in words


@dataclass(frozen=True)
class FieldPath:
    """A field reference such as `Email` or `Account.Owner.Email`."""

    parts: tuple[str, ...]
    offset: int


@dataclass(frozen=True)
class RelativeDate:
    """A date literal naming a range relative to today (TODAY, LAST_N_DAYS:n ...)."""

    name: str
    n: int = 0


LiteralKind = TypingLiteral["string", "number", "null", "boolean", "date", "datetime", "relative"]


@dataclass(frozen=True)
class Value:
    """A literal on the right of a comparison."""

    kind: LiteralKind
    value: str | Decimal | bool | date | datetime | RelativeDate | None
    offset: int


@dataclass(frozen=True)
class Comparison:
    """`field operator value` or `field IN (values)`."""

    field: FieldPath
    operator: Operator
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Junction:
    """Operands joined by one of AND / OR."""

    operator: TypingLiteral["AND", "OR"]
    operands: tuple["Condition", ...]


@dataclass(frozen=True)
class Negation:
    """NOT condition."""

    operand: "Condition"


Condition = Comparison | Junction | Negation


@dataclass(frozen=True)
class OrderKey:
    """One ORDER BY key; Salesforce sorts nulls first ascending and last descending by default."""

    field: FieldPath
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    """A parsed SELECT statement."""

    text: str
    fields: tuple[FieldPath, ...]
    count: bool
    sobject: str
    sobject_offset: int
    where: Condition | None
    order_by: tuple[OrderKey, ...]
    limit: int | None
    offset: int | None


def tokenize(text: str) -> list[Token]:
    """Split query text into tokens; raises SoqlSyntaxError at the first unreadable character."""
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise SoqlSyntaxError(
                "MALFORMED_QUERY",
                f"unexpected token: '{text[position:].split(maxsplit=1)[0]}'",
                position,
            )
        if match.lastgroup != "space":
            tokens.append(Token(match.lastgroup, match.group(), position))
        position = match.end()
    return tokens


def parse(text: str) -> Query:
    """Parse a SOQL statement; raises SoqlSyntaxError with Salesforce's code and message."""
    return _Parser(text).query()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def advance(self) -> Token:
        token = self.peek()
        if token is None:
            raise SoqlSyntaxError("MALFORMED_QUERY", "unexpected token: <EOF>", len(self.text))
        self.index += 1
        return token

    def fail(self, token: Token | None) -> SoqlSyntaxError:
        if token is None:
            return SoqlSyntaxError("MALFORMED_QUERY", "unexpected token: <EOF>", len(self.text))
        return SoqlSyntaxError("MALFORMED_QUERY", f"unexpected token: '{token.text}'", token.offset)

    def expect_word(self, word: str) -> Token:
        token = self.peek()
        if token is None or not token.is_word(word):
            raise self.fail(token)
        return self.advance()

    def expect_punct(self, punct: str) -> Token:
        token = self.peek()
        if token is None or token.kind != "punct" or token.text != punct:
            raise self.fail(token)
        return self.advance()

    def at_punct(self, punct: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "punct" and token.text == punct

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.is_word(*words)

    def query(self) -> Query:
        self.expect_word("SELECT")
        fields, count = self.select_list()
        self.expect_word("FROM")
        source = self.advance()
        if source.kind != "name" or "." in source.text:
            raise self.fail(source)
        where = None
        if self.at_word("WHERE"):
            self.advance()
            where = self.condition()
        order_by: tuple[OrderKey, ...] = ()
        if self.at_word("ORDER"):
            self.advance()
            self.expect_word("BY")
            order_by = self.order_keys()
        limit = self.integer_clause("LIMIT")
        offset = self.integer_clause("OFFSET")
        if self.peek() is not None:
            raise self.fail(self.peek())
        return Query(
            self.text, fields, count, source.text, source.offset, where, order_by, limit, offset
        )

    def select_list(self) -> tuple[tuple[FieldPath, ...], bool]:
        first = self.peek()
        if first is not None and first.is_word("COUNT"):
            self.advance()
            self.expect_punct("(")
            if not self.at_punct(")"):
                raise SoqlSyntaxError(
                    "MALFORMED_QUERY",
                    "only COUNT() is supported by the sandbox, not COUNT(fieldName)",
                    first.offset,
                )
            self.advance()
            return (), True
        fields = [self.field_path()]
        while self.at_punct(","):
            self.advance()
            fields.append(self.field_path())
        seen: set[str] = set()
        for path in fields:
            key = ".".join(path.parts).lower()
            if key in seen:
                raise SoqlSyntaxError(
                    "MALFORMED_QUERY",
                    f"duplicate field selected: {'.'.join(path.parts)}",
                    path.offset,
                )
            seen.add(key)
        return tuple(fields), False

    def field_path(self) -> FieldPath:
        token = self.advance()
        if token.kind != "name" or token.is_word("FROM"):
            raise self.fail(token)
        return FieldPath(tuple(token.text.split(".")), token.offset)

    def condition(self) -> Condition:
        first = self.unary()
        if not self.at_word("AND", "OR"):
            return first
        joiner = self.advance().text.upper()
        operands = [first, self.unary()]
        while self.at_word("AND", "OR"):
            token = self.peek()
            assert token is not None
            if token.text.upper() != joiner:
                raise self.fail(token)
            self.advance()
            operands.append(self.unary())
        return Junction("AND" if joiner == "AND" else "OR", tuple(operands))

    def unary(self) -> Condition:
        if self.at_word("NOT"):
            self.advance()
            return Negation(self.unary())
        if self.at_punct("("):
            self.advance()
            inner = self.condition()
            self.expect_punct(")")
            return inner
        return self.comparison()

    def comparison(self) -> Comparison:
        path = self.field_path()
        token = self.advance()
        operator: Operator
        if token.kind == "operator":
            operator = "!=" if token.text in {"!=", "<>"} else token.text  # type: ignore[assignment]
        elif token.is_word("LIKE", "IN"):
            operator = token.text.upper()  # type: ignore[assignment]
        elif token.is_word("NOT"):
            self.expect_word("IN")
            operator = "NOT IN"
        else:
            raise self.fail(token)
        if operator in _LIST_OPERATORS:
            self.expect_punct("(")
            values = [self.value()]
            while self.at_punct(","):
                self.advance()
                values.append(self.value())
            self.expect_punct(")")
            return Comparison(path, operator, tuple(values))
        return Comparison(path, operator, (self.value(),))

    def value(self) -> Value:
        token = self.advance()
        reader = _LITERAL_READERS.get(token.kind)
        if reader is not None:
            return reader(token)
        if token.kind == "relative":
            name, _, count = token.text.partition(":")
            if name.upper() not in _PARAMETERIZED_DATE_LITERALS:
                raise self.fail(token)
            return Value("relative", RelativeDate(name.upper(), int(count)), token.offset)
        if token.is_word("NULL"):
            return Value("null", None, token.offset)
        if token.is_word("TRUE", "FALSE"):
            return Value("boolean", token.text.upper() == "TRUE", token.offset)
        if token.is_word(*_SIMPLE_DATE_LITERALS):
            return Value("relative", RelativeDate(token.text.upper()), token.offset)
        raise self.fail(token)

    def order_keys(self) -> tuple[OrderKey, ...]:
        keys = [self.order_key()]
        while self.at_punct(","):
            self.advance()
            keys.append(self.order_key())
        return tuple(keys)

    def order_key(self) -> OrderKey:
        path = self.field_path()
        descending = False
        if self.at_word("ASC", "DESC"):
            descending = self.advance().text.upper() == "DESC"
        nulls_last = descending
        if self.at_word("NULLS"):
            self.advance()
            if not self.at_word("FIRST", "LAST"):
                raise self.fail(self.peek())
            nulls_last = self.advance().text.upper() == "LAST"
        return OrderKey(path, descending, nulls_last)

    def integer_clause(self, keyword: str) -> int | None:
        if not self.at_word(keyword):
            return None
        self.advance()
        token = self.advance()
        if token.kind != "number" or not token.text.isdigit():
            raise self.fail(token)
        return int(token.text)


def _unquote(token: Token) -> str:
    body = token.text[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            escaped = body[index + 1]
            if escaped in {"%", "_"}:
                out.append("\\" + escaped)
            elif escaped in _ESCAPES:
                out.append(_ESCAPES[escaped])
            else:
                raise SoqlSyntaxError(
                    "MALFORMED_QUERY",
                    "Invalid string literal. Illegal character sequence '\\" + escaped + "'",
                    token.offset,
                )
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _invalid_date(token: Token) -> SoqlSyntaxError:
    return SoqlSyntaxError(
        "MALFORMED_QUERY",
        f"line 1:{token.offset} no viable alternative at character '{token.text}'",
        token.offset,
    )


def _read_date(token: Token) -> Value:
    parsed = parse_date(token.text)
    if parsed is None:
        raise _invalid_date(token)
    return Value("date", parsed, token.offset)


def _read_datetime(token: Token) -> Value:
    parsed = parse_datetime(token.text)
    if parsed is None:
        raise _invalid_date(token)
    return Value("datetime", parsed, token.offset)


_LITERAL_READERS: dict[str, Callable[[Token], Value]] = {
    "string": lambda token: Value("string", _unquote(token), token.offset),
    "number": lambda token: Value("number", Decimal(token.text), token.offset),
    "date": _read_date,
    "datetime": _read_datetime,
}
