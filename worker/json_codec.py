"""JSON on the pull's hot path: orjson's speed, the standard library's tolerance.

A first sync decodes every CRM page and encodes every mirrored record's field mapping; with
the standard library those two cost about a sixth of the worker's CPU. orjson refuses two
things `json` accepts and a CRM may send: a lone surrogate escape (`"\\ud800"`) and the
`NaN`/`Infinity` literals. A page carrying one is read again by `json`, so the one record
holding the value is quarantined by name (`worker.sync.quarantine`) instead of the whole page
failing on every cycle.
"""

import json
from typing import Any

import orjson

_STRICT = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
)
"""Datetimes and dataclasses are refused and other keys written as text, as `json.dumps` does."""


def loads(data: bytes | str) -> Any:
    """A JSON document; what orjson refuses is read by the standard library (see above)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def dumps(value: Any) -> str:
    """`value` as compact JSON text; a value JSON has no type for raises `TypeError`."""
    return encode(value).decode()


def encode(value: Any) -> bytes:
    """`dumps`, as the UTF-8 bytes a request body is sent as."""
    return orjson.dumps(value, option=_STRICT)
