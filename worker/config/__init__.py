"""One typed configuration from YAML + environment, with errors that name file, line and key."""

from worker.config.conditions import Clause, Condition, Operator
from worker.config.credentials import read_secret
from worker.config.errors import ConfigError, ConfigIssue
from worker.config.loader import load_config, parse_config
from worker.config.model import Config

__all__ = [
    "Clause",
    "Condition",
    "Config",
    "ConfigError",
    "ConfigIssue",
    "Operator",
    "load_config",
    "parse_config",
    "read_secret",
]
