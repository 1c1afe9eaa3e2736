"""Projects the neutral sandbox world into Salesforce records (User, Account, Contact, Case,
Opportunity), the way an org that has used Salesforce for years would hold that book of business.
"""

from datetime import datetime

from worker.sandbox.salesforce.permissions import FieldAccess, PermissionSet
from worker.sandbox.salesforce.schema import CASE_ORIGINS, CASE_REASONS, SCHEMA
from worker.sandbox.salesforce.store import RecordStore
from worker.sandbox.world import World

INTEGRATION_USERNAME = "integration@northstar-saas.example"
ADMIN_USERNAME = "admin@northstar-saas.example"
ORG_DATA_ACCESS = PermissionSet(
    "Northstar_Data_Access",
    fields={
        f"{definition.name}.{field.name}": FieldAccess(readable=True)
        for definition in SCHEMA.values()
        for field in definition.fields
        if field.custom and not field.name.startswith("NPS_")
    },
)
"""Read access the org's admin gave the integration user on the org's own custom fields (plan,
ARR, onboarding, renewal date, language, time zone), which `salesforce/` does not deploy."""


def create_integration_user(store: RecordStore, *, at: datetime) -> str:
    """Insert the API-only user every login runs as; returns its id."""
    return _create_user(store, INTEGRATION_USERNAME, "Integration", "API integration", at=at)


def create_admin_user(store: RecordStore, *, at: datetime) -> str:
    """Insert the org's System Administrator (tests and the time machine act as them)."""
    return _create_user(store, ADMIN_USERNAME, "Admin", "System administrator", at=at)


def _create_user(store: RecordStore, username: str, first: str, title: str, *, at: datetime) -> str:
    with store.lock:
        record = store.insert(
            "User",
            {
                "Username": username,
                "FirstName": first,
                "LastName": "User",
                "Email": username,
                "Title": title,
                "IsActive": True,
            },
            at=at,
            by=None,
        )
        return str(record["Id"])


def load_world(store: RecordStore, world: World, *, by: str, at: datetime) -> None:
    """Insert the world's records, as loaded by the user `by` (the integration user)."""
    with store.lock:
        users = _load_users(store, world, by, at)
        accounts = _load_accounts(store, world, users)
        contacts = _load_contacts(store, world, accounts, users)
        _load_cases(store, world, accounts, contacts)
        _load_renewals(store, world, accounts, users, _primary_contacts(world, contacts))


def _load_users(store: RecordStore, world: World, by: str, at: datetime) -> dict[int, str]:
    ids: dict[int, str] = {}
    for user in world.users:
        record = store.insert(
            "User",
            {
                "Username": user.email,
                "FirstName": user.first_name,
                "LastName": user.last_name,
                "Email": user.email,
                "Title": user.title,
                "IsActive": True,
                "LanguageLocaleKey": "ja" if user.language == "ja" else "en_US",
                "TimeZoneSidKey": "Asia/Tokyo" if user.language == "ja" else "America/New_York",
                "CreatedDate": at,
                "LastModifiedDate": at,
            },
            at=at,
            by=by,
        )
        ids[user.key] = record["Id"]
    for user in world.users:
        if user.manager_key is not None:
            store.table("User")[ids[user.key]]["ManagerId"] = ids[user.manager_key]
    return ids


def _load_accounts(store: RecordStore, world: World, users: dict[int, str]) -> dict[int, str]:
    ids: dict[int, str] = {}
    for company in world.companies:
        completed = company.onboarding_completed_at
        record = store.insert(
            "Account",
            {
                "Name": company.name,
                "Type": "Customer - Channel" if company.key % 5 == 0 else "Customer - Direct",
                "Industry": company.industry,
                "BillingCountry": company.country,
                "Website": f"https://{company.domain}",
                "OwnerId": users[company.owner_key],
                "Plan__c": company.plan,
                "ARR__c": float(company.arr),
                "AnnualRevenue": float(company.arr),
                "Onboarding_Status__c": company.onboarding_status,
                "Onboarding_Completed_Date__c": completed.date() if completed else None,
                "Renewal_Date__c": company.renewal_date,
                "CreatedDate": company.created_at,
                "LastModifiedDate": company.modified_at,
            },
            at=company.modified_at,
            by=users[company.owner_key],
        )
        ids[company.key] = record["Id"]
    return ids


def _load_contacts(
    store: RecordStore,
    world: World,
    accounts: dict[int, str],
    users: dict[int, str],
) -> dict[int, str]:
    owners = {company.key: users[company.owner_key] for company in world.companies}
    ids: dict[int, str] = {}
    for person in world.people:
        record = store.insert(
            "Contact",
            {
                "FirstName": person.first_name,
                "LastName": person.last_name,
                "Email": person.email,
                "AccountId": accounts[person.company_key],
                "OwnerId": owners[person.company_key],
                "Title": person.role,
                "HasOptedOutOfEmail": person.opted_out,
                "Language__c": person.language,
                "Time_Zone__c": person.time_zone,
                "CreatedDate": person.created_at,
                "LastModifiedDate": person.modified_at,
            },
            at=person.modified_at,
            by=owners[person.company_key],
        )
        ids[person.key] = record["Id"]
    return ids


def _load_cases(
    store: RecordStore,
    world: World,
    accounts: dict[int, str],
    contacts: dict[int, str],
) -> None:
    owners = {
        company.key: store.table("Account")[accounts[company.key]]["OwnerId"]
        for company in world.companies
    }
    for case in world.cases:
        store.insert(
            "Case",
            {
                "Subject": case.subject,
                "Status": case.status,
                "Priority": case.priority,
                "Origin": CASE_ORIGINS[case.key % len(CASE_ORIGINS)],
                "Type": "Other",
                "Reason": CASE_REASONS[case.key % len(CASE_REASONS)],
                "ContactId": contacts[case.person_key],
                "AccountId": accounts[case.company_key],
                "OwnerId": owners[case.company_key],
                "ClosedDate": case.closed_at,
                "CreatedDate": case.opened_at,
                "LastModifiedDate": case.modified_at,
            },
            at=case.modified_at,
            by=owners[case.company_key],
        )


def _primary_contacts(world: World, contacts: dict[int, str]) -> dict[int, str]:
    """Each company's first person with an e-mail address: the renewal's primary contact."""
    primary: dict[int, str] = {}
    for person in world.people:
        if person.email and person.company_key not in primary:
            primary[person.company_key] = contacts[person.key]
    return primary


def _load_renewals(
    store: RecordStore,
    world: World,
    accounts: dict[int, str],
    users: dict[int, str],
    primary_contacts: dict[int, str],
) -> None:
    for renewal in world.renewals:
        store.insert(
            "Opportunity",
            {
                "Name": renewal.name,
                "StageName": renewal.stage,
                "Amount": float(renewal.amount),
                "CloseDate": renewal.close_date,
                "AccountId": accounts[renewal.company_key],
                "ContactId": primary_contacts.get(renewal.company_key),
                "OwnerId": users[renewal.owner_key],
                "Type": "Existing Customer - Upgrade",
                "Renewal_Date__c": renewal.close_date,
                "CreatedDate": renewal.created_at,
                "LastModifiedDate": renewal.modified_at,
            },
            at=renewal.modified_at,
            by=users[renewal.owner_key],
        )
