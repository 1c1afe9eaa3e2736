"""Pure HubSpot mappers: records to domain values, write-backs to property updates, `check`."""

from datetime import UTC, datetime
from typing import Any

import pytest

from worker.config import parse_config
from worker.domain import AccountRollup, Category, ContactWriteback
from worker.mappers.hubspot import (
    HubSpotMapping,
    PropertySpec,
    TriggerMapping,
    account_update,
    associations_to_read,
    contact_update,
    field_info,
    field_problems,
    iana_zone,
    mapping_from_config,
    note_input,
    pull_properties,
    required_properties,
    task_input,
    task_owner_update,
    task_status,
    to_account,
    to_contact,
    to_trigger,
)
from worker.sync.base import (
    CrmRecord,
    FieldInfo,
    FieldType,
    FieldUpdate,
    NoteSpec,
    TaskPriority,
    TaskSpec,
    TaskState,
)

AT = datetime(2026, 5, 4, 3, 2, 1, 500_000, tzinfo=UTC)
MAPPING = HubSpotMapping(
    company_segments=("industry",),
    triggers={
        "tickets": TriggerMapping(("hs_pipeline_stage",)),
        "deals": TriggerMapping(("dealstage",), account_property="company_ref"),
    },
    contact_writeback={
        "last_score": "nps_last_score",
        "last_category": "nps_last_category",
        "reason_tags": "nps_reason_tags",
        "last_response_at": "nps_last_response_at",
    },
    account_writeback={"nps_score": "nps_account_score", "response_count": "nps_response_count"},
    reason_tags=(("support", "Support"), ("price", "Price")),
)

# A contact as CRM search returns it (properties are strings; unset ones are null).
CONTACT_RESULT: dict[str, Any] = {
    "email": "aiko@example.com",
    "firstname": "愛子",
    "lastname": "佐藤",
    "associatedcompanyid": "1015",
    "hubspot_owner_id": "70000003",
    "hs_email_optout": "true",
    "hs_language": "ja",
    "hs_timezone": "asia_slash_tokyo",
    "nps_last_score": None,
}


class TestRecordsToDomain:
    """Pulled records become domain values through the mapping's property names."""

    def test_contact(self) -> None:
        """Every mapped contact property lands; opt-out and time zone are decoded."""
        record = CrmRecord("contacts", "1204", AT, CONTACT_RESULT)
        contact = to_contact(record, MAPPING)
        assert (contact.crm, contact.crm_id, contact.email) == (
            "hubspot",
            "1204",
            "aiko@example.com",
        )
        assert (contact.first_name, contact.last_name) == ("愛子", "佐藤")
        assert contact.account_crm_id == "1015"
        assert contact.owner_id == "70000003"
        assert contact.opted_out is True
        assert (contact.language, contact.time_zone) == ("ja", "Asia/Tokyo")
        assert contact.modified_at == AT

    @pytest.mark.parametrize(
        ("stored", "zone"),
        [
            pytest.param("america_slash_new_york", "America/New_York", id="two-words"),
            pytest.param("europe_slash_london", "Europe/London", id="one-word"),
            pytest.param("UTC", "UTC", id="no-slash"),
            pytest.param(None, None, id="unset"),
        ],
    )
    def test_time_zone_options(self, stored: str | None, zone: str | None) -> None:
        """HubSpot's `hs_timezone` option values map back to IANA names."""
        assert iana_zone(stored) == zone

    def test_contact_without_company_property_uses_associations(self) -> None:
        """No `associatedcompanyid` value: the first associated company is the account."""
        fields = {**CONTACT_RESULT, "associatedcompanyid": None, "hs_email_optout": None}
        record = CrmRecord("contacts", "7", AT, fields, associations={"companies": ("88",)})
        contact = to_contact(record, MAPPING)
        assert contact.account_crm_id == "88"
        assert contact.opted_out is False

    def test_company(self) -> None:
        """Name, owner and segment properties come from the mapping."""
        fields = {
            "name": "Acme",
            "hubspot_owner_id": "5",
            "industry": "Software",
            "createdate": "2023-04-01T09:30:00.000Z",
        }
        account = to_account(CrmRecord("companies", "1015", AT, fields, deleted=True), MAPPING)
        assert (account.name, account.owner_id, account.deleted) == ("Acme", "5", True)
        assert account.customer_since == datetime(2023, 4, 1, 9, 30, tzinfo=UTC)
        assert account.segments == {"industry": "Software"}

    @pytest.mark.parametrize(
        ("record", "contact_id", "account_id"),
        [
            pytest.param(
                CrmRecord(
                    "tickets",
                    "1",
                    AT,
                    {"hs_pipeline_stage": "4"},
                    associations={"contacts": ("10", "11"), "companies": ("20",)},
                ),
                "10",
                "20",
                id="ticket-by-associations",
            ),
            pytest.param(
                CrmRecord(
                    "deals",
                    "2",
                    AT,
                    {"dealstage": "closedwon", "company_ref": "30"},
                    associations={"contacts": ("12",)},
                ),
                "12",
                "30",
                id="deal-account-by-property",
            ),
        ],
    )
    def test_trigger(self, record: CrmRecord, contact_id: str, account_id: str) -> None:
        """Trigger records keep only mapped values and find their contact and company."""
        trigger = to_trigger(record, MAPPING)
        assert (trigger.contact_crm_id, trigger.account_crm_id) == (contact_id, account_id)
        assert set(trigger.values) == set(MAPPING.triggers[record.object].properties)

    def test_pull_properties_are_only_the_mapped_ones(self) -> None:
        """A pull asks for mapped properties (write-backs included, to compare), nothing else."""
        assert pull_properties(MAPPING, "companies") == (
            "name",
            "hubspot_owner_id",
            "createdate",
            "industry",
            "nps_account_score",
            "nps_response_count",
        )
        assert pull_properties(MAPPING, "deals") == ("dealstage", "company_ref")
        assert associations_to_read(MAPPING, "deals") == ("contacts",)
        assert associations_to_read(MAPPING, "contacts") == ()


