"""One configured CRM bound to its field mapping: what to pull and how write-backs are spelt.

The cycle speaks domain types (`ContactWriteback`, `AccountRollup`); a `CrmLink` turns them into
this CRM's field updates and names the objects to pull, so the cycle never branches on a vendor.
"""

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from worker.config import Config
from worker.domain import AccountRollup, ContactWriteback, TriggerRecord
from worker.mappers import hubspot as hs
from worker.mappers import salesforce as sf
from worker.mappers.hubspot import TriggerMapping
from worker.sync.base import CrmClient, CrmRecord, FieldUpdate
from worker.sync.pull import PullTarget

ContactUpdate = Callable[[str, ContactWriteback, Mapping[str, Any], str], FieldUpdate | None]
AccountUpdate = Callable[[str, AccountRollup, Mapping[str, Any], str], FieldUpdate | None]
TaskOwnerUpdate = Callable[[str, str, str], FieldUpdate]
Values = TypeVar("Values", ContactWriteback, AccountRollup)
VendorFields = TypeVar("VendorFields", sf.SalesforceMapping, hs.HubSpotMapping)
"""(task id, new owner id, dedup key) -> the update that reassigns a follow-up task."""


@dataclass(frozen=True)
class VendorMapping:
    """What a link needs of a vendor mapping, independent of the client."""

    targets: tuple[PullTarget, ...]
    contact_update: ContactUpdate
    account_update: AccountUpdate
    task_owner_update: TaskOwnerUpdate


@dataclass(frozen=True)
class CrmLink:
    """A logged-in client and the mapping it is used with."""

    client: CrmClient
    targets: tuple[PullTarget, ...]
    contact_update: ContactUpdate
    account_update: AccountUpdate
    task_owner_update: TaskOwnerUpdate
    config: Config
    """This CRM's config: its programs, follow-up rules and field mapping."""

    @property
    def name(self) -> str:
        """The CRM's name as stored on mirrored rows (`salesforce`, `hubspot`)."""
        return self.client.name


def mapping_for(config: Config) -> VendorMapping:
    """Pull targets (accounts, contacts, then trigger objects) and write-back builders."""
    if config.crm.kind == "salesforce":
        return _salesforce(config)
    return _hubspot(config)


def link(config: Config, client: CrmClient) -> CrmLink:
    """Bind a connected client to the mapping its config describes."""
    mapping = mapping_for(config)
    return CrmLink(
        client,
        mapping.targets,
        mapping.contact_update,
        mapping.account_update,
        mapping.task_owner_update,
        config,
    )


def _salesforce(config: Config) -> VendorMapping:
    mapping = sf.mapping_from_config(config, config.program_fields())
    fields = mapping.read_fields()
    account, contact = mapping.account, mapping.contact
    own = {t.object: partial(sf.to_trigger, mapping=t) for t in mapping.triggers}
    targets = [
        PullTarget(
            account.object,
            "account",
            fields[account.object],
            partial(sf.to_account, mapping=account),
            own.pop(account.object, None),
        ),
        PullTarget(
            contact.object,
            "contact",
            fields[contact.object],
            partial(sf.to_contact, mapping=contact),
            own.pop(contact.object, None),
        ),
    ]
    targets += [
        PullTarget(name, "trigger", fields[name], to_trigger) for name, to_trigger in own.items()
    ]
    return VendorMapping(
        tuple(targets),
        _bound(sf.contact_update, mapping),
        _bound(sf.account_update, mapping),
        sf.task_owner_update,
    )


def _hubspot(config: Config) -> VendorMapping:
    mapping = hs.mapping_from_config(config)
    tested = config.program_fields()
    own = {
        name: TriggerMapping(
            tuple(sorted(tested[name])),
            contact_property="hs_object_id" if name == hs.CONTACTS else None,
            account_property="hs_object_id" if name == hs.COMPANIES else mapping.contact_company,
        )
        for name in (hs.COMPANIES, hs.CONTACTS)
        if name in tested
    }
    tested_triggers = {
        name: dataclasses.replace(
            trigger,
            properties=tuple(dict.fromkeys((*trigger.properties, *sorted(tested.get(name, ()))))),
        )
        for name, trigger in mapping.triggers.items()
    }
    mapping = dataclasses.replace(mapping, triggers={**tested_triggers, **own})

    def fields(name: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*hs.pull_properties(mapping, name), *own_fields(name))))

    def own_fields(name: str) -> tuple[str, ...]:
        return own[name].properties if name in own else ()

    def own_trigger(name: str) -> Callable[[CrmRecord], TriggerRecord] | None:
        return partial(hs.to_trigger, mapping=mapping) if name in own else None

    targets = [
        PullTarget(
            hs.COMPANIES,
            "account",
            fields(hs.COMPANIES),
            partial(hs.to_account, mapping=mapping),
            own_trigger(hs.COMPANIES),
        ),
        PullTarget(
            hs.CONTACTS,
            "contact",
            fields(hs.CONTACTS),
            partial(hs.to_contact, mapping=mapping),
            own_trigger(hs.CONTACTS),
        ),
    ]
    targets += [
        PullTarget(
            name,
            "trigger",
            hs.pull_properties(mapping, name),
            partial(hs.to_trigger, mapping=mapping),
        )
        for name in mapping.triggers
        if name not in own
    ]
    return VendorMapping(
        tuple(targets),
        _bound(hs.contact_update, mapping),
        _bound(hs.account_update, mapping),
        hs.task_owner_update,
    )


def _bound(
    build: Callable[[str, Values, Mapping[str, Any], VendorFields, str], FieldUpdate | None],
    mapping: VendorFields,
) -> Callable[[str, Values, Mapping[str, Any], str], FieldUpdate | None]:
    """A mapper's write-back builder with this CRM's field mapping filled in."""

    def update(
        record_id: str, values: Values, known: Mapping[str, Any], key: str
    ) -> FieldUpdate | None:
        return build(record_id, values, known, mapping, key)

    return update
