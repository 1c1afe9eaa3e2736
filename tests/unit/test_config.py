"""Configuration loading: the documented example, defaults, interpolation and exact errors."""

import datetime as dt
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML

from worker.config import (
    Clause,
    Condition,
    Config,
    ConfigError,
    Operator,
    load_config,
    parse_config,
    read_secret,
)
from worker.config.programs import DateOffsetTrigger, RecordChangeTrigger, ScheduleTrigger
from worker.config.values import parse_duration
from worker.demo.run import DEMO_CONFIG
from worker.demo.run import PROGRAMS as DEMO_PROGRAMS
from worker.demo.run import SEGMENTS as DEMO_SEGMENTS
from worker.sandbox.salesforce.schema import SCHEMA

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
SF = "crm:\n  kind: salesforce\n"
HS = "crm:\n  kind: hubspot\n"


def _program(trigger: str, extra: str = "") -> str:
    """A Salesforce config with one program `p` whose trigger block (at indent 6) is `trigger`."""
    return SF + f"programs:\n  p:\n    touchpoint: support\n{extra}    trigger:\n{trigger}"


BROKEN = [
    pytest.param(
        SF + "tagging:\n  learned: maybe\n",
        "4:3",
        "tagging.learned",
        "expected true or false, got 'maybe'",
        id="tagging-learned-not-a-bool",
    ),
    pytest.param(
        SF + "tags:\n  learned: false\n",
        "4:3",
        "tags.learned",
        "`tags` is the list of tags; the switch is `tagging: {learned: true|false}`",
        id="learned-under-tags",
    ),
    pytest.param(
        SF + "tagging:\n  lerned: false\n",
        "4:3",
        "tagging.lerned",
        "unknown key; did you mean 'learned'?",
        id="tagging-key-typo",
    ),
    pytest.param(
        SF + 'tags:\n  - id: support\n    keywords: {en: [crash, "a*"]}\n',
        "5:28",
        "tags[0].keywords.en[1]",
        "'a*': a prefix needs 3 letters before *",
        id="tag-word-prefix-too-short",
    ),
    pytest.param(
        SF + "tags:\n  - id: shipping\n    keywords: {en: [delivery]}\n",
        "4:5",
        "tags[0].labels",
        "labels are needed for a tag of your own",
        id="own-tag-without-labels",
    ),
    pytest.param(
        "crm:\n  kind: [salesforce\n",
        "2:9",
        "",
        "invalid YAML: this '[' is not closed; end the list with ']'",
        id="bad-yaml",
    ),
    pytest.param(
        "crm:\n\tkind: salesforce\n", "2:1", "", "tab character in indentation", id="tab-indent"
    ),
    pytest.param(
        SF + "  kind: hubspot\n",
        "3:3",
        "",
        "invalid YAML: duplicate key 'kind'",
        id="duplicate-key",
    ),
    pytest.param(
        SF + "server:\n  port: eighty\n",
        "4:3",
        "server.port",
        "expected a whole number, got 'eighty'",
        id="wrong-type",
    ),
    pytest.param(
        SF + "survey:\n  languages: en\n",
        "4:3",
        "survey.languages",
        "expected a list, got 'en'",
        id="scalar-for-list",
    ),
    pytest.param(
        SF + "survey:\n  min_intervall: 30d\n",
        "4:3",
        "survey.min_intervall",
        "unknown key; did you mean 'min_interval'?",
        id="unknown-key",
    ),
    pytest.param(
        SF + "surveys: {}\n",
        "3:1",
        "surveys",
        "unknown key; did you mean 'survey'?",
        id="unknown-section",
    ),
    pytest.param(
        SF + "database:\n  url: ${DATABASE_URL}\n",
        "4:3",
        "database.url",
        "environment variable 'DATABASE_URL' is not set",
        id="missing-env-var",
    ),
    pytest.param(
        _program("      schedule:\n        cron: '0 9 * *'\n"),
        "8:9",
        "programs.p.trigger.schedule.cron",
        "invalid cron expression '0 9 * *'",
        id="bad-cron",
    ),
    pytest.param(
        _program(
            "      record_change:\n        object: Case\n"
            "        when: {Status: {changed_to: Closed}}\n        delay: two hours\n"
        ),
        "10:9",
        "programs.p.trigger.record_change.delay",
        "invalid duration 'two hours' (use e.g. 30m, 2h, 7d)",
        id="bad-duration",
    ),
    pytest.param(
        SF + "survey:\n  min_interval: -5d\n",
        "4:3",
        "survey.min_interval",
        "duration must not be negative ('-5d')",
        id="negative-interval",
    ),
    pytest.param(
        "crm:\n  kind: pipedrive\n",
        "2:3",
        "crm.kind",
        "invalid value 'pipedrive' (expected 'salesforce' or 'hubspot')",
        id="unknown-crm-kind",
    ),
    pytest.param(
        "crm:\n  kind: salesfroce\n",
        "2:3",
        "crm.kind",
        "did you mean 'salesforce'?",
        id="crm-kind-typo",
    ),
    pytest.param(
        "database: {}\ncrm: {}\n", "2:1", "crm.kind", "required key missing", id="missing-key"
    ),
    pytest.param(
        _program(
            "      schedule: {cron: '0 9 * * 1'}\n"
            "      record_change: {object: Case, when: {Status: Closed}}\n"
        ),
        "6:5",
        "programs.p.trigger",
        "needs exactly one of record_change, date_offset, schedule, recovery;"
        " found schedule, record_change",
        id="two-triggers",
    ),
    pytest.param(
        SF + "programs:\n  p:\n    touchpoint: support\n",
        "4:3",
        "programs.p.trigger",
        "required key missing",
        id="no-trigger",
    ),
    pytest.param(
        _program("      record_chnage: {object: Case, when: {Status: Closed}}\n"),
        "7:7",
        "programs.p.trigger.record_chnage",
        "unknown kind 'record_chnage'; did you mean 'record_change'?",
        id="trigger-kind-typo",
    ),
    pytest.param(
        _program(
            "      record_change:\n        object: Case\n        when:\n"
            "          Status: {change_to: Closed}\n"
        ),
        "10:20",
        "programs.p.trigger.record_change.when.Status.change_to",
        "unknown operator 'change_to'; did you mean 'changed_to'?",
        id="bad-condition-operator",
    ),
    pytest.param(
        _program(
            "      record_change:\n        object: Case\n        when:\n"
            "          Status: [Closed, Resolved]\n"
        ),
        "10:11",
        "programs.p.trigger.record_change.when.Status",
        "a bare list is ambiguous",
        id="condition-bare-list",
    ),
    pytest.param(
        _program("      schedule: {cron: '0 9 * * 1'}\n", extra="    audience: {Industry: Tech}\n"),
        "6:16",
        "programs.p.audience.Industry",
        "must name its record: contact.<Field> or account.<Field>",
        id="audience-unqualified-field",
    ),
    pytest.param(
        _program("      record_change: {object: Cse, when: {Status: Closed}}\n"),
        "7:23",
        "programs.p.trigger.record_change.object",
        "unknown salesforce object 'Cse'; did you mean 'Case'?",
        id="unknown-trigger-object",
    ),
    pytest.param(
        _program("      date_offset:\n        object: Opportunity\n        offset: -30d\n"),
        "7:7",
        "programs.p.trigger.date_offset.field",
        "required key missing",
        id="date-offset-without-field",
    ),
    pytest.param(
        SF + "followup:\n  detractor:\n    task:\n      sla: 30d\n",
        "6:7",
        "followup.detractor.task.sla",
        "'30d' is out of range 1h to 14d",
        id="sla-out-of-range",
    ),
    pytest.param(
        SF + "followup:\n  detractor:\n    owner: [acount_owner]\n",
        "5:13",
        "followup.detractor.owner[0]",
        "unknown person 'acount_owner'; did you mean 'account_owner'?",
        id="owner-typo",
    ),
    pytest.param(
        SF + "followup:\n  detractor:\n    escalation:\n"
        "      - {level: 2, after: 1h, notify: manager}\n"
        "      - {level: 1, after: 2h, notify: manager}\n",
        "7:10",
        "followup.detractor.escalation[1].level",
        "levels must increase down the list",
        id="escalation-levels",
    ),
    pytest.param(
        SF + "followup:\n  detractor:\n    task:\n      subject: 'Hi {{ contact.name '\n",
        "6:7",
        "followup.detractor.task.subject",
        "invalid template: unexpected end of template",
        id="bad-template",
    ),
    pytest.param(
        SF + "survey:\n  sender:\n    address: nps-at-example.com\n",
        "5:5",
        "survey.sender.address",
        "invalid e-mail address 'nps-at-example.com'",
        id="bad-email",
    ),
    pytest.param(
        SF + "survey:\n  languages: [en, Japanese]\n",
        "4:19",
        "survey.languages[1]",
        "invalid language code 'Japanese'",
        id="bad-language-code",
    ),
    pytest.param(
        SF + "survey:\n  languages: [en, ja, fr]\n",
        "4:3",
        "survey.languages",
        "tag 'feature_value' has no 'fr' label",
        id="language-without-tag-labels",
    ),
    pytest.param(
        SF + "survey:\n  base_url: nps.example.com\n",
        "4:3",
        "survey.base_url",
        "invalid URL 'nps.example.com'",
        id="bad-url",
    ),
    pytest.param(
        SF + "survey:\n  channel: emial\n",
        "4:3",
        "survey.channel",
        "did you mean 'email'?",
        id="channel-typo",
    ),
    pytest.param(
        SF + "survey:\n  quiet_hours:\n    start: '25:00'\n",
        "5:5",
        "survey.quiet_hours.start",
        "invalid time of day '25:00'",
        id="bad-time-of-day",
    ),
    pytest.param(
        SF + "survey:\n  quiet_hours:\n    default_time_zone: Mars/Olympus\n",
        "5:5",
        "survey.quiet_hours.default_time_zone",
        "unknown time zone 'Mars/Olympus'",
        id="bad-time-zone",
    ),
    pytest.param(
        SF + "  salesforce:\n    daily_budget_share:\n      essential: 1.5\n",
        "5:7",
        "crm.salesforce.daily_budget_share.essential",
        "must be at most 1.0 (got 1.5)",
        id="budget-share-above-one",
    ),
    pytest.param(
        SF + "  salesforce:\n    auth:\n      method: client_credentials\n",
        "3:3",
        "crm.salesforce.domain",
        "client_credentials needs your My Domain",
        id="client-credentials-on-login",
    ),
    pytest.param(
        SF + "  salesforce:\n    api_version: v60\n",
        "4:5",
        "crm.salesforce.api_version",
        "invalid API version 'v60' (e.g. 60.0)",
        id="bad-api-version",
    ),
    pytest.param(
        HS + "  hubspot:\n    tier: 150\n",
        "4:5",
        "crm.hubspot.tier",
        "invalid value 150 (expected 100 or 190)",
        id="hubspot-tier",
    ),
    pytest.param(
        HS + "writeback:\n  contact:\n    last_score: NPS_Last_Score\n",
        "5:5",
        "writeback.contact.last_score",
        "HubSpot property names are lower case: 'nps_last_score'",
        id="hubspot-property-case",
    ),
    pytest.param(
        SF + "database:\n  url: mysql://nps@db/nps\n",
        "4:3",
        "database.url",
        "unsupported database URL scheme 'mysql'",
        id="bad-database-scheme",
    ),
    pytest.param(
        SF + "programs:\n  Case Closed:\n    touchpoint: x\n"
        "    trigger: {schedule: {cron: '0 9 * * 1'}}\n",
        "4:3",
        "programs.Case Closed",
        "invalid name 'Case Closed'",
        id="bad-program-name",
    ),
    pytest.param(
        "- crm\n- survey\n", "1:1", "", "the file must be a mapping of sections", id="not-a-mapping"
    ),
    pytest.param(
        HS + "followup:\n  managers:\n    '70000003': Bob\n",
        "5:5",
        "followup.managers.70000003",
        "invalid CRM user id 'Bob'",
        id="manager-not-a-user-id",
    ),
]


