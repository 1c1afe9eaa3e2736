"""Who may call the org: OAuth 2.0 token grants, the SOAP login, and the sessions they create.

Shapes from Salesforce Help, "OAuth Authorization Flows": username-password flow
(remoteaccess_oauth_username_password_flow.htm), client credentials flow
(remoteaccess_oauth_client_credentials_flow.htm), JWT bearer flow
(remoteaccess_oauth_jwt_flow.htm), token response fields and error codes
(remoteaccess_oauth_flow_errors.htm); SOAP API Developer Guide, login() and LoginResult
(sforce_api_calls_login.htm, sforce_api_calls_login_loginresult.htm).
"""

import base64
import hashlib
import hmac
import secrets
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

import jwt

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_PARTNER_NS = "{urn:partner.soap.sforce.com}"
_LOGIN_FAULT = "Invalid username, password, security token; or user locked out."


@dataclass(frozen=True)
class Credentials:
    """The integration user's secrets and the connected app's keys the org accepts."""

    username: str
    password: str
    security_token: str
    consumer_key: str
    consumer_secret: str


@dataclass(frozen=True)
class TokenGrant:
    """A successful login: the session and the user it belongs to."""

    access_token: str
    user_id: str


class OAuthError(Exception):
    """A refused token request: HTTP status plus the OAuth `error` and `error_description`."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description


class Sessions:
    """Access tokens the org has issued; expiring them all forces clients to log in again."""

    def __init__(self, org_id: str) -> None:
        self._org_id = org_id
        self._lock = threading.Lock()
        self._users: dict[str, str] = {}

    def issue(self, user_id: str) -> str:
        """A new access token (session id) for `user_id`, shaped like Salesforce's."""
        token = f"{self._org_id[:15]}!{secrets.token_urlsafe(72)}"
        with self._lock:
            self._users[token] = user_id
        return token

    def user_for(self, token: str) -> str | None:
        """The user a live token authenticates, or None for unknown or expired tokens."""
        with self._lock:
            return self._users.get(token)

    def end(self, token: str) -> None:
        """End one session (it timed out)."""
        with self._lock:
            self._users.pop(token, None)

    def expire_all(self) -> None:
        """End every session (like a session timeout or an admin revoking them)."""
        with self._lock:
            self._users.clear()


