"""Salesforce mappers: pulled records to domain values, write-backs to field updates, checks."""

from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from worker.config import parse_config
from worker.domain import AccountRollup, Category, ContactWriteback
from worker.mappers.salesforce import (
    AccountFields,
    ContactFields,
    FieldExpectation,
    SalesforceMapping,
    TriggerFields,
    account_update,
    contact_update,
    expected_fields,
    field_problems,
    mapping_from_config,
    same_value,
    task_owner_update,
    task_state,
    to_account,
    to_contact,
    to_trigger,
)
from worker.sync.base import CrmRecord, FieldInfo, FieldType, FieldUpdate, TaskState

MODIFIED = datetime(2026, 1, 5, 10, 0, 1, tzinfo=UTC)

# Records as the REST query resource returns them (attributes removed by the client).
CONTACT = {
    "Id": "0035g00000AbCdEAAV",
    "SystemModstamp": "2026-01-05T10:00:01.000+0000",
    "Email": "misaki.sato@example.co.jp",
    "FirstName": "美咲",
    "LastName": "佐藤",
    "AccountId": "0015g00000XyZaBAAV",
    "OwnerId": "0055g00000OwNeRAAV",
    "HasOptedOutOfEmail": False,
    "Language__c": "ja",
    "Time_Zone__c": "Asia/Tokyo",
    "Title": "CTO",
}
ACCOUNT = {
    "Id": "0015g00000XyZaBAAV",
    "SystemModstamp": "2026-01-05T10:00:01.000+0000",
    "Name": "株式会社サンプル",
    "OwnerId": "0055g00000OwNeRAAV",
    "Plan__c": "Enterprise",
    "Industry": "Technology",
    "BillingCountry": "Japan",
    "ARR__c": 120000.0,
    "CreatedDate": "2023-04-01T09:30:00.000+0000",
}
CASE = {
    "Id": "5005g00000CaSeAAAV",
    "SystemModstamp": "2026-01-05T10:00:01.000+0000",
    "Status": "Closed",
    "Subject": "Login fails",
    "Priority": "High",
    "ClosedDate": "2026-01-05T09:59:00.000+0000",
    "OwnerId": "0055g00000OwNeRAAV",
    "ContactId": "0035g00000AbCdEAAV",
    "AccountId": "0015g00000XyZaBAAV",
}


def _record(sobject: str, fields: dict[str, Any], *, deleted: bool = False) -> CrmRecord:
    return CrmRecord(sobject, str(fields["Id"]), MODIFIED, fields, deleted=deleted)


