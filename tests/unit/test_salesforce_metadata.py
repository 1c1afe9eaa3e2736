"""The SFDX source in salesforce/ creates every field the default Salesforce mapping writes,
grants it in the permission set, and matches what the sandbox org describes."""

from pathlib import Path
from xml.etree import ElementTree

import pytest

from worker.config.defaults import writeback_defaults
from worker.sandbox.salesforce.schema import SCHEMA

SOURCE = Path(__file__).resolve().parents[2] / "salesforce" / "force-app" / "main" / "default"
NS = {"md": "http://soap.sforce.com/2006/04/metadata"}
OBJECTS = {"contact": "Contact", "account": "Account"}
# Metadata `type` per sandbox describe type (Number fields describe as double).
TYPES = {
    "Number": "double",
    "DateTime": "datetime",
    "Picklist": "picklist",
    "Url": "url",
    "LongTextArea": "textarea",
}
WRITTEN = [
    pytest.param(OBJECTS[section], name, id=f"{OBJECTS[section]}.{name}")
    for section, fields in writeback_defaults("salesforce").items()
    for name in fields.values()
]


def _xml(path: Path) -> ElementTree.Element:
    return ElementTree.parse(path).getroot()  # noqa: S314 - the repository's own metadata files


def _granted() -> set[str]:
    permission_set = _xml(SOURCE / "permissionsets" / "NPS_Worker.permissionset-meta.xml")
    return {
        str(grant.findtext("md:field", namespaces=NS))
        for grant in permission_set.findall("md:fieldPermissions", NS)
        if grant.findtext("md:editable", namespaces=NS) == "true"
    }


@pytest.mark.parametrize(("sobject", "name"), WRITTEN)
def test_written_field_is_deployed_granted_and_emulated(sobject: str, name: str) -> None:
    """Each default write-back field has its metadata file, edit access, and a sandbox twin
    of the same type, precision and scale."""
    path = SOURCE / "objects" / sobject / "fields" / f"{name}.field-meta.xml"
    assert path.is_file(), f"{path} is missing"
    field = _xml(path)
    assert field.findtext("md:fullName", namespaces=NS) == name
    assert f"{sobject}.{name}" in _granted()
    emulated = SCHEMA[sobject].field(name)
    assert emulated is not None
    kind = str(field.findtext("md:type", namespaces=NS))
    if kind in TYPES:
        assert emulated.type == TYPES[kind]
    if kind == "Number":
        assert (emulated.precision, emulated.scale) == (
            int(str(field.findtext("md:precision", namespaces=NS))),
            int(str(field.findtext("md:scale", namespaces=NS))),
        )


def test_the_task_dedup_key_is_emulated_as_deployed() -> None:
    """The key is an External ID that is not Unique, in the metadata and in the sandbox, so
    the sandbox's View All Data rule for upserts applies to it as a real org's would."""
    field = _xml(SOURCE / "objects" / "Activity" / "fields" / "NPS_Dedup_Key__c.field-meta.xml")
    emulated = SCHEMA["Task"].field("NPS_Dedup_Key__c")
    assert emulated is not None
    assert field.findtext("md:externalId", namespaces=NS) == "true"
    assert field.findtext("md:unique", namespaces=NS) == "false"
    assert (emulated.external_id, emulated.unique) == (True, False)
    assert f"Task.{emulated.name}" in _granted()
