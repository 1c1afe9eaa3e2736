"""Owners (`/crm/v3/owners`): the CRM users records are assigned to."""

from dataclasses import dataclass
from datetime import datetime

from worker.sandbox.hubspot.timefmt import iso_ms

# Owner shape: https://developers.hubspot.com/docs/api/crm/owners (PublicOwner).


@dataclass(frozen=True)
class Team:
    """A team an owner belongs to."""

    id: str
    name: str
    primary: bool

    def to_json(self) -> dict[str, object]:
        """The team as the owners API nests it."""
        return {"id": self.id, "name": self.name, "primary": self.primary}


@dataclass(frozen=True)
class Owner:
    """One owner: a HubSpot user records can be assigned to."""

    id: str
    user_id: int
    email: str
    first_name: str
    last_name: str
    teams: tuple[Team, ...]
    created_at: datetime
    updated_at: datetime
    archived: bool = False

    def to_json(self) -> dict[str, object]:
        """The owner as `GET /crm/v3/owners` returns it."""
        return {
            "id": self.id,
            "email": self.email,
            "type": "PERSON",
            "firstName": self.first_name,
            "lastName": self.last_name,
            "userId": self.user_id,
            "userIdIncludingInactive": self.user_id,
            "createdAt": iso_ms(self.created_at),
            "updatedAt": iso_ms(self.updated_at),
            "archived": self.archived,
            "teams": [team.to_json() for team in self.teams],
        }