class TestRecordsToDomain:
    """Pulled records become domain values under the configured field names."""

    def test_contact(self) -> None:
        """A Contact carries email, names, account, owner, language, time zone and opt-out."""
        contact = to_contact(_record("Contact", CONTACT), ContactFields())
        assert (contact.crm, contact.crm_id, contact.email) == (
            "salesforce",
            "0035g00000AbCdEAAV",
            "misaki.sato@example.co.jp",
        )
        assert (contact.first_name, contact.last_name) == ("美咲", "佐藤")
        assert contact.account_crm_id == "0015g00000XyZaBAAV"
        assert (contact.language, contact.time_zone) == ("ja", "Asia/Tokyo")
        assert contact.opted_out is False
        assert contact.segments == {"title": "CTO"}
        assert contact.modified_at == MODIFIED

    @pytest.mark.parametrize(
        ("changes", "attribute", "expected"),
        [
            pytest.param({"HasOptedOutOfEmail": True}, "opted_out", True, id="opted-out"),
            pytest.param({"Email": None}, "email", None, id="no-email"),
            pytest.param({"Email": ""}, "email", None, id="blank-email"),
            pytest.param({"Language__c": None}, "language", None, id="no-language"),
        ],
    )
    def test_contact_edge_values(
        self, changes: dict[str, Any], attribute: str, expected: Any
    ) -> None:
        """Opt-out, missing and blank values come through as the domain expects them."""
        contact = to_contact(_record("Contact", CONTACT | changes), ContactFields())
        assert getattr(contact, attribute) == expected

    def test_contact_with_renamed_fields(self) -> None:
        """Field names come from the mapping: an org with its own language field is read."""
        fields = ContactFields(language="Preferred_Language__c", time_zone=None, segments={})
        raw = CONTACT | {"Preferred_Language__c": "en"}
        contact = to_contact(_record("Contact", raw), fields)
        assert (contact.language, contact.time_zone) == ("en", None)

    def test_deleted_contact_keeps_only_its_id(self) -> None:
        """A deletion (Id and SystemModstamp only) maps to a deleted contact."""
        raw = {"Id": CONTACT["Id"], "SystemModstamp": CONTACT["SystemModstamp"]}
        contact = to_contact(_record("Contact", raw, deleted=True), ContactFields())
        assert contact.deleted
        assert contact.email is None

    def test_account_with_segments(self) -> None:
        """An Account carries name, owner and the mapped segment fields."""
        account = to_account(_record("Account", ACCOUNT), AccountFields())
        assert account.name == "株式会社サンプル"
        assert account.owner_id == "0055g00000OwNeRAAV"
        assert account.customer_since == datetime(2023, 4, 1, 9, 30, tzinfo=UTC)
        assert account.segments == {
            "plan": "Enterprise",
            "industry": "Technology",
            "country": "Japan",
            "arr": 120000.0,
        }

    def test_account_segment_through_relationship(self) -> None:
        """A dotted segment path reads a relationship field (Owner.Name)."""
        raw = ACCOUNT | {"Owner": {"attributes": {"type": "User"}, "Name": "Ken Ito"}}
        account = to_account(
            _record("Account", raw), AccountFields(segments={"owner": "Owner.Name"})
        )
        assert account.segments == {"owner": "Ken Ito"}

    def test_case_as_trigger_record(self) -> None:
        """A Case keeps its mapped trigger values and links to its contact and account."""
        trigger = to_trigger(_record("Case", CASE), TriggerFields("Case", ("Status", "ClosedDate")))
        assert trigger.values == {"Status": "Closed", "ClosedDate": "2026-01-05T09:59:00.000+0000"}
        assert trigger.contact_crm_id == "0035g00000AbCdEAAV"
        assert trigger.account_crm_id == "0015g00000XyZaBAAV"

    def test_read_fields_cover_every_object(self) -> None:
        """The default mapping selects accounts, contacts, cases and opportunities, each once."""
        fields = SalesforceMapping().read_fields()
        assert set(fields) == {"Account", "Contact", "Case", "Opportunity"}
        assert "HasOptedOutOfEmail" in fields["Contact"]
        assert "ContactId" not in fields["Opportunity"]
        assert all(len(names) == len(set(names)) for names in fields.values())


WRITEBACK = ContactWriteback(
    last_score=3,
    last_category=Category.DETRACTOR,
    last_comment="Too slow",
    reason_tags=("quality", "support"),
    last_response_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
)
ALL_WRITTEN = {
    "NPS_Last_Score__c": 3,
    "NPS_Last_Category__c": "Detractor",
    "NPS_Last_Comment__c": "Too slow",
    "NPS_Reason_Tags__c": "quality;support",
    "NPS_Last_Response_At__c": "2026-01-05T09:00:00.000+0000",  # as Salesforce's JSON takes it
}


