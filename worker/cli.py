"""The `nps-worker` command line: parse arguments, call one function, print, and exit 0, 1 or 2.

Exit codes are part of the stable interface (DESIGN.md section 7): 0 ok, 1 runtime failure,
2 bad config or usage. Each command's body lives in the module that owns the work.
"""

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import structlog

from worker.config import Config, ConfigError, load_config
from worker.logs import configure_logging
from worker.sync.base import AuthFailed, Unavailable
from worker.sync.factory import SALESFORCE_SETUP, connect, field_problems, set_up_fields
from worker.sync.hubspot import HubSpotClient

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

log = structlog.get_logger(__name__)

Command = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A mistake in how the command was called; reported on one line, exit code 2."""


def resolve_config_path(given: str | None, env: dict[str, str] | None = None) -> Path:
    """`--config`, else `$NPS_WORKER_CONFIG`, else `./config.yaml` (DESIGN.md section 7)."""
    environ = os.environ if env is None else env
    return Path(given or environ.get("NPS_WORKER_CONFIG") or "config.yaml")


def _load(args: argparse.Namespace) -> Config:
    path = resolve_config_path(args.config)
    if not path.is_file():
        raise UsageError(
            f"{path}: config file not found (pass --config PATH or set NPS_WORKER_CONFIG)"
        )
    config = load_config(path)
    configure_logging(config.logging.level.upper(), config.logging.format)
    return config


def _others(args: argparse.Namespace, config: Config) -> list[Config]:
    """The configs of the CRMs served side by side (`other_crms`), validated."""
    from worker.config.side_by_side import load_other_crms

    return load_other_crms(config, resolve_config_path(args.config))


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the config file and its rules, the variables and files it names, then the
    mapped fields against the CRM."""
    from worker.checking import check_files

    path = resolve_config_path(args.config)
    if not path.is_file():
        raise UsageError(
            f"{path}: config file not found (pass --config PATH or set NPS_WORKER_CONFIG)"
        )
    found = check_files(path, os.environ)
    problems = [str(issue) for issue in found.problems]
    if found.config is not None and not problems:
        try:
            _check_chats(found.config)
        except ConfigError as error:
            problems = [str(issue) for issue in error.errors]
    if problems or found.config is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        return EXIT_USAGE
    config = found.config
    configure_logging(config.logging.level.upper(), config.logging.format)
    for checked, loaded in found.checked:
        print(f"{checked}: ok — {loaded.summary()}")
    from worker.checking import never_pulled

    for checked, loaded in found.checked:
        for warning in never_pulled(loaded):
            print(f"{checked}: {warning}")
    if args.offline:
        return EXIT_OK
    crm_problems = _crm_field_problems(config)
    if crm_problems is None:
        return EXIT_OK
    for problem in crm_problems:
        print(f"crm: {problem}", file=sys.stderr)
    if crm_problems:
        return EXIT_USAGE
    print(f"crm: every mapped {config.crm.kind} field exists with the expected type")
    return EXIT_OK


def _check_chats(config: Config) -> None:
    """ConfigError when a chat webhook variable that `notify` names holds no usable URL."""
    from worker.notify.sender import Chats

    if config.notify.webhooks():
        Chats(config.notify)


def _crm_field_problems(config: Config) -> list[str] | None:
    """Mapped-field problems per the CRM, or None (said on stdout) when it cannot be asked."""
    try:
        return field_problems(config, connect(config, interactive=True))
    except ConfigError as error:
        print(f"crm: not checked — {error.errors[0].message}")
    except Unavailable as error:
        print(f"crm: not reachable — {error.message}")
    except AuthFailed as error:
        raise UsageError(f"crm: login refused — {error.code}: {error.message}") from error
    return None


def cmd_setup_crm(args: argparse.Namespace) -> int:
    """Create the custom fields or properties the mapping needs, where the CRM's API allows."""
    config = _load(args)
    client = connect(config, interactive=True)
    if not isinstance(client, HubSpotClient):
        print(SALESFORCE_SETUP)
        problems = field_problems(config, client)
        for problem in problems:
            print(f"crm: {problem}")
        return EXIT_FAILURE if problems else EXIT_OK
    created = set_up_fields(config, client)
    for name in created:
        print(f"created {name}")
    print(f"crm: {len(created)} created; the mapping's properties are in place")
    return EXIT_OK


