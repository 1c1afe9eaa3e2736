"""What the next command needs from the machine: every named variable set, every named file there.

`check` exits 0 only when the next command can run (DESIGN.md promise 12). A valid file is not
enough: the credentials, the token secret and the files it names live outside it. Each problem
names the key that refers to it and the variable or path itself; a variable's *value* is never
shown, except a path, which is not a secret and is what the admin has to look for.
"""

from collections.abc import Iterator, Mapping
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from worker.config.errors import ConfigIssue
from worker.config.model import Config
from worker.config.source import Path as KeyPath
from worker.config.source import Source, format_path

MIN_TOKEN_SECRET = 32
"""Characters a survey-link signing secret needs (`surveys.tokens.MIN_SECRET_LENGTH`)."""


def machine_problems(
    config: Config, source: Source, env: Mapping[str, str], *, shared: bool = True
) -> list[ConfigIssue]:
    """Each unset variable and missing file `config` relies on, located at the key naming it.

    `shared`: also the sections a further CRM's file takes from the main one (survey, notify).
    """
    problems = [
        *_crm_variables(config, source, env),
        *_files(config, source),
    ]
    if shared:
        problems.extend(_shared_variables(config, source, env))
    return problems


def _crm_variables(config: Config, source: Source, env: Mapping[str, str]) -> Iterator[ConfigIssue]:
    crm = config.crm
    if crm.kind == "hubspot":
        key = ("crm", "hubspot", "access_token_env")
        yield from _unset(source, env, key, crm.hubspot.access_token_env)
        return
    auth = crm.salesforce.auth
    base: KeyPath = ("crm", "salesforce", "auth", auth.method)
    for name, variable in auth.active.model_dump().items():
        if variable is None:
            continue
        yield from _unset(source, env, (*base, name), variable)
        value = env.get(variable)
        if name == "private_key_file_env" and value:
            what = f"the key file {variable} names"
            missing = list(_missing_file(source, (*base, name), value, what))
            yield from missing or _not_a_key(source, (*base, name), Path(value).read_bytes(), what)
        elif name == "private_key_env" and value:
            what = f"the key in {variable}"
            yield from _not_a_key(source, (*base, name), value.encode(), what)


def _shared_variables(
    config: Config, source: Source, env: Mapping[str, str]
) -> Iterator[ConfigIssue]:
    survey = config.survey
    token = ("survey", "token_secret_env")
    missing = list(_unset(source, env, token, survey.token_secret_env))
    yield from missing
    value = env.get(survey.token_secret_env, "")
    if not missing and len(value) < MIN_TOKEN_SECRET:
        yield _at(
            source,
            token,
            f"environment variable '{survey.token_secret_env}' holds {len(value)} characters;"
            f" a link-signing secret needs at least {MIN_TOKEN_SECRET}"
            " (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)",
        )
    if survey.channel == "email" and survey.mail.transport == "smtp":
        smtp = survey.mail.smtp
        for name in ("username_env", "password_env"):
            variable = getattr(smtp, name)
            if variable is not None:
                yield from _unset(source, env, ("survey", "mail", "smtp", name), variable)
    if survey.channel == "webhook":
        yield from _unset(
            source, env, ("survey", "webhook", "secret_env"), survey.webhook.secret_env
        )
    for kind, variable in config.notify.webhooks().items():
        yield from _unset(source, env, ("notify", kind, "webhook_env"), variable)


def _files(config: Config, source: Source) -> Iterator[ConfigIssue]:
    if config.crm.ca_bundle:
        yield from _missing_file(source, ("crm", "ca_bundle"), config.crm.ca_bundle, "file")
    if config.survey.templates_dir:
        folder = Path(config.survey.templates_dir)
        if not folder.is_dir():
            yield _at(
                source, ("survey", "templates_dir"), f"folder not found: {_shown_path(folder)}"
            )
    base = Path(source.name).parent
    for index, name in enumerate(config.other_crms):
        path = base / name
        if not path.is_file():
            yield _at(source, ("other_crms", index), f"file not found: {_shown_path(path)}")


def _not_a_key(source: Source, key: KeyPath, data: bytes, what: str) -> Iterator[ConfigIssue]:
    """A JWT bearer login signs with this key: text that is not one fails there, obscurely."""
    try:
        serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        yield _at(
            source,
            key,
            f"{what} is not an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)",
        )


def _unset(
    source: Source, env: Mapping[str, str], key: KeyPath, variable: str
) -> Iterator[ConfigIssue]:
    if not env.get(variable):
        state = "is empty" if variable in env else "is not set"
        yield _at(source, key, f"environment variable '{variable}' {state}")


def _missing_file(source: Source, key: KeyPath, given: str, what: str) -> Iterator[ConfigIssue]:
    path = Path(given)
    if not path.is_file():
        yield _at(source, key, f"{what} not found: {_shown_path(path)}")


def _shown_path(path: Path) -> str:
    """The path as written, and where that is when it is relative to the working directory."""
    return str(path) if path.is_absolute() else f"{path} (that is, {path.absolute()})"


def _at(source: Source, key: KeyPath, message: str) -> ConfigIssue:
    line, column = source.locate(key)
    return ConfigIssue(source.name, line, column, format_path(key), message)