class TestWritebacks:
    """Write-backs become field updates, minus what the mirror already holds (promise 6)."""

    @pytest.mark.parametrize(
        ("known", "expected"),
        [
            pytest.param({}, ALL_WRITTEN, id="nothing-known"),
            pytest.param(
                {
                    "NPS_Last_Score__c": 3.0,
                    "NPS_Last_Category__c": "Detractor",
                    "NPS_Last_Comment__c": "Too slow",
                    "NPS_Reason_Tags__c": "support; quality",
                    "NPS_Last_Response_At__c": "2026-01-05T09:00:00.000+0000",
                },
                None,
                id="all-equal-as-salesforce-returns-them",
            ),
            pytest.param(
                ALL_WRITTEN | {"NPS_Last_Score__c": 9},
                {"NPS_Last_Score__c": 3},
                id="only-the-changed-score",
            ),
            pytest.param(
                ALL_WRITTEN | {"NPS_Last_Response_At__c": "2026-01-04T09:00:00.000+0000"},
                {"NPS_Last_Response_At__c": "2026-01-05T09:00:00.000+0000"},
                id="older-answer-time",
            ),
        ],
    )
    def test_contact_update(self, known: dict[str, Any], expected: dict[str, Any] | None) -> None:
        """Only fields whose value differs from the known one are written; none: no update."""
        update = contact_update("003A", WRITEBACK, known, SalesforceMapping(), "resp:1")
        if expected is None:
            assert update is None
        else:
            assert update is not None
            assert (update.object, update.record_id, update.dedup_key) == (
                "Contact",
                "003A",
                "resp:1",
            )
            assert dict(update.fields) == expected

    def test_unmapped_and_unset_values_are_not_written(self) -> None:
        """A None write-back value, or a field mapped to None, never reaches the update."""
        mapping = SalesforceMapping()
        writeback = ContactWriteback(followup_status="assigned", survey_url=None)
        update = contact_update("003A", writeback, {}, mapping, "f:1")
        assert update is not None
        assert dict(update.fields) == {"NPS_Followup_Status__c": "Assigned"}

    def test_account_rollup_writes_zero_counts(self) -> None:
        """Roll-up counts are written even when zero; an unknown score is left alone."""
        rollup = AccountRollup(None, 0, 0, 0, 0, None)
        update = account_update(
            "001A", rollup, {"NPS_Response_Count__c": 2}, SalesforceMapping(), "r"
        )
        assert update is not None
        assert dict(update.fields) == {
            "NPS_Response_Count__c": 0,
            "NPS_Promoters__c": 0,
            "NPS_Passives__c": 0,
            "NPS_Detractors__c": 0,
        }

    @pytest.mark.parametrize(
        ("known", "expected"),
        [
            pytest.param({}, {"NPS_Survey_Count__c": 4}, id="first-count"),
            pytest.param({"NPS_Survey_Count__c": 4.0}, None, id="same-count-as-a-double"),
            pytest.param({"NPS_Survey_Count__c": 3}, {"NPS_Survey_Count__c": 4}, id="one-more"),
        ],
    )
    def test_survey_count(self, known: dict[str, Any], expected: dict[str, Any] | None) -> None:
        """The contact's answered-survey count goes to NPS_Survey_Count__c when it changed."""
        update = contact_update(
            "003A", ContactWriteback(survey_count=4), known, SalesforceMapping(), "c:1"
        )
        assert (dict(update.fields) if update else None) == expected

    @pytest.mark.parametrize(
        ("known", "expected"),
        [
            pytest.param(
                {},
                {"NPS_Praise_Tags__c": "quality", "NPS_Complaint_Tags__c": "support;price"},
                id="first-answer",
            ),
            pytest.param(
                {"NPS_Praise_Tags__c": "quality", "NPS_Complaint_Tags__c": "price; support"},
                None,
                id="same-sets",
            ),
            pytest.param(
                {"NPS_Praise_Tags__c": "support", "NPS_Complaint_Tags__c": "support;price"},
                {"NPS_Praise_Tags__c": "quality"},
                id="praise-changed",
            ),
        ],
    )
    def test_polarity_tags(self, known: dict[str, Any], expected: dict[str, Any] | None) -> None:
        """Praised and complained-of tags go beside the reason tags, compared as sets."""
        writeback = ContactWriteback(praise_tags=("quality",), complaint_tags=("support", "price"))
        update = contact_update("003A", writeback, known, SalesforceMapping(), "c:1")
        assert (dict(update.fields) if update else None) == expected

    def test_no_praise_is_an_empty_list(self) -> None:
        """An answer with complaints only clears the praise field (an empty list, not None)."""
        writeback = ContactWriteback(praise_tags=(), complaint_tags=("support",))
        known = {"NPS_Praise_Tags__c": "quality", "NPS_Complaint_Tags__c": "support"}
        update = contact_update("003A", writeback, known, SalesforceMapping(), "c:1")
        assert update is not None
        assert dict(update.fields) == {"NPS_Praise_Tags__c": ""}

    @pytest.mark.parametrize(
        ("trend", "known", "written"),
        [
            pytest.param(-12.5, {}, {"NPS_Trend__c": -12.5}, id="falling"),
            pytest.param(0.0, {"NPS_Trend__c": 3.0}, {"NPS_Trend__c": 0.0}, id="flat-is-a-value"),
            pytest.param(3.0, {"NPS_Trend__c": 3}, {}, id="unchanged"),
            pytest.param(
                None, {"NPS_Trend__c": 3}, {"NPS_Trend__c": None}, id="no-previous-window"
            ),
            pytest.param(None, {}, {}, id="never-had-one"),
        ],
    )
    def test_nps_trend(
        self, trend: float | None, known: dict[str, Any], written: dict[str, Any]
    ) -> None:
        """The trend is written in points when known and changed; one the answers no longer
        give is cleared (null), so the account never shows a stale trend."""
        rollup = AccountRollup(40.0, 5, 3, 1, 1, None, nps_trend=trend)
        counts = {
            "NPS_Score__c": 40,
            "NPS_Response_Count__c": 5,
            "NPS_Promoters__c": 3,
            "NPS_Passives__c": 1,
            "NPS_Detractors__c": 1,
        }
        update = account_update("001A", rollup, counts | known, SalesforceMapping(), "r")
        assert (dict(update.fields) if update else {}) == written

    def test_account_rollup_equal_to_mirror_is_skipped(self) -> None:
        """An unchanged roll-up yields no update at all."""
        rollup = AccountRollup(40.0, 5, 3, 1, 1, None)
        known = {
            "NPS_Score__c": 40,
            "NPS_Response_Count__c": 5.0,
            "NPS_Promoters__c": 3,
            "NPS_Passives__c": 1,
            "NPS_Detractors__c": 1,
        }
        assert account_update("001A", rollup, known, SalesforceMapping(), "r") is None

    @pytest.mark.parametrize(
        ("new", "known", "same"),
        [
            pytest.param(7, 7.0, True, id="int-vs-float"),
            pytest.param(7, "7", False, id="number-vs-text"),
            pytest.param(True, 1, False, id="bool-is-not-number"),
            pytest.param(
                datetime(2026, 1, 5, 9, 0, 0, 400_000, tzinfo=UTC),
                "2026-01-05T09:00:00.000+0000",
                True,
                id="datetime-to-the-second",
            ),
            pytest.param(
                datetime(2026, 1, 5, 9, 0, tzinfo=UTC), "not a date", False, id="unparseable-known"
            ),
            pytest.param("x", None, False, id="unknown"),
            pytest.param("a; b", "b; a", False, id="plain-text-keeps-its-order"),
        ],
    )
    def test_same_value(self, new: Any, known: Any, same: bool) -> None:
        """Equality follows what Salesforce stores, not Python's representation."""
        assert same_value(new, known) is same

    def test_empty_tag_list_reads_back_as_null(self) -> None:
        """An empty tag list is what an empty (null) field holds, so it is not rewritten."""
        assert same_value("", None, separator=";")
        assert not same_value("", None)
        assert not same_value("support", None, separator=";")

    def test_tag_lists_compare_as_sets(self) -> None:
        """With a separator, reordered or re-spaced tag lists are the same value."""
        assert same_value("a;b", "b; a", separator=";")
        assert not same_value("a;b", "a", separator=";")