class TestWritebacks:
    """Write-backs become property updates, and equal values are not written (promise 6)."""

    WRITEBACK = ContactWriteback(
        last_score=3,
        last_category=Category.DETRACTOR,
        reason_tags=("support", "price"),
        last_response_at=AT,
    )

    def test_contact_update_formats_values(self) -> None:
        """Numbers, enums, multi-select (`;`) and datetimes (ISO, ms, UTC) as HubSpot stores."""
        update = contact_update("1204", self.WRITEBACK, {}, MAPPING, "resp-1")
        assert update is not None
        assert (update.object, update.record_id, update.dedup_key) == (
            "contacts",
            "1204",
            "resp-1",
        )
        assert update.fields == {
            "nps_last_score": "3",
            "nps_last_category": "detractor",
            "nps_reason_tags": "support;price",
            "nps_last_response_at": "2026-05-04T03:02:01.500Z",
        }

    def test_unchanged_values_are_not_written(self) -> None:
        """What HubSpot already holds (in its own formatting) is skipped."""
        known = {
            "nps_last_score": "3.0",
            "nps_last_category": "detractor",
            "nps_reason_tags": "price;support",
            "nps_last_response_at": str(int(AT.timestamp() * 1000)),
        }
        assert contact_update("1204", self.WRITEBACK, known, MAPPING, "resp-1") is None

    def test_only_changed_values_are_written(self) -> None:
        """A partial change writes only the changed property."""
        known = {
            "nps_last_score": "9",
            "nps_last_category": "detractor",
            "nps_reason_tags": "price;support",
            "nps_last_response_at": "2026-05-04T03:02:01.500Z",
        }
        update = contact_update("1204", self.WRITEBACK, known, MAPPING, "resp-1")
        assert update is not None
        assert update.fields == {"nps_last_score": "3"}

    def test_unmapped_and_unset_values_are_skipped(self) -> None:
        """A write-back attribute without a property, or left None, is not written."""
        writeback = ContactWriteback(last_comment="great", followup_status="open")
        assert contact_update("1", writeback, {}, MAPPING, "k") is None

    def test_polarity_tags(self) -> None:
        """Praised and complained-of tags are multi-selects beside the reason tags."""
        mapping = mapping_from_config(parse_config("crm:\n  kind: hubspot\n", "c.yaml", {}))
        writeback = ContactWriteback(praise_tags=("quality",), complaint_tags=("support", "price"))
        update = contact_update("1", writeback, {}, mapping, "k")
        assert update is not None
        assert update.fields == {
            "nps_praise_tags": "quality",
            "nps_complaint_tags": "support;price",
        }
        known = {"nps_praise_tags": "quality", "nps_complaint_tags": "price;support"}
        assert contact_update("1", writeback, known, mapping, "k") is None
        specs = {spec.name: spec for spec in required_properties(mapping)}
        tags = [value for value, _ in specs["nps_reason_tags"].options]
        assert [value for value, _ in specs["nps_praise_tags"].options] == tags
        assert specs["nps_complaint_tags"].kind is FieldType.MULTI_ENUM

    def test_survey_count_and_trend(self) -> None:
        """The answered-survey count and the signed, one-decimal NPS trend as HubSpot numbers."""
        mapping = mapping_from_config(parse_config("crm:\n  kind: hubspot\n", "c.yaml", {}))
        update = contact_update("1", ContactWriteback(survey_count=4), {}, mapping, "k")
        assert update is not None
        assert update.fields == {"nps_survey_count": "4"}
        assert (
            contact_update(
                "1", ContactWriteback(survey_count=4), {"nps_survey_count": "4.0"}, mapping, "k"
            )
            is None
        )
        rollup = AccountRollup(25.0, 8, 4, 2, 2, None, nps_trend=-12.53)
        known = {
            "nps_account_score": "25",
            "nps_response_count": "8",
            "nps_promoters": "4",
            "nps_passives": "2",
            "nps_detractors": "2",
        }
        update = account_update("1015", rollup, known, mapping, "roll-1")
        assert update is not None
        assert update.fields == {"nps_account_trend": "-12.5"}

    def test_account_rollup(self) -> None:
        """Roll-ups write the mapped company properties; equal ones are skipped."""
        rollup = AccountRollup(25.0, 8, 4, 2, 2, AT)
        update = account_update("1015", rollup, {"nps_response_count": "8"}, MAPPING, "roll-1")
        assert update is not None
        assert update.fields == {"nps_account_score": "25"}