def _error(text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "config.yaml", env={} if env is None else env)
    return caught.value


class TestBrokenConfigs:
    """Each broken file yields one actionable line naming file:line:col, the key and the fix."""

    @pytest.mark.parametrize(("text", "where", "path", "message"), BROKEN)
    def test_error_names_line_and_key(self, text: str, where: str, path: str, message: str) -> None:
        """The first error points at the exact line and column and names the key path."""
        error = _error(text)
        prefix = f"config.yaml:{where}: {path}: " if path else f"config.yaml:{where}: "
        assert str(error).startswith(prefix), str(error)
        assert message in str(error)
        assert "\n" not in str(error)

    @pytest.mark.parametrize(("text", "where", "path", "message"), BROKEN)
    def test_issue_fields(self, text: str, where: str, path: str, message: str) -> None:
        """`.errors[0]` carries the same file, line, column and path as structured data."""
        issue = _error(text).errors[0]
        assert (issue.file, f"{issue.line}:{issue.column}", issue.path) == (
            "config.yaml",
            where,
            path,
        )
        assert message in issue.message

    def test_several_errors_are_all_reported_in_file_order(self) -> None:
        """Independent mistakes are each reported, sorted by position; str() is the first."""
        error = _error(SF + "server:\n  port: 0\nsurvey:\n  daily_cap: many\n")
        assert [(issue.line, issue.path) for issue in error.errors] == [
            (4, "server.port"),
            (6, "survey.daily_cap"),
        ]
        assert str(error) == str(error.errors[0])

    def test_follow_up_errors_are_dropped(self) -> None:
        """A list emptied by a bad item is not reported as 'empty' on top of the bad item."""
        error = _error(SF + "followup:\n  detractor:\n    owner: [acount_owner]\n")
        assert [issue.path for issue in error.errors] == ["followup.detractor.owner[0]"]