def _info(name: str, kind: FieldType, *, updateable: bool = True) -> FieldInfo:
    return FieldInfo(name, kind, updateable)


class TestFieldProblems:
    """`check` turns describe results into one readable line per mapped-field problem."""

    EXPECTED: ClassVar[dict[str, dict[str, FieldExpectation]]] = {
        "Contact": {
            "Email": FieldExpectation(frozenset({FieldType.EMAIL})),
            "NPS_Last_Score__c": FieldExpectation(frozenset({FieldType.NUMBER}), updateable=True),
        }
    }

    @pytest.mark.parametrize(
        ("described", "problems"),
        [
            pytest.param(
                {
                    "Contact": {
                        "Email": _info("Email", FieldType.EMAIL),
                        "NPS_Last_Score__c": _info("NPS_Last_Score__c", FieldType.NUMBER),
                    }
                },
                [],
                id="all-good",
            ),
            pytest.param(
                {"Contact": {"Email": _info("Email", FieldType.EMAIL)}},
                ["Contact.NPS_Last_Score__c: missing, or not readable by the integration user"],
                id="missing",
            ),
            pytest.param(
                {
                    "Contact": {
                        "email": _info("email", FieldType.EMAIL),
                        "NPS_Last_Score__c": _info(
                            "NPS_Last_Score__c", FieldType.STRING, updateable=False
                        ),
                    }
                },
                [
                    "Contact.NPS_Last_Score__c: is string, expected number",
                    "Contact.NPS_Last_Score__c: not updateable by the integration user",
                ],
                id="wrong-type-and-read-only-names-case-insensitive",
            ),
            pytest.param(
                {"Contact": None},
                ["Contact: object not found (or not visible to the integration user)"],
                id="no-object",
            ),
        ],
    )
    def test_problems(
        self, described: dict[str, dict[str, FieldInfo] | None], problems: list[str]
    ) -> None:
        """Each problem is named object.field: what is wrong."""
        assert field_problems(self.EXPECTED, described) == problems

    def test_default_mapping_expectations(self) -> None:
        """Write-back fields must be updateable and typed; read fields just need to exist."""
        expected = expected_fields(SalesforceMapping(), "NPS_Dedup_Key__c")
        assert expected["Contact"]["NPS_Last_Score__c"] == FieldExpectation(
            frozenset({FieldType.NUMBER}), updateable=True
        )
        assert expected["Contact"]["HasOptedOutOfEmail"].types == frozenset({FieldType.BOOLEAN})
        assert expected["Case"]["Status"] == FieldExpectation()
        assert expected["Task"]["NPS_Dedup_Key__c"].createable
        assert expected["Task"]["OwnerId"].updateable
        number = FieldExpectation(frozenset({FieldType.NUMBER}), updateable=True)
        assert expected["Contact"]["NPS_Survey_Count__c"] == number
        assert expected["Account"]["NPS_Trend__c"] == number


