"""The body of `nps-worker sandbox`: serve the CRM emulator in the foreground until stopped."""

import secrets
import signal
import sys
import threading
from types import FrameType

import structlog

from worker.sandbox.salesforce import DEFAULT_CREDENTIALS
from worker.sandbox.salesforce.client import SANDBOX_MY_DOMAIN
from worker.sandbox.salesforce.org import INTEGRATION_PERMISSION_SETS
from worker.sandbox.server import Sandbox

log = structlog.get_logger(__name__)


def serve(
    port: int, seed: int, size: int, host: str = "127.0.0.1", *, minimum_access: bool = False
) -> int:
    """Run the sandbox on `host:port`, print how to connect, and serve until SIGINT/SIGTERM.

    `minimum_access`: the Salesforce integration user holds no permission set, as before an
    admin assigns the one `salesforce/` ships.
    """
    permission_sets = () if minimum_access else INTEGRATION_PERMISSION_SETS
    try:
        sandbox = Sandbox(
            seed=seed,
            size=size,
            host=host,
            port=port,
            salesforce_permission_sets=permission_sets,
        ).start()
    except (RuntimeError, ValueError) as error:
        print(f"sandbox: cannot start: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        print(connection_help(sandbox), flush=True)
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sandbox.stop()
    print("sandbox: stopped", flush=True)
    return 0


def worker_config(sandbox: Sandbox, kind: str = "salesforce") -> str:
    """A whole worker config for this sandbox: `check` passes and `sync --once` runs with it."""
    return "\n".join(
        [
            "database:",
            "  url: sqlite:///./data/nps.db",
            "crm:",
            f"  kind: {kind}",
            f"  endpoint: {sandbox.base_url}",
            f"  ca_bundle: {sandbox.ca_path}",
            "  salesforce:",
            f"    domain: {SANDBOX_MY_DOMAIN}",
            "    auth: {method: client_credentials}",
            "survey:",
            "  mail: {transport: directory, directory: {path: ./out/mail}}",
        ]
    )


def worker_environment() -> dict[str, str]:
    """The variables that config names, with values the sandbox accepts."""
    creds = DEFAULT_CREDENTIALS
    return {
        "SALESFORCE_CONSUMER_KEY": creds.consumer_key,
        "SALESFORCE_CONSUMER_SECRET": creds.consumer_secret,
        "HUBSPOT_ACCESS_TOKEN": "sandbox-token",
        "NPS_TOKEN_SECRET": secrets.token_urlsafe(32),
    }


def connection_help(sandbox: Sandbox) -> str:
    """What a person needs to point the worker or an SDK at a running sandbox."""
    base = sandbox.base_url
    world = sandbox.world
    creds = DEFAULT_CREDENTIALS
    return "\n".join(
        [
            f"CRM sandbox: {len(world.people)} contacts at {len(world.companies)} companies "
            f"(seed {sandbox.seed}) at {base}",
            f"  CA bundle to trust:  {sandbox.ca_path}",
            "",
            f"  Salesforce REST:     {base}/services/data/   OAuth: {base}/services/oauth2/token",
            f"  HubSpot CRM v3:      {base}/crm/v3/",
            "",
            "  Save as config.yaml (complete; for HubSpot write kind: hubspot) / 設定ファイル:",
            *(f"    {line}" for line in worker_config(sandbox).splitlines()),
            "  and set its environment (NPS_TOKEN_SECRET signs survey links) / 環境変数:",
            *(f"    export {name}={value}" for name, value in worker_environment().items()),
            f"  (auth method password: SALESFORCE_USERNAME={creds.username}",
            f"   SALESFORCE_PASSWORD={creds.password}"
            f" SALESFORCE_SECURITY_TOKEN={creds.security_token})",
            "",
            f'  Time machine:        POST {base}/_sandbox/advance   {{"days": 1}}',
            f'  Clock:               GET|POST {base}/_sandbox/clock   {{"now": "<ISO 8601>"}}',
            f'  Faults:              GET|POST {base}/_sandbox/faults   {{"rules": [...]}}',
            f"  Request log:         GET {base}/_sandbox/requests?crm=&method=&path=",
            f"  Salesforce access:   GET|POST {base}/_sandbox/salesforce/permission-sets"
            '   {"assigned": [...], "deploy": {"<name>": "<xml>"}}',
            "Stop with Ctrl-C or SIGTERM.",
        ]
    )
