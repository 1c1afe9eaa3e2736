"""The neutral sandbox world projected onto HubSpot objects, properties and associations."""

from datetime import UTC, datetime, time
from typing import TYPE_CHECKING

from worker.sandbox.hubspot import associations as assoc
from worker.sandbox.hubspot.catalog import DEAL_PIPELINE, TICKET_PIPELINE, timezone_option
from worker.sandbox.hubspot.objects import COMPANIES, CONTACTS, DEALS, TICKETS
from worker.sandbox.hubspot.owners import Owner, Team
from worker.sandbox.hubspot.timefmt import iso_date, iso_ms
from worker.sandbox.world import Company, Person, Renewal, SupportCase, User, World

if TYPE_CHECKING:
    from worker.sandbox.hubspot.portal import HubSpotPortal

# Case status -> default ticket pipeline stage (1 New, 2 Waiting on contact, 3 Waiting on us,
# 4 Closed); renewal stage -> default deal pipeline stage.
TICKET_STAGE_FOR_STATUS = {"New": "1", "Working": "2", "Escalated": "3", "Closed": "4"}
DEAL_STAGE_FOR_STAGE = {
    "Prospecting": "qualifiedtobuy",
    "Negotiation": "contractsent",
    "Closed Won": "closedwon",
    "Closed Lost": "closedlost",
}
OWNER_ID_BASE = 70_000_000
USER_ID_BASE = 9_000_000
TEAM_ID_BASE = 400_000
PRIMARY_CONTACT_COMPANY = 1
PRIMARY_DEAL_COMPANY = 5
DEAL_CONTACT = 3
DEAL_STAKEHOLDER_ROLES = ("Decision Maker", "Executive Sponsor", "Champion")
"""Roles whose holders a renewal deal is associated with (else the company's first contact)."""
STAKEHOLDERS_PER_DEAL = 2
TICKET_CONTACT = 16
PRIMARY_TICKET_COMPANY = 26


def owner_id(user_key: int) -> str:
    """The owner id a world user gets."""
    return str(OWNER_ID_BASE + user_key)


def project(portal: "HubSpotPortal", world: World) -> None:
    """Load every world entity into the portal (owners first: records point at them)."""
    portal.set_owners(_owners(world.users))
    _add_time_zones(portal, world.people)
    companies = {company.key: _company(portal, company) for company in world.companies}
    owners_by_company = {company.key: owner_id(company.owner_key) for company in world.companies}
    contacts = {
        person.key: _contact(portal, person, companies, owners_by_company)
        for person in world.people
    }
    for case in world.cases:
        _ticket(portal, case, companies, contacts, owners_by_company)
    stakeholders = _stakeholders(world.people, contacts)
    for renewal in world.renewals:
        _deal(portal, renewal, companies, stakeholders.get(renewal.company_key, []))


def _owners(users: list[User]) -> list[Owner]:
    by_key = {user.key: user for user in users}
    owners = []
    for user in users:
        lead = by_key.get(user.manager_key) if user.manager_key is not None else user
        lead = lead or user
        team = Team(str(TEAM_ID_BASE + lead.key), f"{lead.last_name} team", primary=True)
        epoch = datetime(2020, 1, 6, 9, 0, tzinfo=UTC)
        owners.append(
            Owner(
                owner_id(user.key),
                USER_ID_BASE + user.key,
                user.email,
                user.first_name,
                user.last_name,
                (team,),
                epoch,
                epoch,
            )
        )
    return owners


def _add_time_zones(portal: "HubSpotPortal", people: list[Person]) -> None:
    catalog = portal.catalog(CONTACTS)
    prop = catalog.properties["hs_timezone"]
    known = {option.value for option in prop.options}
    extra = []
    for zone in sorted({person.time_zone for person in people}):
        option = timezone_option(zone)
        if option.value not in known:
            known.add(option.value)
            extra.append(option)
    catalog.add(prop.with_options((*prop.options, *extra)))