class TestTagging:
    """`tagging.learned` switches the learned second opinion of the reason tagger."""

    def test_learned_by_default(self) -> None:
        """A config without `tagging` tags with the learned model."""
        assert parse_config(SF, "config.yaml", env={}).tagging.learned is True

    def test_switched_off(self) -> None:
        """`learned: false` leaves the rules alone."""
        config = parse_config(SF + "tagging:\n  learned: false\n", "config.yaml", env={})
        assert config.tagging.learned is False


class TestExample:
    """config.example.yaml is the reference RevOps reads: it loads and documents every key."""

    def test_loads_with_empty_environment(self) -> None:
        """The example references credentials by variable name, so it loads with no env at all."""
        config = load_config(EXAMPLE, env={})
        assert config.summary().startswith("salesforce, 4 of 4 programs enabled")
        assert set(config.programs) == {
            "support_case_closed",
            "renewal_upcoming",
            "relationship_quarterly",
            "recovery_checkin",
        }

    def test_values_it_compares_exist_in_a_new_salesforce_org(self) -> None:
        """Every value the example's rules compare a standard picklist with is one a new org
        has (the sandbox org holds a new org's standard value sets)."""
        compared = load_config(EXAMPLE, env={}).compared_values()
        checked = 0
        for sobject, fields in compared.items():
            for name, values in fields.items():
                field = SCHEMA[sobject].field(name)
                if field is not None and field.picklist:
                    assert values <= set(field.picklist), f"{sobject}.{name}"
                    checked += 1
        assert checked >= 4

    def test_the_demo_compares_values_the_sandbox_org_has(self) -> None:
        """The demo's Salesforce programs (and the default high-priority cases) name picklist
        values its org holds."""
        text = DEMO_CONFIG.format(
            out="/tmp/demo",  # noqa: S108 - never written: the text is only parsed
            kind="salesforce",
            endpoint="https://127.0.0.1:1",
            ca_bundle="ca.pem",
            my_domain="demo.my",
            port=1,
            programs=DEMO_PROGRAMS["salesforce"],
            segments=DEMO_SEGMENTS["salesforce"],
            followup="  rep_language: en",
        )
        compared = parse_config(text, "demo.yaml", env={}).compared_values()
        assert compared == {
            "Case": {"Status": frozenset({"Closed"}), "Priority": frozenset({"High"})},
            "Account": {"Onboarding_Status__c": frozenset({"Completed"})},
        }
        for sobject, fields in compared.items():
            for name, values in fields.items():
                field = SCHEMA[sobject].field(name)
                assert field is not None
                assert values <= set(field.picklist)

    def test_triggers_are_typed(self) -> None:
        """Each program's trigger is one typed object, with conditions parsed into clauses."""
        programs = load_config(EXAMPLE, env={}).programs
        closed = programs["support_case_closed"].trigger
        assert isinstance(closed, RecordChangeTrigger)
        assert closed.when.clauses == (
            Clause("Status", Operator.CHANGED_TO, "Closed"),
            Clause("Origin", Operator.IN, ("Phone", "Email", "Web")),
        )
        assert closed.delay == dt.timedelta(hours=2)
        renewal = programs["renewal_upcoming"].trigger
        assert isinstance(renewal, DateOffsetTrigger)
        assert renewal.offset == -dt.timedelta(days=30)
        quarterly = programs["relationship_quarterly"].trigger
        assert isinstance(quarterly, ScheduleTrigger)
        assert quarterly.time_zone == "Asia/Tokyo"

    def test_hubspot_kind_loads_from_the_same_file(self) -> None:
        """Switching `kind` is enough: the hubspot section is complete too."""
        text = EXAMPLE.read_text(encoding="utf-8").replace("kind: salesforce", "kind: hubspot", 1)
        text = text.replace("object: Case", "object: tickets").replace(
            "object: Opportunity", "object: deals"
        )
        text = _lower_writeback(text)
        config = parse_config(text, "config.yaml", env={})
        assert config.crm.kind == "hubspot"
        assert config.crm.hubspot.contact.opted_out == "hs_email_optout"

    def test_documents_every_key(self) -> None:
        """Every key the model accepts appears in the example, so the reference cannot rot.

        A section used in several places (budget shares, trigger objects, escalation tiers) counts
        as documented when its keys appear under any one of those places.
        """
        documented = _document_paths(YAML(typ="safe").load(EXAMPLE.read_text(encoding="utf-8")))
        places: dict[tuple[str, str], list[tuple[str, ...]]] = {}
        _model_paths(Config, (), places)
        missing = [
            f"{owner}.{key}"
            for (owner, key), patterns in sorted(places.items())
            if not any(_matches(pattern, path) for pattern in patterns for path in documented)
        ]
        assert missing == []

    def test_every_key_has_a_comment(self) -> None:
        """Each key line, or the comment line above it, explains the key (siblings once)."""
        places: dict[tuple[str, str], list[tuple[str, ...]]] = {}
        _model_paths(Config, (), places)
        keys = {key for _, key in places}
        lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
        explained: set[str] = set()
        bare = []
        for number, line in enumerate(lines, start=1):
            key = line.strip().removeprefix("- ").split(":")[0]
            if line.lstrip().startswith("#") or ":" not in line or key not in keys:
                continue
            if "#" in line or lines[number - 2].lstrip().startswith("#"):
                explained.add(key)
            elif key not in explained:
                bare.append(f"{number}: {line.strip()}")
        assert bare == []


