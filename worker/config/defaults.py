"""Defaults that depend on the CRM kind: write-back field names, segments, starter programs."""

from typing import Any, Literal

Kind = Literal["salesforce", "hubspot"]

_WRITEBACK: dict[Kind, dict[str, dict[str, str]]] = {
    "salesforce": {
        "contact": {
            "last_score": "NPS_Last_Score__c",
            "last_category": "NPS_Last_Category__c",
            "last_comment": "NPS_Last_Comment__c",
            "reason_tags": "NPS_Reason_Tags__c",
            "praise_tags": "NPS_Praise_Tags__c",
            "complaint_tags": "NPS_Complaint_Tags__c",
            "last_response_at": "NPS_Last_Response_At__c",
            "followup_status": "NPS_Followup_Status__c",
            "survey_url": "NPS_Survey_URL__c",
            "survey_count": "NPS_Survey_Count__c",
        },
        "account": {
            "nps_score": "NPS_Score__c",
            "response_count": "NPS_Response_Count__c",
            "promoters": "NPS_Promoters__c",
            "passives": "NPS_Passives__c",
            "detractors": "NPS_Detractors__c",
            "last_response_at": "NPS_Last_Response_At__c",
            "nps_trend": "NPS_Trend__c",
        },
    },
    "hubspot": {
        "contact": {
            "last_score": "nps_last_score",
            "last_category": "nps_last_category",
            "last_comment": "nps_last_comment",
            "reason_tags": "nps_reason_tags",
            "praise_tags": "nps_praise_tags",
            "complaint_tags": "nps_complaint_tags",
            "last_response_at": "nps_last_response_at",
            "followup_status": "nps_followup_status",
            "survey_url": "nps_survey_url",
            "survey_count": "nps_survey_count",
        },
        "account": {
            "nps_score": "nps_account_score",
            "response_count": "nps_response_count",
            "promoters": "nps_promoters",
            "passives": "nps_passives",
            "detractors": "nps_detractors",
            "last_response_at": "nps_last_response_at",
            "nps_trend": "nps_account_trend",
        },
    },
}

_SEGMENTS: dict[Kind, dict[str, str]] = {
    "salesforce": {"industry": "account.Industry", "country": "account.BillingCountry"},
    "hubspot": {"industry": "account.industry", "country": "account.country"},
}

_CASE_CLOSED: dict[Kind, dict[str, Any]] = {
    "salesforce": {"object": "Case", "when": {"Status": {"changed_to": "Closed"}}, "delay": "2h"},
    "hubspot": {
        "object": "tickets",
        "when": {"hs_pipeline_stage": {"changed_to": "4"}},
        "delay": "2h",
    },
}


def writeback_defaults(kind: Kind) -> dict[str, dict[str, str]]:
    """`NPS_Last_Score__c` style names on Salesforce, `nps_last_score` style on HubSpot."""
    return {section: dict(fields) for section, fields in _WRITEBACK[kind].items()}


def segment_defaults(kind: Kind) -> dict[str, str]:
    """Standard account fields worth slicing by in every org."""
    return dict(_SEGMENTS[kind])


def program_defaults(kind: Kind) -> dict[str, Any]:
    """A starter program: survey the contact two hours after their support case/ticket closes."""
    return {
        "support_case_closed": {
            "touchpoint": "support",
            "trigger": {"record_change": dict(_CASE_CLOSED[kind])},
        }
    }


_HIGH_PRIORITY_CASES: dict[Kind, dict[str, Any]] = {
    "salesforce": {"object": "Case", "when": {"Priority": "High"}},
    "hubspot": {"object": "tickets", "when": {"hs_ticket_priority": "HIGH"}},
}


def high_priority_case_defaults(kind: Kind) -> dict[str, Any]:
    """The standard priority field of cases (Salesforce) and tickets (HubSpot)."""
    return {**_HIGH_PRIORITY_CASES[kind], "when": dict(_HIGH_PRIORITY_CASES[kind]["when"])}
