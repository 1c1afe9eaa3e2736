"""Salesforce credentials: which OAuth flow, and the environment variables holding its secrets.

The config names environment variables, never secrets. Each flow resolves its variables into the
keyword arguments `simple_salesforce.Salesforce` takes for that flow (OAuth 2.0 JWT bearer,
client credentials, username-password with security token). Values are read with
`read_secret`, which registers them for log redaction and raises `ConfigError` naming a missing
variable, never its value.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from worker.config import read_secret


def _require(environ: Mapping[str, str], name: str) -> str:
    return read_secret(name, environ).get_secret_value()


@dataclass(frozen=True)
class JwtBearerAuth:
    """OAuth 2.0 JWT bearer flow: a connected app's consumer key and the integration user.

    The private key comes from a variable holding the PEM text, or one holding its file path.
    """

    username_env: str
    consumer_key_env: str
    private_key_env: str | None = None
    private_key_file_env: str | None = None
    domain: str = "login"

    def sdk_kwargs(self, environ: Mapping[str, str]) -> dict[str, str]:
        """Keyword arguments for `simple_salesforce.Salesforce`."""
        if self.private_key_env:
            key = {"privatekey": _require(environ, self.private_key_env)}
        elif self.private_key_file_env:
            key = {"privatekey_file": _require(environ, self.private_key_file_env)}
        else:
            raise ValueError("JWT bearer auth needs private_key_env or private_key_file_env")
        return {
            "username": _require(environ, self.username_env),
            "consumer_key": _require(environ, self.consumer_key_env),
            **key,
            "domain": self.domain,
        }


@dataclass(frozen=True)
class ClientCredentialsAuth:
    """OAuth 2.0 client credentials flow; needs the org's My Domain (e.g. `acme.my`)."""

    consumer_key_env: str
    consumer_secret_env: str
    domain: str

    def sdk_kwargs(self, environ: Mapping[str, str]) -> dict[str, str]:
        """Keyword arguments for `simple_salesforce.Salesforce`."""
        return {
            "consumer_key": _require(environ, self.consumer_key_env),
            "consumer_secret": _require(environ, self.consumer_secret_env),
            "domain": self.domain,
        }


@dataclass(frozen=True)
class PasswordAuth:
    """Username, password and security token (SOAP login), for orgs without a connected app."""

    username_env: str
    password_env: str
    security_token_env: str
    domain: str = "login"

    def sdk_kwargs(self, environ: Mapping[str, str]) -> dict[str, str]:
        """Keyword arguments for `simple_salesforce.Salesforce`."""
        return {
            "username": _require(environ, self.username_env),
            "password": _require(environ, self.password_env),
            "security_token": _require(environ, self.security_token_env),
            "domain": self.domain,
        }


SalesforceAuth = JwtBearerAuth | ClientCredentialsAuth | PasswordAuth