class TestEngagements:
    """Tasks and notes as `batch/create` inputs (https://developers.hubspot.com/docs/api/crm/tasks)."""

    def test_task_input(self) -> None:
        """Due time, subject, body, priority, owner, dedup key, contact and company links."""
        task = TaskSpec("fu-1", "Call back", "Score 2", AT, TaskPriority.HIGH, "77", "10", "20")
        assert task_input(task, "nps_dedup_key") == {
            "properties": {
                "hs_timestamp": "2026-05-04T03:02:01.500Z",
                "hs_task_subject": "Call back",
                "hs_task_body": "Score 2",
                "hs_task_status": "NOT_STARTED",
                "hs_task_priority": "HIGH",
                "hs_task_type": "TODO",
                "nps_dedup_key": "fu-1",
                "hubspot_owner_id": "77",
            },
            "associations": [
                {
                    "to": {"id": "10"},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}],
                },
                {
                    "to": {"id": "20"},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}],
                },
            ],
        }

    def test_note_without_company(self) -> None:
        """A note links to what it has: here only the contact (type 202)."""
        note = note_input(NoteSpec("resp-1", "Score 2", AT, "10", None), "nps_dedup_key")
        assert note["associations"] == [
            {
                "to": {"id": "10"},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}],
            }
        ]
        assert note["properties"]["hs_note_body"] == "Score 2"

    @pytest.mark.parametrize(
        ("status", "state"),
        [
            pytest.param("COMPLETED", TaskState.COMPLETED, id="completed"),
            pytest.param("NOT_STARTED", TaskState.OPEN, id="not-started"),
            pytest.param("DEFERRED", TaskState.OPEN, id="deferred-is-untouched"),
            pytest.param(None, TaskState.OPEN, id="no-status"),
            pytest.param("IN_PROGRESS", TaskState.IN_PROGRESS, id="in-progress"),
            pytest.param("WAITING", TaskState.IN_PROGRESS, id="waiting-on-customer"),
        ],
    )
    def test_task_status(self, status: str | None, state: TaskState) -> None:
        """HubSpot task states fold into open / in progress (contacted) / completed."""
        read = task_status(
            "9",
            {
                "hs_task_status": status,
                "hubspot_owner_id": "77",
                "hs_task_completion_date": "2026-05-04T03:02:01.500Z",
            },
        )
        assert (read.task_id, read.state, read.owner_id) == ("9", state, "77")

    def test_task_owner_update(self) -> None:
        """Reassigning a task is a batch update of the task's `hubspot_owner_id`."""
        assert task_owner_update("9", "70000003", "fu-1:owner") == FieldUpdate(
            "tasks", "9", {"hubspot_owner_id": "70000003"}, "fu-1:owner"
        )


