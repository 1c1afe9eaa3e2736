"""How search compares stored values: numbers as numbers, dates in time order, text caselessly."""

import functools

from worker.sandbox.hubspot.timefmt import iso_ms, parse_instant

Key = tuple[float, str]

# Search filters take dates as epoch milliseconds or ISO 8601 and compare them in time order
# (https://developers.hubspot.com/docs/api/crm/search, "Filter search results").
_ISO_MS_LENGTH = len("2025-01-01T00:00:00.000Z")


def sort_key(property_type: str, raw: str) -> Key:
    """The comparable form of a value of a property of `property_type`.

    Raises ValueError when `raw` is not a value of that type.
    """
    if property_type == "number":
        return float(raw), ""
    if property_type == "datetime":
        return 0.0, _canonical_instant(raw)
    if property_type == "date":
        return 0.0, _canonical_instant(raw)[:10]
    return 0.0, raw.lower()


def _canonical_instant(raw: str) -> str:
    """Epoch milliseconds or ISO as the stored ISO-with-ms-Z form, which sorts in time order."""
    if len(raw) == _ISO_MS_LENGTH and raw[10] == "T" and raw.endswith("Z"):
        return raw  # stored values are already canonical (properties.py normalises writes)
    return _parse_to_canonical(raw)


@functools.lru_cache(maxsize=4096)
def _parse_to_canonical(raw: str) -> str:
    return iso_ms(parse_instant(raw))
