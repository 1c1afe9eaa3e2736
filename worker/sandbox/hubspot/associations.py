"""HubSpot-defined association types and the association graph between records."""

import functools
from collections import defaultdict
from dataclasses import dataclass

from worker.sandbox.hubspot.errors import HubSpotError
from worker.sandbox.hubspot.objects import COMPANIES, CONTACTS, DEALS, NOTES, TASKS, TICKETS

HUBSPOT_DEFINED = "HUBSPOT_DEFINED"


@dataclass(frozen=True)
class AssociationType:
    """One directed association type: from one object type to another, maybe labelled."""

    from_type: str
    to_type: str
    type_id: int
    inverse_id: int
    label: str | None  # None: the unlabelled (default) association

    def to_json(self) -> dict[str, object]:
        """The type as `GET /crm/v4/associations/{from}/{to}/labels` lists it."""
        return {"category": HUBSPOT_DEFINED, "typeId": self.type_id, "label": self.label}


# HubSpot-defined type ids, both directions, from the v4 associations guide's table
# ("Association type id values"): https://developers.hubspot.com/docs/api/crm/associations
# (pairs are (forward id, inverse id); "Primary" is the labelled company association).
_PAIRS: tuple[tuple[str, str, int, int, str | None], ...] = (
    (CONTACTS.name, COMPANIES.name, 279, 280, None),
    (CONTACTS.name, COMPANIES.name, 1, 2, "Primary"),
    (DEALS.name, CONTACTS.name, 3, 4, None),
    (DEALS.name, COMPANIES.name, 341, 342, None),
    (DEALS.name, COMPANIES.name, 5, 6, "Primary"),
    (TICKETS.name, CONTACTS.name, 16, 15, None),
    (TICKETS.name, COMPANIES.name, 339, 340, None),
    (TICKETS.name, COMPANIES.name, 26, 25, "Primary"),
    (TICKETS.name, DEALS.name, 28, 27, None),
    (TASKS.name, CONTACTS.name, 204, 203, None),
    (TASKS.name, COMPANIES.name, 192, 191, None),
    (TASKS.name, DEALS.name, 216, 215, None),
    (TASKS.name, TICKETS.name, 230, 229, None),
    (NOTES.name, CONTACTS.name, 202, 201, None),
    (NOTES.name, COMPANIES.name, 190, 189, None),
    (NOTES.name, DEALS.name, 214, 213, None),
    (NOTES.name, TICKETS.name, 228, 227, None),
)


def _build() -> dict[int, AssociationType]:
    table: dict[int, AssociationType] = {}
    for from_type, to_type, forward, inverse, label in _PAIRS:
        table[forward] = AssociationType(from_type, to_type, forward, inverse, label)
        table[inverse] = AssociationType(to_type, from_type, inverse, forward, label)
    return table


ASSOCIATION_TYPES: dict[int, AssociationType] = _build()


def types_between(from_type: str, to_type: str) -> list[AssociationType]:
    """Every association type from one object type to another (unlabelled first)."""
    found = [
        kind
        for kind in ASSOCIATION_TYPES.values()
        if kind.from_type == from_type and kind.to_type == to_type
    ]
    return sorted(found, key=lambda kind: (kind.label is not None, kind.type_id))


@functools.cache
def default_type(from_type: str, to_type: str) -> AssociationType:
    """The unlabelled type `batch/associate/default` creates between two object types."""
    for kind in types_between(from_type, to_type):
        if kind.label is None:
            return kind
    raise HubSpotError(
        400,
        "VALIDATION_ERROR",
        f"No association types exist between {from_type} and {to_type}.",
        context={"fromObjectType": [from_type], "toObjectType": [to_type]},
    )


def lookup(type_id: int, from_type: str, category: str = HUBSPOT_DEFINED) -> AssociationType:
    """The association type with this id starting at `from_type`, or a 400 naming it."""
    kind = ASSOCIATION_TYPES.get(type_id)
    if category != HUBSPOT_DEFINED or kind is None or kind.from_type != from_type:
        raise HubSpotError(
            400,
            "VALIDATION_ERROR",
            f"{category} association type {type_id} is not valid from {from_type}.",
            context={"associationTypeId": [str(type_id)]},
        )
    return kind


Edge = tuple[str, str, str, str]  # (from type, from id, to type, to id)


class AssociationGraph:
    """Associations between records, kept in both directions as HubSpot does."""

    def __init__(self) -> None:
        self._types: dict[Edge, set[int]] = {}
        self._targets: dict[tuple[str, str, str], dict[str, None]] = defaultdict(dict)
        self._linked_types: dict[tuple[str, str], set[str]] = defaultdict(set)  # record -> to types

    def add(self, kind: AssociationType, from_id: str, to_id: str) -> None:
        """Associate two records with `kind` (a labelled type implies the unlabelled one)."""
        kinds = [kind]
        if kind.label is not None:
            kinds.append(default_type(kind.from_type, kind.to_type))
        for each in kinds:
            self._add_one(each, from_id, to_id)
            self._add_one(ASSOCIATION_TYPES[each.inverse_id], to_id, from_id)

    def _add_one(self, kind: AssociationType, from_id: str, to_id: str) -> None:
        edge = (kind.from_type, from_id, kind.to_type, to_id)
        self._types.setdefault(edge, set()).add(kind.type_id)
        self._targets[(kind.from_type, from_id, kind.to_type)][to_id] = None
        self._linked_types[(kind.from_type, from_id)].add(kind.to_type)

    def targets(self, from_type: str, from_id: str, to_type: str) -> list[tuple[str, list[int]]]:
        """Records of `to_type` associated with one record, with the type ids of each link."""
        found = self._targets.get((from_type, from_id, to_type), {})
        return [
            (to_id, sorted(self._types[(from_type, from_id, to_type, to_id)])) for to_id in found
        ]

    def remove_record(self, type_name: str, record_id: str) -> None:
        """Drop every association of a record (it was archived)."""
        for to_type in self._linked_types.pop((type_name, record_id), set()):
            for to_id in self._targets.pop((type_name, record_id, to_type), {}):
                self._types.pop((type_name, record_id, to_type, to_id), None)
                self._types.pop((to_type, to_id, type_name, record_id), None)
                self._targets[(to_type, to_id, type_name)].pop(record_id, None)