def cmd_healthcheck(args: argparse.Namespace) -> int:
    """Ask the running worker's /healthz on the host and port the config gives (the image's
    HEALTHCHECK): exit 0 when it answers 200, else 1."""
    import urllib.request
    from urllib.error import URLError

    server = _load(args).server
    host = "127.0.0.1" if server.host in ("0.0.0.0", "::", "") else server.host  # noqa: S104 (compared, not bound)
    url = f"http://{host}:{server.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as answer:
            healthy = answer.status == 200
    except (URLError, OSError) as error:
        print(f"healthcheck: {url}: {error}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK if healthy else EXIT_FAILURE


def cmd_migrate(args: argparse.Namespace) -> int:
    """Upgrade the database named in the config to the newest schema."""
    from worker.store.migrate import current_revision, upgrade

    config = _load(args)
    url = config.database.url.get_secret_value()
    upgrade(url)
    print(f"database at revision {current_revision(url)}")
    return EXIT_OK


def cmd_forget(args: argparse.Namespace) -> int:
    """Erase a person's personal data and never survey them again; recorded in the audit log."""
    from datetime import UTC, datetime

    from worker.privacy import InvalidAddress
    from worker.privacy.command import forget_command

    config = _load(args)
    try:
        erasure = forget_command(config, args.email, actor=args.actor, now=datetime.now(UTC))
    except InvalidAddress as error:
        raise UsageError(f"forget: {error}") from None
    print(erasure)
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """The outer loop: NPS by slice with intervals, themes, KPIs; as a table, JSON, CSV or HTML."""
    from datetime import UTC, datetime

    from worker.analytics.command import ReportUsageError, run, window

    config = _load(args)
    now = datetime.now(UTC)
    try:
        run(
            config,
            period=window(args.since, args.until, now),
            fmt=args.format,
            language=args.language,
            out=args.out,
            backlog_path=args.backlog,
            account=args.account,
            now=now,
        )
    except ReportUsageError as error:
        raise UsageError(f"report: {error}") from None
    for written, what in ((args.out, f"{args.format} report"), (args.backlog, "backlog")):
        if written is not None:
            print(
                f"wrote {written}: the {what} ({args.language}) / {written} に書き出しました",
                file=sys.stderr if args.out is None else sys.stdout,
            )
    return EXIT_OK


def cmd_backlog(args: argparse.Namespace) -> int:
    """The improvement backlog: list, plan, assign, start, close, import and export items."""
    from datetime import UTC, datetime

    from worker.backlog import command
    from worker.backlog.items import BacklogError
    from worker.runtime import open_store
    from worker.store.models import BacklogStatus

    config = _load(args)
    now = datetime.now(UTC)
    store = open_store(config)
    sessions, actor = store.sessions, args.actor
    try:
        if args.action == "list":
            statuses = [BacklogStatus(s) for s in args.status or ()]
            text = command.list_items(
                sessions, config, statuses=statuses, fmt=args.format, today=now.date()
            )
            print(text, end="")
        elif args.action == "plan":
            print("\n".join(command.plan_items(sessions, config, now=now, actor=actor)))
        elif args.action == "assign":
            print(
                command.assign_item(
                    sessions, args.item, args.owner, due_on=args.due, now=now, actor=actor
                )
            )
        elif args.action == "start":
            print(command.start_item(sessions, args.item, now=now, actor=actor))
        elif args.action == "close":
            lines = command.close_item(
                sessions,
                config,
                args.item,
                note=args.note,
                dropped=args.dropped,
                notify=args.notify,
                now=now,
                actor=actor,
            )
            print("\n".join(lines))
        elif args.action == "import":
            return _backlog_import(args, config, sessions, now)
        else:
            text = command.export_items(sessions)
            if args.out:
                args.out.write_text(text, encoding="utf-8")
            else:
                print(text, end="")
    except BacklogError as error:
        raise UsageError(f"backlog: {error}") from None
    finally:
        store.engine.dispose()
    return EXIT_OK


def _backlog_import(args: argparse.Namespace, config: Config, sessions: Any, now: Any) -> int:
    from worker.backlog import command

    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{path}: file not found")
    result = command.import_items(
        sessions, config, path, dry_run=args.dry_run, now=now, actor=args.actor
    )
    for issue in result.issues:
        print(issue, file=sys.stderr)
    if result.issues:
        print(f"{path}: nothing imported ({len(result.issues)} problems)")
        return EXIT_FAILURE
    verb = "would create" if args.dry_run else "created"
    print(
        f"{path}: {verb} {result.created}, updated {result.updated}, unchanged {result.unchanged}"
    )
    return EXIT_OK


def cmd_intervention(args: argparse.Namespace) -> int:
    """Interventions shown before/after in the report: add one, or list them all."""
    from datetime import UTC, datetime

    from worker.analytics.interventions import MarkerSpec, UnknownSlice, add, markers
    from worker.analytics.slices import dimensions
    from worker.runtime import open_store

    config = _load(args)
    store = open_store(config)
    try:
        if args.action == "list":
            with store.sessions() as session:
                for marker in markers(session, config):
                    where = f" [{marker.dimension}={marker.value}]" if marker.dimension else ""
                    print(f"{marker.on}  {marker.label}{where}")
            return EXIT_OK
        dimension, value = _slice(args.slice)
        marker = MarkerSpec(args.label, args.date, dimension, value)
        with store.sessions.begin() as session:
            add(
                session,
                marker,
                dimensions={d.id: d for d in dimensions(config)},
                actor=args.actor,
                now=datetime.now(UTC),
            )
        print(f"intervention added: {args.date} {args.label}")
    except UnknownSlice as error:
        raise UsageError(f"intervention: {error}") from None
    finally:
        store.engine.dispose()
    return EXIT_OK


def _slice(text: str | None) -> tuple[str | None, str | None]:
    """`touchpoint=onboarding` -> ("touchpoint", "onboarding")."""
    if text is None:
        return None, None
    dimension, sep, value = text.partition("=")
    if not sep or not dimension.strip() or not value.strip():
        raise UsageError(f"intervention: --slice '{text}' is not DIMENSION=VALUE")
    return dimension.strip(), value.strip()


def cmd_digest(args: argparse.Namespace) -> int:
    """The weekly review pack: preview it as HTML, or send the one that is due."""
    from datetime import UTC, datetime

    from worker.digest.command import DigestUsageError, preview, send

    config = _load(args)
    now = datetime.now(UTC)
    try:
        if args.send:
            print(send(config, now=now))
        else:
            for path in preview(config, args.out, now=now):
                print(f"wrote {path}")
    except DigestUsageError as error:
        raise UsageError(f"digest: {error}") from None
    return EXIT_OK


def cmd_tags_test(args: argparse.Namespace) -> int:
    """Show the tags, polarity and matched words the config's taxonomy gives one comment."""
    from worker.tag_test import tag_test_lines

    config = _load(args)
    if args.score is not None and not 0 <= args.score <= 10:
        raise UsageError(f"tags test: --score {args.score} is not between 0 and 10")
    print("\n".join(tag_test_lines(config, args.comment, args.language, args.score)))
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    """Bring in answers collected elsewhere from a CSV file, deduplicated; bad rows reported."""
    from datetime import UTC, datetime

    from worker.surveys.import_command import import_command

    config = _load(args)
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{path}: file not found")
    result = import_command(
        config, path, dry_run=args.dry_run, now=datetime.now(UTC), follow_up=args.follow_up
    )
    for issue in result.issues:
        print(issue, file=sys.stderr)
    verb = "would import" if args.dry_run else "imported"
    tasks = (
        "detractors get follow-up tasks due from now / 批判者にはフォローアップタスクを作成します"
        if args.follow_up
        else "as history: no follow-up tasks (--follow-up opens them)"
        " / 履歴として取り込み、タスクは作成しません"
    )
    print(
        f"{path}: {verb} {result.imported}, {result.duplicates} already imported,"
        f" {len(result.issues)} not imported; {tasks}"
    )
    return EXIT_FAILURE if result.issues else EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    """Serve the CRM emulator until interrupted."""
    from worker.sandbox.cli import serve

    return serve(
        port=args.port,
        seed=args.seed,
        size=args.size,
        host=args.host,
        minimum_access=args.minimum_access,
    )


def _date(text: str) -> date:
    """A YYYY-MM-DD argument."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date '{text}' (use YYYY-MM-DD)") from None


def _instant(text: str) -> datetime:
    """A `--now` argument: an ISO 8601 time, UTC unless it says otherwise."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time '{text}' (use e.g. 2026-03-02T09:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def cmd_sync(args: argparse.Namespace) -> int:
    """Run one cycle now (pull, plan, send, answers, follow-ups, CRM writes)."""
    from worker.commands import LeaseHeld, sync_once

    if not args.once:
        raise UsageError("sync runs one cycle: pass --once (the daemon is `nps-worker run`)")
    from worker.sync.crm_clock import command_clock

    config = _load(args)
    clock, note = command_clock(config, args.now)
    if note:
        print(note)
    try:
        return sync_once(config, others=_others(args, config), dry_run=args.dry_run, clock=clock)
    except LeaseHeld as error:
        print(error, file=sys.stderr)
        return EXIT_FAILURE


def cmd_run(args: argparse.Namespace) -> int:
    """The daemon: scheduled cycles and dispatch, and the response web endpoint (or, with
    `--web-only`, the endpoint alone)."""
    from worker.commands import run_daemon

    config = _load(args)
    if args.migrate:
        from worker.store.migrate import upgrade

        upgrade(config.database.url.get_secret_value())
    return run_daemon(config, others=_others(args, config), web_only=args.web_only)


def cmd_demo(args: argparse.Namespace) -> int:
    """The whole loop on embedded defaults: sandbox CRM, SQLite, mail to a folder."""
    from worker.demo.run import run_demo

    configure_logging("WARNING")
    return run_demo(days=args.days, size=args.size, seed=args.seed, out=args.out, kind=args.crm)


def cmd_explain(args: argparse.Namespace) -> int:
    """Why a contact was or was not surveyed, and what happened: checks, surveys, answers, tasks."""
    from worker.explain import NothingFound, explain
    from worker.runtime import open_store
    from worker.sync.crm_clock import command_clock

    config = _load(args)
    clock, _ = command_clock(config)
    store = open_store(config)
    try:
        with store.sessions.begin() as session:
            lines = explain(session, config, args.who, clock(), actor=args.actor)
    except NothingFound as error:
        print(error, file=sys.stderr)
        return EXIT_FAILURE
    finally:
        store.engine.dispose()
    print("\n".join(lines))
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """Health: last cycle per CRM, API budget, outbox, refused writes, overdue follow-ups."""
    import json

    from worker.runtime import open_store
    from worker.status import gather, render
    from worker.store.engine import reading
    from worker.sync.crm_clock import command_clock

    config = _load(args)
    clock, _ = command_clock(config)
    store = open_store(config)
    try:
        with reading(store.sessions) as session:
            state = gather(session, config, clock())
    finally:
        store.engine.dispose()
    print(
        json.dumps(state.as_json(), indent=2) if args.format == "json" else "\n".join(render(state))
    )
    return EXIT_OK if state.healthy else EXIT_FAILURE


def _add_inspection(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    common: argparse.ArgumentParser,
) -> None:
    """`explain` and `status`: read the store, change nothing but the audit log."""
    explain = commands.add_parser("explain", parents=[common], help=cmd_explain.__doc__)
    explain.add_argument(
        "who", metavar="EMAIL|CRM_ID", help="a contact's address or CRM id, or an account id"
    )
    explain.add_argument("--actor", default="cli", help="who asked, for the audit log")
    explain.set_defaults(handler=cmd_explain)
    status = commands.add_parser("status", parents=[common], help=cmd_status.__doc__)
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.set_defaults(handler=cmd_status)


def _add_outer_loop(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    common: argparse.ArgumentParser,
    report: argparse.ArgumentParser,
) -> None:
    """`report --account`, `backlog`, `intervention` and `digest`: the product team's tools."""
    report.add_argument(
        "--account", metavar="ID", help="one account's review pack (its CRM id or name)"
    )
    actor = argparse.ArgumentParser(add_help=False)
    actor.add_argument("--actor", default="cli", help="who made the change, for the history")
    backlog = commands.add_parser("backlog", help=cmd_backlog.__doc__)
    actions = backlog.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", parents=[common, actor], help="list the items")
    listing.add_argument("--status", action="append", choices=[s.value for s in _statuses()])
    listing.add_argument("--format", choices=("table", "csv", "json"), default="table")
    actions.add_parser("plan", parents=[common, actor], help="store items for the top themes")
    assign = actions.add_parser("assign", parents=[common, actor], help="set an item's owner")
    assign.add_argument("item", type=int)
    assign.add_argument("owner")
    assign.add_argument("--due", type=_date, help="new due date (YYYY-MM-DD)")
    start = actions.add_parser("start", parents=[common, actor], help="mark an item in progress")
    start.add_argument("item", type=int)
    close = actions.add_parser("close", parents=[common, actor], help="mark an item done")
    close.add_argument("item", type=int)
    close.add_argument("--note", help="what was changed (shown to customers with --notify)")
    close.add_argument("--dropped", action="store_true", help="dropped rather than done")
    close.add_argument(
        "--notify", action="store_true", help="e-mail the customers who complained (once)"
    )
    imports = actions.add_parser("import", parents=[common, actor], help="apply a CSV file")
    imports.add_argument("file", metavar="FILE.csv")
    imports.add_argument("--dry-run", action="store_true", help="check and report; change nothing")
    export = actions.add_parser("export", parents=[common, actor], help="every item as CSV")
    export.add_argument("--out", type=Path, metavar="FILE", help="write here instead of stdout")
    backlog.set_defaults(handler=cmd_backlog)

    intervention = commands.add_parser("intervention", help=cmd_intervention.__doc__)
    steps = intervention.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = steps.add_parser("add", parents=[common, actor], help="record an intervention")
    add.add_argument("--date", type=_date, required=True, help="when it took effect (YYYY-MM-DD)")
    add.add_argument("--label", required=True, help='what changed, e.g. "onboarding revamped"')
    add.add_argument("--slice", metavar="DIMENSION=VALUE", help="e.g. touchpoint=onboarding")
    steps.add_parser("list", parents=[common, actor], help="list interventions")
    intervention.set_defaults(handler=cmd_intervention)

    digest = commands.add_parser("digest", parents=[common], help=cmd_digest.__doc__)
    digest.add_argument(
        "--send", action="store_true", help="send the scheduled digest now if not sent yet"
    )
    digest.add_argument(
        "--out", type=Path, default=Path(), metavar="DIR", help="folder for the HTML preview"
    )
    digest.set_defaults(handler=cmd_digest)


def _statuses() -> list[Any]:
    from worker.store.models import BacklogStatus

    return list(BacklogStatus)


def _add_tags(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    common: argparse.ArgumentParser,
) -> None:
    """`tags test`: try the config's taxonomy on a comment; reads nothing but the config."""
    tags = commands.add_parser(
        "tags", help="Try the reason taxonomy on a comment: tags, polarity, matched words."
    )
    tag_commands = tags.add_subparsers(dest="tags_command", required=True, metavar="COMMAND")
    tag_test = tag_commands.add_parser("test", parents=[common], help=cmd_tags_test.__doc__)
    tag_test.add_argument("comment", help="the comment, quoted")
    tag_test.add_argument(
        "--language",
        choices=("en", "ja"),
        help="the contact's language (default: read from the comment's script); also the output's",
    )
    tag_test.add_argument(
        "--score",
        type=int,
        help="the answer's score, for the polarity of tags the words leave open",
    )
    tag_test.set_defaults(handler=cmd_tags_test)


def _add_sandbox_and_demo(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    common: argparse.ArgumentParser,
) -> None:
    """`sandbox` and `demo`: the CRM emulator alone, and the whole loop against it."""
    sandbox = commands.add_parser("sandbox", parents=[common], help=cmd_sandbox.__doc__)
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sandbox.add_argument("--port", type=int, default=8443, help="TLS port (0: any free port)")
    sandbox.add_argument("--seed", type=int, default=1, help="seed of the generated data")
    sandbox.add_argument("--size", type=int, default=1000, help="number of contacts")
    sandbox.add_argument(
        "--minimum-access",
        action="store_true",
        help="the Salesforce integration user holds no permission set (see `check`)",
    )
    sandbox.set_defaults(handler=cmd_sandbox)

    demo = commands.add_parser("demo", parents=[common], help=cmd_demo.__doc__)
    demo.add_argument("--crm", choices=("salesforce", "hubspot"), default="salesforce")
    demo.add_argument("--days", type=int, default=28, help="simulated days (default 28)")
    demo.add_argument("--size", type=int, default=600, help="contacts in the sandbox CRM")
    demo.add_argument("--seed", type=int, default=1, help="seed of the company and the answers")
    demo.add_argument("--out", type=Path, default=Path("demo-out"), help="folder for its files")
    demo.set_defaults(handler=cmd_demo)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one subcommand per entry of DESIGN.md section 7 that exists."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        help="config file (default: $NPS_WORKER_CONFIG, then ./config.yaml)",
    )
    parser = argparse.ArgumentParser(
        prog="nps-worker", description="Closed-loop NPS beside Salesforce and HubSpot."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", parents=[common], help=cmd_check.__doc__)
    check.add_argument(
        "--offline", action="store_true", help="validate the file only; do not call the CRM"
    )
    check.set_defaults(handler=cmd_check)

    setup = commands.add_parser("setup-crm", parents=[common], help=cmd_setup_crm.__doc__)
    setup.set_defaults(handler=cmd_setup_crm)

    health = commands.add_parser("healthcheck", parents=[common], help=cmd_healthcheck.__doc__)
    health.set_defaults(handler=cmd_healthcheck)

    migrate = commands.add_parser("migrate", parents=[common], help=cmd_migrate.__doc__)
    migrate.set_defaults(handler=cmd_migrate)

    forget = commands.add_parser("forget", parents=[common], help=cmd_forget.__doc__)
    forget.add_argument("email", help="the address of the person to erase")
    forget.add_argument("--actor", default="cli", help="who asked, for the audit log")
    forget.set_defaults(handler=cmd_forget)

    report = commands.add_parser("report", parents=[common], help=cmd_report.__doc__)
    report.add_argument("--since", type=_date, help="first day (YYYY-MM-DD, UTC; default: all)")
    report.add_argument("--until", type=_date, help="last day, included (default: up to now)")
    report.add_argument("--format", choices=("table", "json", "csv", "html"), default="table")
    report.add_argument("--out", type=Path, metavar="FILE", help="write here instead of stdout")
    report.add_argument("--language", choices=("en", "ja"), default="en", help="report language")
    report.add_argument(
        "--backlog", type=Path, metavar="FILE", help="also export top themes (.csv or .json)"
    )
    report.set_defaults(handler=cmd_report)
    _add_outer_loop(commands, common, report)

    sync = commands.add_parser("sync", parents=[common], help=cmd_sync.__doc__)
    sync.add_argument("--once", action="store_true", help="run one cycle and exit")
    sync.add_argument(
        "--dry-run", action="store_true", help="print the plan; send, write and keep nothing"
    )
    sync.add_argument(
        "--now",
        type=_instant,
        metavar="ISO",
        help="run as if it were this UTC time, e.g. 2026-03-02T09:00 (default: the wall clock,"
        " or the sandbox CRM's when crm.endpoint is the sandbox)",
    )
    sync.set_defaults(handler=cmd_sync)

    run = commands.add_parser("run", parents=[common], help=cmd_run.__doc__)
    run.add_argument(
        "--migrate",
        action="store_true",
        help="upgrade the database first (one replica; with several, run `migrate` once)",
    )
    run.add_argument(
        "--web-only",
        action="store_true",
        help="serve the answer page only: no scheduler, cycles or CRM calls (extra replicas)",
    )
    run.set_defaults(handler=cmd_run)

    _add_sandbox_and_demo(commands, common)
    _add_inspection(commands, common)

    imports = commands.add_parser("import", parents=[common], help=cmd_import.__doc__)
    imports.add_argument("file", metavar="FILE.csv", help="columns email or crm_id, date, score")
    imports.add_argument("--dry-run", action="store_true", help="report only; store nothing")
    imports.add_argument(
        "--follow-up",
        action="store_true",
        help="open follow-up tasks for the imported detractors, due from now (default: history,"
        " no tasks)",
    )
    imports.set_defaults(handler=cmd_import)

    _add_tags(commands, common)
    for sub in commands.choices.values():
        handler = sub.get_default("handler")
        if sub.description is None and handler is not None:
            sub.description = handler.__doc__
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has already printed the usage message
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    configure_logging()
    handler: Command = args.handler
    try:
        return handler(args)
    except ConfigError as error:
        for issue in error.errors:
            print(issue, file=sys.stderr)
        return EXIT_USAGE
    except UsageError as error:
        print(error, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except Exception:  # the last line of defence: any failure is logged and exits 1
        log.exception("command_failed", command=args.command)
        return EXIT_FAILURE
