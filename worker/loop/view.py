"""The mirror as the rules see it: store rows turned into domain values, and audience fields.

Audiences and exclusions test `contact.X` / `account.X`; those fields are mirrored as trigger
records of the contact and account objects (see `sync/link.py`), so their values are read here.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from worker import domain
from worker.config import Config
from worker.rules.conditions import qualified
from worker.rules.values import as_datetime
from worker.store.models import Account, Contact, TriggerRecord


def contact_of(row: Contact) -> domain.Contact:
    """A mirrored contact row as the domain value rules read."""
    fields = row.fields or {}
    return domain.Contact(
        crm=row.crm.value,
        crm_id=row.crm_id,
        email=row.email,
        first_name=row.first_name,
        last_name=row.last_name,
        account_crm_id=row.account_crm_id,
        owner_id=row.owner_crm_id,
        language=row.language,
        time_zone=row.time_zone,
        opted_out=row.opted_out,
        modified_at=row.modified_at,
        segments=dict(fields.get("segments", {})),
        crm_values=dict(fields.get("crm_values", {})),
        deleted=row.deleted,
    )


def account_of(row: Account) -> domain.Account:
    """A mirrored account row as the domain value rules read."""
    fields = row.fields or {}
    return domain.Account(
        crm=row.crm.value,
        crm_id=row.crm_id,
        name=row.name or "",
        owner_id=row.owner_crm_id,
        modified_at=row.modified_at,
        segments=dict(fields.get("segments", {})),
        crm_values=dict(fields.get("crm_values", {})),
        deleted=row.deleted,
        customer_since=as_datetime(fields.get("customer_since")),
    )


def record_values(
    session: Session, crm: str, object_name: str, crm_ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Mirrored field values of records of one object, by CRM id."""
    ids = set(crm_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(TriggerRecord.crm_id, TriggerRecord.values).where(
            TriggerRecord.crm == crm,
            TriggerRecord.object == object_name,
            TriggerRecord.crm_id.in_(ids),
        )
    )
    return {crm_id: dict(values) for crm_id, values in rows}


def audience_values(
    contact: domain.Contact,
    account: domain.Account | None,
    contact_fields: Mapping[str, Any],
    account_fields: Mapping[str, Any],
) -> dict[str, Any]:
    """`contact.X` and `account.X` values: tested fields first, mirrored segments beneath."""
    contact_side = {**contact.segments, **contact_fields}
    account_side = {**(account.segments if account else {}), **account_fields}
    return qualified(contact_side, account_side)


def contacts_by_crm_id(session: Session, crm: str, crm_ids: Sequence[str]) -> dict[str, Contact]:
    """Mirrored contact rows by CRM id, in one query."""
    if not crm_ids:
        return {}
    rows = session.scalars(
        select(Contact).where(Contact.crm == crm, Contact.crm_id.in_(set(crm_ids)))
    )
    return {row.crm_id: row for row in rows}


def accounts_by_crm_id(session: Session, crm: str, crm_ids: Iterable[str]) -> dict[str, Account]:
    """Mirrored account rows by CRM id, in one query."""
    ids = {crm_id for crm_id in crm_ids if crm_id}
    if not ids:
        return {}
    rows = session.scalars(select(Account).where(Account.crm == crm, Account.crm_id.in_(ids)))
    return {row.crm_id: row for row in rows}


def record_of(row: TriggerRecord) -> domain.TriggerRecord:
    """A mirrored trigger record row as the domain value rules read."""
    return domain.TriggerRecord(
        crm=row.crm.value,
        object=row.object,
        crm_id=row.crm_id,
        modified_at=row.modified_at,
        values=dict(row.values),
        contact_crm_id=row.contact_crm_id,
        account_crm_id=row.account_crm_id,
        deleted=row.deleted,
    )


def record_objects(config: Config) -> tuple[str, str]:
    """The CRM object names of accounts and contacts, as their trigger records are mirrored."""
    active = config.crm.salesforce if config.crm.kind == "salesforce" else config.crm.hubspot
    return active.account.object, active.contact.object


def values_for(
    session: Session, config: Config, contact: domain.Contact, account: domain.Account | None
) -> dict[str, Any]:
    """The `contact.X` / `account.X` values audiences, exclusions and follow-up rules test,
    read in one query (every answer handled and every survey planned asks)."""
    account_object, contact_object = record_objects(config)
    wanted = [(contact_object, contact.crm_id)]
    if account is not None:
        wanted.append((account_object, account.crm_id))
    rows = session.execute(
        select(TriggerRecord.object, TriggerRecord.crm_id, TriggerRecord.values).where(
            TriggerRecord.crm == contact.crm,
            or_(
                *(
                    (TriggerRecord.object == name) & (TriggerRecord.crm_id == crm_id)
                    for name, crm_id in wanted
                )
            ),
        )
    )
    found = {(name, crm_id): dict(values) for name, crm_id, values in rows}
    return audience_values(
        contact,
        account,
        found.get((contact_object, contact.crm_id), {}),
        found.get((account_object, account.crm_id), {}) if account else {},
    )


def account_for(session: Session, contact: domain.Contact) -> Account | None:
    """The mirrored account row of a contact, if its account is mirrored."""
    crm_id = contact.account_crm_id or ""
    return accounts_by_crm_id(session, contact.crm, [crm_id]).get(crm_id)