class TestTasks:
    """Follow-up Tasks: their state as the loop reads it, and reassignment."""

    @pytest.mark.parametrize(
        ("status", "closed", "state"),
        [
            pytest.param("Not Started", False, TaskState.OPEN, id="not-started"),
            pytest.param("Open", False, TaskState.OPEN, id="renamed-not-started"),
            pytest.param("Deferred", False, TaskState.OPEN, id="deferred-is-untouched"),
            pytest.param(None, False, TaskState.OPEN, id="no-status"),
            pytest.param("In Progress", False, TaskState.IN_PROGRESS, id="in-progress"),
            pytest.param(
                "Waiting on someone else", False, TaskState.IN_PROGRESS, id="waiting-on-customer"
            ),
            pytest.param("Call Scheduled", False, TaskState.IN_PROGRESS, id="org-own-open-status"),
            pytest.param("Completed", True, TaskState.COMPLETED, id="completed"),
            pytest.param("Resolved", True, TaskState.COMPLETED, id="org-own-closed-status"),
        ],
    )
    def test_task_state(self, status: str | None, closed: bool, state: TaskState) -> None:
        """IsClosed means completed; a started open status means the rep made contact."""
        assert task_state(status, closed) is state

    def test_task_owner_update(self) -> None:
        """Reassigning a task is an ordinary field update of Task.OwnerId."""
        assert task_owner_update("00TA", "005B", "fu-1:owner") == FieldUpdate(
            "Task", "00TA", {"OwnerId": "005B"}, "fu-1:owner"
        )


CONFIG = """
crm:
  kind: salesforce
  salesforce:
    contact:
      language: Preferred_Language__c
      opted_out: null
    triggers:
      Renewal__c:
        contact_field: Signer__c
        account_field: Account__c
        fields: [Stage__c]
programs: {}
segments:
  fields:
    plan: account.Plan__c
    role: contact.Title
writeback:
  contact:
    last_comment: null
"""


class TestMappingFromConfig:
    """The mapping follows RevOps' file: objects, fields, segments, triggers and write-backs."""

    def test_fields_come_from_the_config(self) -> None:
        """Renamed and unmapped fields, custom trigger objects and segments are honoured."""
        mapping = mapping_from_config(parse_config(CONFIG, env={}))
        fields = mapping.read_fields()
        assert set(fields) == {"Account", "Contact", "Renewal__c"}
        assert fields["Renewal__c"] == ("Stage__c", "Signer__c", "Account__c")
        assert "Preferred_Language__c" in fields["Contact"]
        assert "HasOptedOutOfEmail" not in fields["Contact"]
        assert mapping.account.segments == {"plan": "Plan__c"}
        assert mapping.contact.segments == {"role": "Title"}
        assert mapping.contact_writeback.last_comment is None
        assert mapping.contact_writeback.last_score == "NPS_Last_Score__c"
        assert mapping.contact_writeback.survey_count == "NPS_Survey_Count__c"
        assert mapping.account_rollup.nps_trend == "NPS_Trend__c"

    def test_program_fields_are_read_too(self) -> None:
        """Fields programs test are added; on the account itself they form a trigger on Id."""
        mapping = mapping_from_config(
            parse_config(CONFIG, env={}),
            {"Account": ["Onboarding_Status__c"], "Renewal__c": ["Renewal_Date__c"]},
        )
        triggers = {t.object: t for t in mapping.triggers}
        assert triggers["Account"] == TriggerFields(
            "Account", ("Onboarding_Status__c",), contact=None, account="Id"
        )
        assert triggers["Renewal__c"].fields == ("Stage__c", "Renewal_Date__c")
        assert "Onboarding_Status__c" in mapping.read_fields()["Account"]
