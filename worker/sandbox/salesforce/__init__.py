"""The sandbox's Salesforce org: REST data API, SOQL, describe, collections, composite, limits,
OAuth and SOAP logins — served to the real simple-salesforce over HTTPS."""

from worker.sandbox.salesforce.client import client_for
from worker.sandbox.salesforce.org import DEFAULT_CREDENTIALS, SalesforceOrg

__all__ = ["DEFAULT_CREDENTIALS", "SalesforceOrg", "client_for"]
