"""`nps-worker check` without the CRM: every problem of every file, in one run.

Promise 12 (DESIGN.md section 5): exit 0 means the next command can run. So besides the file's
own validation, each file's variables and files on this machine, its mail and task templates
and the files of `other_crms` are checked, and every problem found is reported, one line each,
rather than the first of each kind.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from worker.config import Config, ConfigError, ConfigIssue
from worker.config.loader import load_located
from worker.config.readiness import machine_problems
from worker.config.side_by_side import load_other_crms
from worker.config.source import Source, format_path
from worker.rules.template_check import template_problems


@dataclass
class FileCheck:
    """What was found in the main file and the files it names."""

    config: Config | None = None
    checked: list[tuple[Path, Config]] = field(default_factory=list)
    problems: list[ConfigIssue] = field(default_factory=list)


def check_files(path: Path, env: Mapping[str, str]) -> FileCheck:
    """Load `path` and its `other_crms`, collecting every problem instead of the first."""
    result = FileCheck()
    main = _load(path, env, result.problems)
    if main is None:
        return result
    config, source = main
    result.config = config
    result.problems.extend(_own_problems(config, source, env, shared=True))
    others: list[tuple[Path, Config]] = []
    for name in config.other_crms:
        other_path = path.parent / name
        if not other_path.is_file():
            continue  # named by machine_problems at the `other_crms` entry
        loaded = _load(other_path, env, result.problems)
        if loaded is not None:
            result.problems.extend(_own_problems(*loaded, env, shared=False))
            others.append((other_path, loaded[0]))
    if not result.problems:
        try:
            shared = load_other_crms(config, path, env)
        except ConfigError as error:
            result.problems.extend(error.errors)
        else:
            others = [(p, c) for (p, _), c in zip(others, shared, strict=True)]
    result.checked = [(path, config), *others]
    return result


def never_pulled(config: Config) -> list[str]:
    """Warnings for fields the rules test that the mirror has never read (an audience added
    to a running worker): until the next cycle reads them, every contact fails the test.

    Read from the store when it exists and is migrated; `check` never creates it.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from worker.store import mirror
    from worker.store.engine import make_engine, normalise_url, session_factory
    from worker.store.migrate import current_revision, head_revision

    url = config.database.url.get_secret_value()
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return []
    try:
        if current_revision(url) != head_revision():
            return []
        engine = make_engine(url)
        try:
            with session_factory(engine)() as session:
                pulled = {
                    name: mirror.pulled_fields(session, config.crm.kind, name)
                    for name in config.program_fields()
                }
        finally:
            engine.dispose()
    except SQLAlchemyError:
        return []
    warnings = []
    for name, wanted in config.program_fields().items():
        known = pulled[name]
        for field_name in sorted(wanted - known) if known is not None else ():
            warnings.append(
                f"warning: {name}.{field_name} has never been pulled into the mirror; until"
                f" the next cycle reads every {name} again for it, rules testing it fail"
                " (e.g. every contact refused as not_in_audience)"
                f" / {name}.{field_name} は未取得です。次のサイクルで全件を再取得します"
            )
    return warnings


def _load(
    path: Path, env: Mapping[str, str], problems: list[ConfigIssue]
) -> tuple[Config, Source] | None:
    try:
        return load_located(path, env)
    except ConfigError as error:
        problems.extend(error.errors)
        return None


def _own_problems(
    config: Config, source: Source, env: Mapping[str, str], *, shared: bool
) -> list[ConfigIssue]:
    from worker.surveys.render import Templates

    problems = machine_problems(config, source, env, shared=shared)
    for key, message in template_problems(config):
        line, column = source.locate(key)
        problems.append(ConfigIssue(source.name, line, column, format_path(key), message))
    if shared and not any(p.path == "survey.templates_dir" for p in problems):
        try:
            Templates.from_config(config.survey).check()
        except ConfigError as error:
            problems.extend(error.errors)
    return sorted(problems, key=lambda issue: (issue.line, issue.column))
