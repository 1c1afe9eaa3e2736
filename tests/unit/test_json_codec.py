"""worker.json_codec: orjson's speed without losing what the standard library accepts."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from worker.json_codec import dumps, encode, loads


def test_reads_a_page_as_the_standard_library_does() -> None:
    """Plain documents read the same either way."""
    page = '{"results": [{"id": "1", "properties": {"name": "Acme \\u00e9", "n": 2.5}}]}'

    assert loads(page.encode()) == json.loads(page)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(b'{"lastname": "\\ud800"}', id="lone-surrogate"),
        pytest.param(b'{"amount": NaN}', id="nan"),
    ],
)
def test_what_orjson_refuses_is_still_read(document: bytes) -> None:
    """A page with one odd value is read, so only its record is quarantined, not the page."""
    assert repr(loads(document)) == repr(json.loads(document))


def test_writes_compact_json_that_reads_back() -> None:
    """Mirrored field mappings round-trip."""
    fields = {"segments": {"tier": "Gold"}, "crm_values": {"score": 9, "tags": None}}

    assert json.loads(dumps(fields)) == fields


def test_a_request_body_is_the_same_json_as_utf8_bytes() -> None:
    """`encode` is `dumps` for a request body, non-ASCII text included."""
    body = {"inputs": [{"id": "1"}], "note": "顧客 é"}

    assert encode(body) == dumps(body).encode("utf-8")
    assert json.loads(encode(body)) == body


def test_other_keys_are_written_as_text_like_the_standard_library() -> None:
    """`json.dumps` writes a number key as text; so does the codec."""
    assert json.loads(dumps({1: "a"})) == json.loads(json.dumps({1: "a"}))


@dataclass
class _Point:
    x: int


@pytest.mark.parametrize(
    "value",
    [pytest.param(datetime(2026, 1, 1, tzinfo=UTC), id="datetime"), pytest.param(_Point(1))],
)
def test_values_without_a_json_type_are_refused(value: object) -> None:
    """As `json.dumps` refuses them: a mapper bug shows instead of storing a silent string."""
    with pytest.raises(TypeError):
        dumps({"value": value})