def _lower_writeback(text: str) -> str:
    head, _, tail = text.partition("writeback:")
    body, _, rest = tail.partition("\nserver:")
    lowered = "\n".join(
        line.split(":")[0] + ": " + line.split(":")[1].split("#")[0].strip().lower()
        if ":" in line and "__c" in line
        else line
        for line in body.splitlines()
    )
    return head + "writeback:" + lowered + "\nserver:" + rest


def _document_paths(node: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    paths = {prefix} if prefix else set()
    if isinstance(node, dict):
        for key, value in node.items():
            paths |= _document_paths(value, (*prefix, str(key)))
    elif isinstance(node, list):
        for item in node:
            paths |= _document_paths(item, (*prefix, "[]"))
    return paths


Places = dict[tuple[str, str], list[tuple[str, ...]]]


def _model_paths(model: type[BaseModel], prefix: tuple[str, ...], places: Places) -> None:
    """Record, per (section class, key), every path pattern where that key can be written."""
    internal: frozenset[str] = getattr(model, "internal_keys", frozenset())
    for name, field in model.model_fields.items():
        if name in internal:
            continue
        path = (*prefix, name)
        places.setdefault((model.__name__, name), []).append(path)
        _annotation_paths(field.annotation, path, places)


def _annotation_paths(annotation: Any, path: tuple[str, ...], places: Places) -> None:
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is typing.Annotated:
        _annotation_paths(arguments[0], path, places)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        _model_paths(annotation, path, places)
    elif origin in (typing.Union, types.UnionType):
        members = [member for member in arguments if member is not type(None)]
        tagged = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        for member in members:
            if len(tagged) > 1 and member in tagged:
                tag = (*path, member.model_fields["kind"].default)
                places.setdefault((member.__name__, "<kind>"), []).append(tag)
                _model_paths(member, tag, places)
            else:
                _annotation_paths(member, path, places)
    elif origin is tuple:
        _annotation_paths(arguments[0], (*path, "[]"), places)
    elif origin is dict:
        _annotation_paths(arguments[1], (*path, "*"), places)


def _matches(pattern: tuple[str, ...], path: tuple[str, ...]) -> bool:
    return len(pattern) == len(path) and all(
        p in ("*", q) for p, q in zip(pattern, path, strict=True)
    )


class TestDefaults:
    """A nearly empty file (database + crm.kind) gives a working demo configuration."""

    def test_salesforce_minimal(self) -> None:
        """Defaults a demanding user expects, with Salesforce `__c` write-back names."""
        config = parse_config(SF, env={})
        assert config.database.url.get_secret_value() == "sqlite:///./data/nps.db"
        assert config.survey.min_interval == dt.timedelta(days=90)
        assert config.survey.languages == ("en", "ja")
        assert config.survey.backfill_window == dt.timedelta(days=7)
        assert config.survey.mail.transport == "directory"
        assert config.server.port == 8080
        assert config.segments.min_sample == 30
        assert config.crm.salesforce.auth.method == "jwt"
        assert config.crm.salesforce.bulk_threshold == 10_000
        assert config.crm.salesforce.contact.opted_out == "HasOptedOutOfEmail"
        assert config.writeback.contact.last_score == "NPS_Last_Score__c"
        assert config.writeback.account.nps_score == "NPS_Score__c"
        assert config.followup.detractor.task.sla == dt.timedelta(hours=24)
        assert isinstance(config.programs["support_case_closed"].trigger, RecordChangeTrigger)

    def test_hubspot_minimal(self) -> None:
        """HubSpot gets snake_case property names in the `nps` group and its own limits."""
        config = parse_config(HS, env={})
        assert config.writeback.contact.last_score == "nps_last_score"
        assert config.writeback.account.detractors == "nps_detractors"
        assert config.writeback.property_group == "nps"
        assert (config.crm.hubspot.tier, config.crm.hubspot.search_per_second) == (100, 4)
        assert config.crm.hubspot.lookback == dt.timedelta(minutes=5)

    def test_default_taxonomy_is_the_b2b_one(self) -> None:
        """Without `tags`, the seven B2B reasons apply, labelled in English and Japanese."""
        tags = parse_config(SF, env={}).tags
        assert [tag.labels["ja"] for tag in tags] == [
            "機能価値",
            "使いやすさ",
            "品質・障害",
            "導入支援",
            "サポート",
            "価格・契約",
            "連携・拡張",
        ]
        assert all(tag.builtin and tag.builtin_words for tag in tags)

    def test_writeback_override_keeps_other_defaults(self) -> None:
        """Overriding one write-back field (or nulling it) leaves the other defaults in place."""
        config = parse_config(
            SF + "writeback:\n  contact:\n    last_score: Score__c\n    last_comment: null\n",
            env={},
        )
        assert config.writeback.contact.last_score == "Score__c"
        assert config.writeback.contact.last_comment is None
        assert config.writeback.contact.last_category == "NPS_Last_Category__c"

    def test_survey_links_follow_the_public_server_url(self) -> None:
        """Without survey.base_url, links use server.public_base_url."""
        config = parse_config(SF + "server:\n  public_base_url: https://nps.acme.io/\n", env={})
        assert config.survey.base_url == "https://nps.acme.io"

    def test_config_is_frozen(self) -> None:
        """Loaded configuration cannot be changed by the code that reads it."""
        config = parse_config(SF, env={})
        with pytest.raises(ValidationError):
            config.server.port = 1  # type: ignore[misc]


class TestInterpolation:
    """`${VAR}` and `${VAR:-default}` in text values, from an env mapping passed in."""

    def test_variable_and_default(self) -> None:
        """Set variables are substituted; unset or empty ones fall back to the default."""
        text = SF + "server:\n  host: ${HOST}\n  public_base_url: ${URL:-http://localhost:9}\n"
        config = parse_config(text, env={"HOST": "10.0.0.5", "URL": ""})
        assert (config.server.host, config.server.public_base_url) == (
            "10.0.0.5",
            "http://localhost:9",
        )

    def test_numbers_from_environment(self) -> None:
        """Interpolated text converts to the key's type, e.g. a port."""
        config = parse_config(SF + "server:\n  port: ${PORT}\n", env={"PORT": "9090"})
        assert config.server.port == 9090

    def test_escape(self) -> None:
        """`$${` is a literal `${`, e.g. inside a template."""
        config = parse_config(SF + "survey:\n  sender:\n    name: Team $${x}\n", env={})
        assert config.survey.sender.name == "Team ${x}"

    def test_secret_stays_out_of_repr(self) -> None:
        """A database URL from the environment (with its password) never shows in repr."""
        config = parse_config(
            SF + "database:\n  url: ${DATABASE_URL}\n",
            env={"DATABASE_URL": "postgresql+psycopg://nps:hunter2@db/nps"},
        )
        assert "hunter2" not in repr(config)
        assert config.database.url.get_secret_value().endswith("hunter2@db/nps")

    def test_secret_stays_out_of_errors(self) -> None:
        """A bad value from the environment is not echoed into the error message."""
        error = _error(SF + "server:\n  host: x\n  port: ${PORT}\n", env={"PORT": "s3cr3t"})
        assert str(error).startswith("config.yaml:5:3: server.port: ")
        assert "s3cr3t" not in str(error)

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            pytest.param("${}", "invalid environment variable reference '${}'", id="empty"),
            pytest.param("${1X}", "invalid environment variable reference '${1X}'", id="bad-name"),
            pytest.param("${OPEN", "unclosed '${'", id="unclosed"),
        ],
    )
    def test_malformed_reference(self, value: str, message: str) -> None:
        """Malformed references are errors at the key, not silently kept."""
        error = _error(SF + f"server:\n  host: '{value}'\n")
        assert str(error).startswith("config.yaml:4:3: server.host: ")
        assert message in str(error)

    def test_read_secret(self) -> None:
        """Secrets named by *_env keys are read when needed, and a missing one is named."""
        assert read_secret("TOKEN", {"TOKEN": "abc"}).get_secret_value() == "abc"
        with pytest.raises(ConfigError, match="environment variable 'TOKEN' is not set"):
            read_secret("TOKEN", {})