class Authenticator:
    """Checks logins against the org's credentials and issues sessions."""

    def __init__(
        self, credentials: Credentials, sessions: Sessions, usernames: "UserDirectory"
    ) -> None:
        self.credentials = credentials
        self.sessions = sessions
        self._usernames = usernames
        self._jwt_keys: list[bytes] = []

    def trust_jwt_key(self, public_key_pem: bytes) -> None:
        """Accept JWT assertions signed by the private half of this key (the app's certificate)."""
        self._jwt_keys.append(public_key_pem)

    def token(self, form: dict[str, str], authorization: str | None) -> TokenGrant:
        """Run one OAuth token request; raises OAuthError as Salesforce words it."""
        grant_type = form.get("grant_type", "")
        if grant_type == "password":
            self._check_client(form.get("client_id"), form.get("client_secret"))
            password = form.get("password", "")
            creds = self.credentials
            if form.get("username") != creds.username or password not in {
                creds.password,
                creds.password + creds.security_token,
            }:
                raise OAuthError(400, "invalid_grant", "authentication failure")
            return self._grant(creds.username)
        if grant_type == "client_credentials":
            client_id, client_secret = _basic_auth(authorization) or (
                form.get("client_id"),
                form.get("client_secret"),
            )
            self._check_client(client_id, client_secret)
            return self._grant(self.credentials.username)
        if grant_type == JWT_GRANT:
            return self._grant(self._jwt_subject(form.get("assertion", "")))
        raise OAuthError(400, "unsupported_grant_type", "grant type not supported")

    def soap_login(self, envelope: bytes) -> TokenGrant:
        """Run a SOAP login(); raises OAuthError carrying the LoginFault code and message."""
        try:
            root = ET.fromstring(envelope)  # noqa: S314 -- local emulator, trusted test clients
        except ET.ParseError as exc:
            raise OAuthError(500, "INVALID_LOGIN", _LOGIN_FAULT) from exc
        username = root.findtext(f".//{_PARTNER_NS}username") or ""
        password = root.findtext(f".//{_PARTNER_NS}password") or ""
        creds = self.credentials
        if username != creds.username or password != creds.password + creds.security_token:
            raise OAuthError(500, "INVALID_LOGIN", _LOGIN_FAULT)
        return self._grant(username)

    def signature(self, identity_url: str, issued_at: str) -> str:
        """HMAC-SHA256 of id + issued_at keyed by the consumer secret, base64 (token response)."""
        digest = hmac.new(
            self.credentials.consumer_secret.encode(),
            (identity_url + issued_at).encode(),
            hashlib.sha256,
        ).digest()
        return base64.b64encode(digest).decode()

    def _check_client(self, client_id: str | None, client_secret: str | None) -> None:
        if client_id != self.credentials.consumer_key:
            raise OAuthError(400, "invalid_client_id", "client identifier invalid")
        if client_secret != self.credentials.consumer_secret:
            raise OAuthError(400, "invalid_client", "invalid client credentials")

    def _jwt_subject(self, assertion: str) -> str:
        claims: dict[str, Any] | None = None
        for key in self._jwt_keys:
            try:
                claims = jwt.decode(
                    assertion,
                    key,
                    algorithms=["RS256"],
                    options={"require": ["iss", "sub", "aud", "exp"], "verify_aud": False},
                )
                break
            except jwt.PyJWTError:
                continue
        if claims is None:
            raise OAuthError(400, "invalid_grant", "invalid assertion")
        audience = str(claims["aud"])
        if not audience.startswith("https://") or not audience.endswith(".salesforce.com"):
            raise OAuthError(400, "invalid_grant", "audience is invalid")
        if claims["iss"] != self.credentials.consumer_key:
            raise OAuthError(400, "invalid_client_id", "client identifier invalid")
        subject = str(claims["sub"])
        if self._usernames.user_id(subject) is None:
            raise OAuthError(400, "invalid_grant", "user hasn't approved this consumer")
        return subject

    def _grant(self, username: str) -> TokenGrant:
        user_id = self._usernames.user_id(username)
        if user_id is None:
            raise OAuthError(400, "invalid_grant", "authentication failure")
        return TokenGrant(self.sessions.issue(user_id), user_id)


class UserDirectory:
    """Resolves usernames of active users to their ids (the org's User records)."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}

    def add(self, username: str, user_id: str) -> None:
        """Register an active user's username."""
        self._ids[username.lower()] = user_id

    def user_id(self, username: str) -> str | None:
        """The id of the active user with this username, if any."""
        return self._ids.get(username.lower())


def token_response(
    grant: TokenGrant, *, instance_url: str, org_id: str, issued: datetime, signature_of: Any
) -> dict[str, str]:
    """The JSON body of a successful token request."""
    identity = f"https://login.salesforce.com/id/{org_id}/{grant.user_id}"
    issued_at = str(int(issued.timestamp() * 1000))
    return {
        "access_token": grant.access_token,
        "instance_url": instance_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature_of(identity, issued_at),
        "scope": "api",
    }


def login_envelope(
    grant: TokenGrant, *, instance_url: str, version: str, org_id: str, username: str
) -> str:
    """The SOAP LoginResult envelope simple-salesforce reads sessionId and serverUrl from."""
    user = escape(username)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{instance_url}/services/Soap/m/{version}/{org_id}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
        f"<serverUrl>{instance_url}/services/Soap/u/{version}/{org_id}</serverUrl>"
        f"<sessionId>{escape(grant.access_token)}</sessionId>"
        f"<userId>{grant.user_id}</userId>"
        f"<userInfo><organizationId>{org_id}</organizationId><userId>{grant.user_id}</userId>"
        f"<userName>{user}</userName></userInfo>"
        "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )


def login_fault(code: str, message: str) -> str:
    """The SOAP fault envelope of a refused login (LoginFault)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
        '<detail><sf:LoginFault xsi:type="sf:LoginFault">'
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        "</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )


def _basic_auth(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:]).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, _, client_secret = decoded.partition(":")
    return client_id, client_secret
