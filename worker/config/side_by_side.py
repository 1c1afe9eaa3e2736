"""Several CRMs side by side: one main config file, and one file per further CRM.

A company on Salesforce for sales and HubSpot for marketing runs one worker: the main file
names the other in `other_crms`. Each further file is a whole config whose CRM-specific sections
(`crm`, `programs`, `followup`, `segments`, `writeback`) serve its CRM; everything shared
(database, survey, tags, tagging, server, scheduler, privacy, analytics, digest, notify) comes
from the main file, so one person is surveyed by one set of rules, whichever CRM holds them.
"""

from collections.abc import Mapping
from pathlib import Path

from worker.config.errors import ConfigError, ConfigIssue
from worker.config.loader import load_config
from worker.config.model import Config

SHARED = (
    "database",
    "survey",
    "tags",
    "tagging",
    "server",
    "scheduler",
    "logging",
    "analytics",
    "privacy",
    "digest",
    "notify",
)
"""Sections a further CRM's file takes from the main file."""


def load_other_crms(
    main: Config, main_path: Path, env: Mapping[str, str] | None = None
) -> list[Config]:
    """The configs of `other_crms`, paths relative to the main file, with shared sections."""
    others: list[Config] = []
    kinds = {main.crm.kind: str(main_path)}
    programs = dict.fromkeys(main.programs, str(main_path))
    for index, name in enumerate(main.other_crms):
        path = main_path.parent / name
        other = load_config(path, env)
        if other.other_crms:
            _fail(str(path), "other_crms", "only the main config file lists other CRMs")
        if other.crm.kind in kinds:
            _fail(
                str(main_path),
                f"other_crms[{index}]",
                f"{path} is a second {other.crm.kind} config (also {kinds[other.crm.kind]});"
                " each CRM kind is served once",
            )
        kinds[other.crm.kind] = str(path)
        for program in other.programs:
            if program in programs:
                _fail(
                    str(path),
                    f"programs.{program}",
                    f"program name also used in {programs[program]}; names must be unique",
                )
            programs[program] = str(path)
        shared = {section: getattr(main, section) for section in SHARED}
        others.append(other.model_copy(update=shared))
    return others


def _fail(source: str, key: str, message: str) -> None:
    raise ConfigError([ConfigIssue(source, 0, 0, key, message)])
