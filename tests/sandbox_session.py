"""A requests session for tests that talk to the sandbox directly, as the worker's clients do.

It routes Salesforce and HubSpot hosts to the sandbox through the worker's own endpoint adapter;
it lives with the tests, not in the sandbox, which imports nothing from the worker.
"""

import requests

from worker.sandbox.server import Sandbox
from worker.sync.endpoint import endpoint_session


def sandbox_session(sandbox: Sandbox) -> requests.Session:
    """A session that trusts the sandbox CA and sends Salesforce/HubSpot traffic to it."""
    return endpoint_session(sandbox.base_url, sandbox.ca_path)
