"""Read a secret named by a `*_env` setting from the environment, at the moment it is needed."""

import os
from collections.abc import Mapping

from pydantic import SecretStr

from worker.config.errors import ConfigError, ConfigIssue
from worker.logs import redactor


def read_secret(variable: str, env: Mapping[str, str] | None = None) -> SecretStr:
    """The value of environment variable `variable`, wrapped and registered for log redaction."""
    value = (os.environ if env is None else env).get(variable)
    if not value:
        raise ConfigError(
            [
                ConfigIssue(
                    "<environment>", 0, 0, "", f"environment variable '{variable}' is not set"
                )
            ]
        )
    redactor.add_secrets([value])
    return SecretStr(value)
