"""Salesforce record ids: 15-character case-sensitive ids plus the 3-character case-safe suffix."""

import itertools
import re
import threading

# Case-safe suffix algorithm, as documented for the CASESAFEID() formula function and in
# "What is a Salesforce ID" (help.salesforce.com, knowledge article 000385008).
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_SHAPE = re.compile(r"^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$")
_POD = "5g0"
_SERIAL_WIDTH = 9


def case_safe_suffix(id15: str) -> str:
    """The three characters Salesforce appends so an id survives case-insensitive systems."""
    suffix = ""
    for chunk_start in range(0, 15, 5):
        bits = 0
        for position, char in enumerate(id15[chunk_start : chunk_start + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def normalize_id(value: str) -> str | None:
    """The 18-character form of a well-formed 15- or 18-character id, or None when malformed."""
    if not _ID_SHAPE.match(value):
        return None
    id15 = value[:15]
    suffix = case_safe_suffix(id15)
    if len(value) == 18 and value[15:].upper() != suffix:
        return None
    return id15 + suffix


class IdFactory:
    """Issues realistic, unique, deterministic 18-character ids per key prefix."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._serials: dict[str, itertools.count[int]] = {}

    def next_id(self, key_prefix: str) -> str:
        """A new id for an object whose key prefix is `key_prefix` (e.g. '003' for Contact)."""
        with self._lock:
            serial = next(self._serials.setdefault(key_prefix, itertools.count(1)))
        id15 = key_prefix + _POD + _base62(serial, _SERIAL_WIDTH)
        return id15 + case_safe_suffix(id15)


def _base62(number: int, width: int) -> str:
    digits = ""
    while number:
        number, remainder = divmod(number, 62)
        digits = _BASE62[remainder] + digits
    return digits.rjust(width, "0")