def _company(portal: "HubSpotPortal", company: Company) -> str:
    values = {
        "name": company.name,
        "domain": company.domain,
        "hubspot_owner_id": owner_id(company.owner_key),
        "plan": company.plan,
        "annualrevenue": str(company.arr),
        "industry": company.industry,
        "country": company.country,
        "onboarding_status": company.onboarding_status,
        "renewal_date": iso_date(company.renewal_date),
    }
    if company.onboarding_completed_at is not None:
        values["onboarding_completed_at"] = iso_ms(company.onboarding_completed_at)
    record = portal.store.insert(COMPANIES, values, company.created_at, company.modified_at)
    portal.world_ids[(COMPANIES.name, company.key)] = record.id
    return record.id


def _contact(
    portal: "HubSpotPortal",
    person: Person,
    companies: dict[int, str],
    owners_by_company: dict[int, str],
) -> str:
    company_id = companies[person.company_key]
    values = {
        "firstname": person.first_name,
        "lastname": person.last_name,
        "jobtitle": person.role,
        "hs_language": person.language,
        "hs_timezone": timezone_option(person.time_zone).value,
        "hs_email_optout": "true" if person.opted_out else "false",
        "hubspot_owner_id": owners_by_company[person.company_key],
        "associatedcompanyid": company_id,
    }
    if person.email is not None:
        values["email"] = person.email
    record = portal.store.insert(CONTACTS, values, person.created_at, person.modified_at)
    portal.graph.add(assoc.ASSOCIATION_TYPES[PRIMARY_CONTACT_COMPANY], record.id, company_id)
    portal.world_ids[(CONTACTS.name, person.key)] = record.id
    return record.id


def _ticket(
    portal: "HubSpotPortal",
    case: SupportCase,
    companies: dict[int, str],
    contacts: dict[int, str],
    owners_by_company: dict[int, str],
) -> None:
    values = {
        "subject": case.subject,
        "hs_pipeline": TICKET_PIPELINE,
        "hs_pipeline_stage": TICKET_STAGE_FOR_STATUS[case.status],
        "hs_ticket_priority": case.priority.upper(),
        "hubspot_owner_id": owners_by_company[case.company_key],
    }
    if case.closed_at is not None:
        values["closed_date"] = iso_ms(case.closed_at)
    record = portal.store.insert(TICKETS, values, case.opened_at, case.modified_at)
    portal.graph.add(assoc.ASSOCIATION_TYPES[TICKET_CONTACT], record.id, contacts[case.person_key])
    portal.graph.add(
        assoc.ASSOCIATION_TYPES[PRIMARY_TICKET_COMPANY], record.id, companies[case.company_key]
    )
    portal.world_ids[(TICKETS.name, case.key)] = record.id


def _stakeholders(people: list[Person], contacts: dict[int, str]) -> dict[int, list[str]]:
    """Per company, the contacts its renewal deals are associated with."""
    by_company: dict[int, list[Person]] = {}
    for person in people:
        by_company.setdefault(person.company_key, []).append(person)
    chosen: dict[int, list[str]] = {}
    for company_key, staff in by_company.items():
        ranked = sorted(
            staff,
            key=lambda p: (p.role not in DEAL_STAKEHOLDER_ROLES, p.key),
        )
        chosen[company_key] = [contacts[p.key] for p in ranked[:STAKEHOLDERS_PER_DEAL]]
    return chosen


def _deal(
    portal: "HubSpotPortal", renewal: Renewal, companies: dict[int, str], stakeholders: list[str]
) -> None:
    close = datetime.combine(renewal.close_date, time(0), tzinfo=UTC)
    values = {
        "dealname": renewal.name,
        "dealstage": DEAL_STAGE_FOR_STAGE[renewal.stage],
        "pipeline": DEAL_PIPELINE,
        "amount": str(renewal.amount),
        "closedate": iso_ms(close),
        "renewal_date": iso_date(renewal.close_date),
        "hubspot_owner_id": owner_id(renewal.owner_key),
    }
    record = portal.store.insert(DEALS, values, renewal.created_at, renewal.modified_at)
    portal.graph.add(
        assoc.ASSOCIATION_TYPES[PRIMARY_DEAL_COMPANY], record.id, companies[renewal.company_key]
    )
    for contact_id in stakeholders:
        portal.graph.add(assoc.ASSOCIATION_TYPES[DEAL_CONTACT], record.id, contact_id)
    portal.world_ids[(DEALS.name, renewal.key)] = record.id
