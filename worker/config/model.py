"""The whole configuration file as one frozen, typed object, with cross-section checks."""

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from worker.config.alerts import AlertsConfig
from worker.config.analytics import AnalyticsConfig
from worker.config.base import Section, suggest
from worker.config.conditions import Condition
from worker.config.crm import CrmConfig, default_hubspot_triggers, default_salesforce_triggers
from worker.config.defaults import (
    high_priority_case_defaults,
    program_defaults,
    segment_defaults,
    writeback_defaults,
)
from worker.config.digest import DigestConfig, NotifyConfig
from worker.config.errors import invalid, raise_all
from worker.config.followup import FollowupConfig
from worker.config.privacy import PrivacyConfig
from worker.config.programs import DateOffsetTrigger, Program, RecordChangeTrigger
from worker.config.sections import (
    DatabaseConfig,
    LoggingConfig,
    SchedulerConfig,
    SegmentsConfig,
    ServerConfig,
    WritebackConfig,
)
from worker.config.survey import SurveyConfig
from worker.config.tags import Tag, TaggingConfig, default_taxonomy
from worker.config.values import Identifier


class Config(Section):
    """RevOps' file: every section of DESIGN.md section 6, defaults filled, checked as a whole."""

    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    crm: CrmConfig
    survey: SurveyConfig = Field(default_factory=SurveyConfig)
    programs: dict[Identifier, Program] = Field(default_factory=dict)
    followup: FollowupConfig = Field(default_factory=FollowupConfig)
    tags: tuple[Tag, ...] = Field(default_factory=default_taxonomy, min_length=1)
    tagging: TaggingConfig = Field(default_factory=TaggingConfig)
    segments: SegmentsConfig = Field(default_factory=SegmentsConfig)
    writeback: WritebackConfig = Field(default_factory=WritebackConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    analytics: AnalyticsConfig = Field(default_factory=AnalyticsConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    digest: DigestConfig = Field(default_factory=DigestConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    other_crms: tuple[str, ...] = ()
    """Config files of further CRMs served side by side (a different `crm.kind` each)."""

    @model_validator(mode="before")
    @classmethod
    def _fill_kind_defaults(cls, data: Any) -> Any:
        """Fill what depends on other keys: CRM-kind names, and survey links from the server URL."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        tags = data.get("tags")
        if isinstance(tags, Mapping) and "learned" in tags:
            raise invalid(
                "`tags` is the list of tags; the switch is `tagging: {learned: true|false}`",
                "tags",
                "learned",
            )
        crm = data.get("crm")
        kind = crm.get("kind") if isinstance(crm, Mapping) else None
        if kind in ("salesforce", "hubspot"):
            data.setdefault("programs", program_defaults(kind))
            followup = data.get("followup")
            cases = high_priority_case_defaults(kind)
            if (followup is None or isinstance(followup, Mapping)) and cases["object"] in (
                _trigger_objects(crm, kind)
            ):
                data["followup"] = {"high_priority_cases": cases, **(followup or {})}
            data["writeback"] = _overlay_writeback(data.get("writeback"), writeback_defaults(kind))
            segments = data.get("segments")
            if segments is None:
                data["segments"] = {"fields": segment_defaults(kind)}
            elif isinstance(segments, Mapping) and "fields" not in segments:
                data["segments"] = {**segments, "fields": segment_defaults(kind)}
        server, survey = data.get("server"), data.get("survey")
        public_url = server.get("public_base_url") if isinstance(server, Mapping) else None
        if public_url is not None and (survey is None or isinstance(survey, Mapping)):
            data["survey"] = {"base_url": public_url, **(survey or {})}
        return data

    def program_fields(self) -> dict[str, frozenset[str]]:
        """Fields the enabled programs test, by CRM object, so sync reads exactly those."""
        active = self.crm.salesforce if self.crm.kind == "salesforce" else self.crm.hubspot
        record_objects = {"contact": active.contact.object, "account": active.account.object}
        fields: dict[str, set[str]] = {}
        for program in self.programs.values():
            if not program.enabled:
                continue
            trigger = program.trigger
            selectors: tuple[Condition, ...] = ()
            if isinstance(trigger, RecordChangeTrigger | DateOffsetTrigger):
                own = fields.setdefault(trigger.object, set())
                own.update(trigger.when.fields)
                title = active.triggers.get(trigger.object)
                if title is not None and title.title is not None:
                    own.add(title.title)
                if trigger.kind == "date_offset":
                    own.add(trigger.field)
                if trigger.contact.field is not None:
                    own.add(trigger.contact.field)
                if trigger.contact.account_contacts is not None:
                    selectors = (trigger.contact.account_contacts,)
            for condition in (program.audience, *program.exclude, *selectors):
                for qualified in condition.fields:
                    record, name = qualified.split(".", 1)
                    fields.setdefault(record_objects[record], set()).add(name)
        for condition in (*self.followup.conditions(), *self.alerts.conditions()):
            for qualified in condition.fields:
                record, name = qualified.split(".", 1)
                fields.setdefault(record_objects[record], set()).add(name)
        cases = self.followup.high_priority_cases
        if cases is not None:
            fields.setdefault(cases.object, set()).update(cases.when.fields)
        return {name: frozenset(names) for name, names in fields.items() if names}

    def compared_values(self) -> dict[str, dict[str, frozenset[str]]]:
        """The text values enabled rules compare fields with (equals, in, not_in, changed_to),
        by CRM object and field: `check` looks them up in the CRM's picklists."""
        active = self.crm.salesforce if self.crm.kind == "salesforce" else self.crm.hubspot
        record_objects = {"contact": active.contact.object, "account": active.account.object}
        own: list[tuple[str, Condition]] = []
        qualified: list[Condition] = [*self.followup.conditions(), *self.alerts.conditions()]
        for program in self.programs.values():
            if not program.enabled:
                continue
            trigger = program.trigger
            if isinstance(trigger, RecordChangeTrigger | DateOffsetTrigger):
                own.append((trigger.object, trigger.when))
                if trigger.contact.account_contacts is not None:
                    qualified.append(trigger.contact.account_contacts)
            qualified.extend((program.audience, *program.exclude))
        cases = self.followup.high_priority_cases
        if cases is not None:
            own.append((cases.object, cases.when))
        compared: dict[str, dict[str, set[str]]] = {}
        for name, condition in own:
            for field, values in condition.compared_values().items():
                compared.setdefault(name, {}).setdefault(field, set()).update(values)
        for condition in qualified:
            for path, values in condition.compared_values().items():
                record, field = path.split(".", 1)
                target = compared.setdefault(record_objects[record], {})
                target.setdefault(field, set()).update(values)
        return {
            name: {field: frozenset(values) for field, values in fields.items() if values}
            for name, fields in compared.items()
        }

    def summary(self) -> str:
        """One line saying what this configuration will do, for `nps-worker check`."""
        enabled = [name for name, program in self.programs.items() if program.enabled]
        return (
            f"{self.crm.kind}, {len(enabled)} of {len(self.programs)} programs enabled"
            f" ({', '.join(enabled) or 'none'}), {len(self.tags)} reason tags,"
            f" languages {'/'.join(self.survey.languages)}, channel {self.survey.channel}"
        )

    @model_validator(mode="after")
    def _cross_checks(self) -> "Config":
        """Every cross-section problem at once, so one `check` run lists them all."""
        raise_all(
            "Config",
            [
                *self._check_programs(),
                *self._check_tags(),
                *self._check_writeback(),
                *self._check_theme_tags(),
                *self._check_interventions(),
                *self._check_alerts(),
            ],
        )
        return self

    def _check_alerts(self) -> Iterator[PydanticCustomError]:
        configured = self.notify.webhooks()
        for index, rule in enumerate(self.alerts.rules):
            for chat in rule.chats:
                if chat not in configured:
                    yield invalid(
                        f"chat '{chat}' has no webhook (set notify.{chat}.webhook_env)",
                        "alerts",
                        "rules",
                        index,
                        "chats",
                    )
            for program in rule.programs:
                if program not in self.programs:
                    yield invalid(
                        f"unknown program '{program}'{suggest(program, list(self.programs))}",
                        "alerts",
                        "rules",
                        index,
                        "programs",
                    )

    def _check_interventions(self) -> Iterator[PydanticCustomError]:
        known = ["touchpoint", "program", "channel", "language", "account"]
        known += [f"segment.{name}" for name in self.segments.fields]
        known += ["tenure"] if self.segments.tenure_months else []
        for index, item in enumerate(self.analytics.interventions):
            for dimension in item.segment or {}:
                if dimension not in known:
                    yield invalid(
                        f"unknown slice '{dimension}'{suggest(dimension, known)}",
                        "analytics",
                        "interventions",
                        index,
                        "segment",
                        dimension,
                    )

    def _check_theme_tags(self) -> Iterator[PydanticCustomError]:
        known = [tag.id for tag in self.tags]
        themes = self.analytics.themes
        for key, ids in (("structural", themes.structural), ("owners", tuple(themes.owners))):
            for index, tag_id in enumerate(ids):
                if tag_id not in known:
                    where = (index,) if key == "structural" else (tag_id,)
                    yield invalid(
                        f"unknown tag '{tag_id}'{suggest(tag_id, known)}",
                        "analytics",
                        "themes",
                        key,
                        *where,
                    )

    def _check_programs(self) -> Iterator[PydanticCustomError]:
        objects = sorted(self.crm.object_names)
        cases = self.followup.high_priority_cases
        if cases is not None and cases.object not in objects:
            yield invalid(
                f"unknown {self.crm.kind} object '{cases.object}'{suggest(cases.object, objects)}",
                "followup",
                "high_priority_cases",
                "object",
            )
        for name, program in self.programs.items():
            trigger = program.trigger
            if (
                isinstance(trigger, RecordChangeTrigger | DateOffsetTrigger)
                and trigger.object not in objects
            ):
                yield invalid(
                    f"unknown {self.crm.kind} object '{trigger.object}'"
                    f"{suggest(trigger.object, objects)}"
                    f" (trigger objects are listed under crm.{self.crm.kind}.triggers)",
                    "programs",
                    name,
                    "trigger",
                    trigger.kind,
                    "object",
                )
            interval = program.min_interval
            if interval is not None and interval < self.survey.min_interval:
                yield invalid(
                    "shorter than survey.min_interval, which already applies across all programs",
                    "programs",
                    name,
                    "min_interval",
                )

    def _check_tags(self) -> Iterator[PydanticCustomError]:
        seen: set[str] = set()
        for index, tag in enumerate(self.tags):
            if tag.id in seen:
                yield invalid(f"tag id '{tag.id}' is used twice", "tags", index, "id")
            seen.add(tag.id)
            if "tags" not in self.model_fields_set:
                continue
            for language in self.survey.languages:
                if language not in tag.labels:
                    yield invalid(
                        f"tag '{tag.id}' has no '{language}' label", "tags", index, "labels"
                    )
        if "tags" not in self.model_fields_set:
            for language in self.survey.languages:
                unlabelled = [tag.id for tag in self.tags if language not in tag.labels]
                if unlabelled:
                    yield invalid(
                        f"tag '{unlabelled[0]}' has no '{language}' label (nor"
                        f" {len(unlabelled) - 1} other built-in tags; list them under `tags`"
                        " with labels)",
                        "survey",
                        "languages",
                    )

    def _check_writeback(self) -> Iterator[PydanticCustomError]:
        if self.survey.channel == "crm_field" and self.writeback.contact.survey_url is None:
            yield invalid(
                "channel crm_field needs writeback.contact.survey_url", "survey", "channel"
            )
        for section in ("contact", "account"):
            first: dict[str, str] = {}
            for value, field in getattr(self.writeback, section):
                if field is None:
                    continue
                key = field.lower()
                if key in first:
                    yield invalid(
                        f"'{field}' is also where writeback.{section}.{first[key]} is written;"
                        " two values in one CRM field overwrite each other (give each its own)",
                        "writeback",
                        section,
                        value,
                    )
                first.setdefault(key, value)
        if self.crm.kind != "hubspot":
            return
        for section in ("contact", "account"):
            for value, field in getattr(self.writeback, section):
                if field is not None and field != field.lower():
                    yield invalid(
                        f"HubSpot property names are lower case: '{field.lower()}'",
                        "writeback",
                        section,
                        value,
                    )


def _trigger_objects(crm: Mapping[str, Any], kind: str) -> set[str]:
    """Trigger objects as written in the file, or the kind's defaults when none are."""
    section = crm.get(kind)
    given = section.get("triggers") if isinstance(section, Mapping) else None
    if isinstance(given, Mapping):
        return {str(name) for name in given}
    return set(
        default_salesforce_triggers() if kind == "salesforce" else default_hubspot_triggers()
    )


def _overlay_writeback(given: Any, defaults: dict[str, dict[str, str]]) -> Any:
    if given is None:
        return defaults
    if not isinstance(given, Mapping):
        return given
    merged = dict(given)
    for section, fields in defaults.items():
        value = merged.get(section)
        if value is None:
            merged[section] = fields
        elif isinstance(value, Mapping):
            merged[section] = {**fields, **value}
    return merged