class TestDurations:
    """Durations RevOps writes, and the ones rejected."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            pytest.param("30s", dt.timedelta(seconds=30), id="seconds"),
            pytest.param("15m", dt.timedelta(minutes=15), id="minutes"),
            pytest.param("2h", dt.timedelta(hours=2), id="hours"),
            pytest.param("7d", dt.timedelta(days=7), id="days"),
            pytest.param("2w", dt.timedelta(weeks=2), id="weeks"),
            pytest.param("1h30m", dt.timedelta(minutes=90), id="combined"),
            pytest.param("-30d", -dt.timedelta(days=30), id="negative-offset"),
        ],
    )
    def test_parse(self, text: str, expected: dt.timedelta) -> None:
        """Each unit and combination parses to the timedelta it says."""
        assert parse_duration(text, signed=True) == expected

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("two hours", id="words"),
            pytest.param("2", id="no-unit"),
            pytest.param("2H", id="upper-case"),
            pytest.param("30m2h", id="wrong-order"),
            pytest.param("-", id="sign-only"),
            pytest.param("", id="empty"),
        ],
    )
    def test_reject(self, text: str) -> None:
        """Garbage is rejected with the accepted syntax in the message."""
        with pytest.raises(ValueError, match=r"invalid duration .*use e\.g\. 30m, 2h, 7d"):
            parse_duration(text)


class TestConditions:
    """Conditions become typed clauses at load time."""

    def test_every_operator(self) -> None:
        """Bare values mean equals; lists go with in/not_in; several fields all must hold."""
        text = _program(
            "      record_change:\n        object: Case\n        when:\n"
            "          Status: {changed_to: Closed}\n          Priority: High\n"
            "          Origin: {in: [Web, Email]}\n          Type: {not_in: [Spam]}\n"
            "          Age__c: {gt: 1, lte: 30}\n"
        )
        trigger = parse_config(text, env={}).programs["p"].trigger
        assert isinstance(trigger, RecordChangeTrigger)
        assert trigger.when == Condition(
            (
                Clause("Status", Operator.CHANGED_TO, "Closed"),
                Clause("Priority", Operator.EQUALS, "High"),
                Clause("Origin", Operator.IN, ("Web", "Email")),
                Clause("Type", Operator.NOT_IN, ("Spam",)),
                Clause("Age__c", Operator.GT, 1),
                Clause("Age__c", Operator.LTE, 30),
            )
        )
        assert trigger.when.watches_change

    def test_changed_to_only_in_record_change(self) -> None:
        """`changed_to` has no meaning on an audience and is refused there."""
        error = _error(
            _program(
                "      schedule: {cron: '0 9 * * 1'}\n",
                extra="    audience:\n      account.Type: {changed_to: Customer}\n",
            )
        )
        assert str(error).startswith(
            "config.yaml:7:22: programs.p.audience.account.Type.changed_to"
        )


class TestLoadConfig:
    """Reading the file itself."""

    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file is named, without a traceback's worth of noise."""
        path = tmp_path / "nope.yaml"
        with pytest.raises(ConfigError) as caught:
            load_config(path, env={})
        assert str(caught.value) == f"{path}: configuration file not found"

    def test_directory(self, tmp_path: Path) -> None:
        """A directory given as the file says so."""
        with pytest.raises(ConfigError, match="is a directory"):
            load_config(tmp_path, env={})

    def test_errors_name_the_file_given(self, tmp_path: Path) -> None:
        """Messages start with the path as the user gave it."""
        path = tmp_path / "config.yaml"
        path.write_text("crm:\n  kind: sales\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=rf"^{path}:2:3: crm\.kind: "):
            load_config(path, env={})


class TestProgramFields:
    """Sync reads exactly the fields enabled programs test, by CRM object."""

    def test_fields_from_triggers_and_audiences(self) -> None:
        """Trigger conditions, date fields and audience fields are gathered per object."""
        text = SF + (
            "programs:\n"
            "  closed:\n"
            "    touchpoint: support\n"
            "    audience: {contact.Title: {not_in: [Intern]}}\n"
            "    trigger:\n"
            "      record_change: {object: Case, when: {Status: {changed_to: Closed}}}\n"
            "  renewal:\n"
            "    touchpoint: renewal\n"
            "    exclude: [{account.Type: Partner}]\n"
            "    trigger:\n"
            "      date_offset: {object: Opportunity, field: CloseDate, offset: -30d}\n"
            "  off:\n"
            "    enabled: false\n"
            "    touchpoint: x\n"
            "    trigger:\n"
            "      record_change: {object: Case, when: {Origin: {changed_to: Web}}}\n"
        )
        assert parse_config(text, env={}).program_fields() == {
            "Case": frozenset({"Status", "Priority", "Subject"}),  # Priority: high-priority
            # cases; Subject: the title tasks and invitations name the case by
            "Contact": frozenset({"Title"}),
            "Opportunity": frozenset({"CloseDate", "Name"}),
            "Account": frozenset({"Type"}),
        }


class TestManagers:
    """`followup.managers` and `fallback_manager`: who "manager" escalations reach."""

    def test_ids_are_kept_as_text(self) -> None:
        """Quoted HubSpot owner ids and Salesforce user ids load as the CRM's id strings."""
        config = parse_config(
            HS + "followup:\n  managers:\n    '70000003': '70000001'\n"
            "  fallback_manager: 70000000\n",
            "config.yaml",
            env={},
        )
        assert config.followup.managers == {"70000003": "70000001"}
        assert config.followup.fallback_manager == "70000000"

    def test_none_by_default(self) -> None:
        """Without the keys, escalation relies on the CRM's own hierarchy alone."""
        config = parse_config(SF, "config.yaml", env={})
        assert config.followup.managers == {}
        assert config.followup.fallback_manager is None


@pytest.mark.parametrize(
    ("expression", "weekday"),
    [
        pytest.param("0 10 * * 3", "Wed", id="3 is Wednesday, as in cron"),
        pytest.param("0 10 * * 0", "Sun", id="0 is Sunday"),
        pytest.param("0 10 * * 7", "Sun", id="7 is Sunday too"),
        pytest.param("0 10 * * 5-6", "Fri", id="a range"),
        pytest.param("0 10 * * sat", "Sat", id="names pass through"),
    ],
)
def test_cron_weekdays_are_numbered_as_cron_numbers_them(expression: str, weekday: str) -> None:
    """APScheduler counts from Monday = 0; a RevOps crontab line must fire on the cron day."""
    from worker.config.values import crontab

    monday = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
    fire = crontab(expression, "UTC").get_next_fire_time(None, monday)
    assert fire is not None
    assert fire.strftime("%a") == weekday


def test_cron_weekday_out_of_range_is_a_config_error() -> None:
    from worker.config.values import check_cron

    with pytest.raises(ValueError, match="0-7"):
        check_cron("0 10 * * 8", "UTC")