class TestCheck:
    """`check` lists missing, read-only and mistyped mapped properties."""

    def described(self) -> dict[str, dict[str, FieldInfo]]:
        """A portal where every required property exists, typed right."""
        found: dict[str, dict[str, FieldInfo]] = {}
        for spec in required_properties(MAPPING):
            info = FieldInfo(spec.name, spec.kind, True, tuple(v for v, _ in spec.options))
            found.setdefault(spec.object, {})[spec.name] = info
        for object_name in ("contacts", "companies", "tickets", "deals"):
            for name in pull_properties(MAPPING, object_name):
                found.setdefault(object_name, {}).setdefault(
                    name, FieldInfo(name, FieldType.STRING, False)
                )
        return found

    def test_complete_portal_has_no_problems(self) -> None:
        """Nothing to report when the portal matches the mapping."""
        assert field_problems(MAPPING, self.described()) == []

    def test_problems_are_named(self) -> None:
        """Each problem names object, property and what is wrong."""
        described = self.described()
        del described["contacts"]["email"]
        del described["contacts"]["nps_last_score"]
        described["contacts"]["nps_last_category"] = FieldInfo(
            "nps_last_category", FieldType.STRING, True
        )
        described["companies"]["nps_response_count"] = FieldInfo(
            "nps_response_count", FieldType.NUMBER, False
        )
        described["contacts"]["nps_reason_tags"] = FieldInfo(
            "nps_reason_tags", FieldType.MULTI_ENUM, True, ("support",)
        )
        assert field_problems(MAPPING, described) == [
            "contacts.email: property does not exist",
            "contacts.nps_last_score: property does not exist (nps-worker setup-crm creates it)",
            "contacts.nps_last_category: is string, the mapping needs enum",
            "contacts.nps_reason_tags: options missing: price",
            "companies.nps_response_count: property is read-only",
        ]

    @pytest.mark.parametrize(
        ("definition", "expected"),
        [
            pytest.param(
                {"name": "a", "type": "enumeration", "fieldType": "checkbox", "options": []},
                FieldType.MULTI_ENUM,
                id="multi-select",
            ),
            pytest.param(
                {"name": "b", "type": "enumeration", "fieldType": "booleancheckbox"},
                FieldType.BOOLEAN,
                id="boolean",
            ),
            pytest.param(
                {"name": "c", "type": "string", "fieldType": "textarea"}, FieldType.TEXT, id="text"
            ),
            pytest.param(
                {"name": "d", "type": "datetime", "fieldType": "date"},
                FieldType.DATETIME,
                id="datetime",
            ),
        ],
    )
    def test_field_types(self, definition: dict[str, Any], expected: FieldType) -> None:
        """HubSpot's (type, fieldType) pairs normalise to one field type."""
        assert field_info(definition).type == expected

    def test_read_only_definition(self) -> None:
        """`modificationMetadata.readOnlyValue` makes a property not updateable."""
        info = field_info(
            {
                "name": "hs_object_id",
                "type": "number",
                "fieldType": "number",
                "modificationMetadata": {"readOnlyValue": True},
            }
        )
        assert info.updateable is False


def test_mapping_from_config() -> None:
    """The config's HubSpot defaults become the mapping (write-back names, tags, triggers)."""
    config = parse_config("crm:\n  kind: hubspot\n", "config.yaml", {})
    mapping = mapping_from_config(config)
    assert mapping.contact_email == "email"
    assert mapping.contact_writeback["last_score"] == "nps_last_score"
    assert mapping.contact_writeback["survey_count"] == "nps_survey_count"
    assert mapping.account_writeback["nps_trend"] == "nps_account_trend"
    assert mapping.property_group == "nps"
    assert set(mapping.triggers) == {"tickets", "deals"}
    assert ("support", "Support") in mapping.reason_tags
    specs = {(spec.object, spec.name): spec for spec in required_properties(mapping)}
    assert specs[("contacts", "nps_reason_tags")] == PropertySpec(
        "contacts",
        "nps_reason_tags",
        "NPS reason tags",
        "enumeration",
        "checkbox",
        mapping.reason_tags,
    )
    assert specs[("contacts", "nps_survey_count")].kind == FieldType.NUMBER
    assert specs[("companies", "nps_account_trend")].kind == FieldType.NUMBER
