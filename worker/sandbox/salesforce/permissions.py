"""Who may do what in the org: a user's profile and permission sets, and the access they add up to.

Metadata API Developer Guide, "PermissionSet" (objectPermissions: allowRead, allowCreate,
allowEdit, allowDelete, viewAllRecords, modifyAllRecords; fieldPermissions: `Object.Field`,
readable, editable; userPermissions: name, enabled); Salesforce Help, "Object Permissions" and
"Field-Level Security". Access is the union of every grant a user holds. What the API does with
it: an object without Read is unknown to SOQL (INVALID_TYPE) and to describe (NOT_FOUND); a
custom field without read access is missing from describe and unknown to SOQL (INVALID_FIELD);
describe's createable/updateable flags are the running user's; a write without the object's
Create or Edit fails with INSUFFICIENT_ACCESS_OR_READONLY. Two objects have no object
permissions: Task (activities; creating and editing them takes the "Edit Tasks" user
permission, EditTask, and reading them follows the records they relate to) and User (every
user reads users). Field-level security is modelled for custom fields; a standard field
follows its object. Record sharing is not modelled: a user who may read an object reads all
of its records.
"""

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from worker.sandbox.salesforce.schema import SCHEMA, FieldDef, SObjectDef, sobject

VIEW_ALL_DATA = "ViewAllData"
MODIFY_ALL_DATA = "ModifyAllData"
API_ENABLED = "ApiEnabled"
EDIT_TASK = "EditTask"
TASK = "Task"
USER = "User"
_ACTIVITY_PARENTS = ("Account", "Contact")
_WITHOUT_OBJECT_PERMISSIONS = frozenset({TASK, USER})
_NS = "{http://soap.sforce.com/2006/04/metadata}"
_ACTIVITY = "Activity"
"""Custom activity fields are defined on Activity; their permissions name Task (or Event)."""


class InvalidPermissionSet(ValueError):
    """A permission set the org refuses to deploy, with the reason Salesforce would give."""


@dataclass(frozen=True)
class ObjectAccess:
    """Object permissions on one sObject."""

    read: bool = False
    create: bool = False
    edit: bool = False
    delete: bool = False
    view_all: bool = False
    modify_all: bool = False

    def __or__(self, other: "ObjectAccess") -> "ObjectAccess":
        return ObjectAccess(
            self.read or other.read,
            self.create or other.create,
            self.edit or other.edit,
            self.delete or other.delete,
            self.view_all or other.view_all,
            self.modify_all or other.modify_all,
        )


FULL_OBJECT_ACCESS = ObjectAccess(True, True, True, True, True, True)


@dataclass(frozen=True)
class FieldAccess:
    """Field-level security of one field."""

    readable: bool = False
    editable: bool = False


@dataclass(frozen=True)
class PermissionSet:
    """A named grant: object, field and user (system) permissions.

    `all_fields` stands for a profile that reads and edits every field (System Administrator).
    """

    name: str
    objects: Mapping[str, ObjectAccess] = field(default_factory=dict)
    fields: Mapping[str, FieldAccess] = field(default_factory=dict)
    user_permissions: frozenset[str] = frozenset()
    all_fields: bool = False


MINIMUM_ACCESS_API_ONLY = PermissionSet(
    "Minimum Access - API Only Integrations", user_permissions=frozenset({API_ENABLED})
)
"""The profile of an integration user: it may log in to the API and do nothing else."""
SYSTEM_ADMINISTRATOR = PermissionSet(
    "System Administrator",
    objects=dict.fromkeys(SCHEMA, FULL_OBJECT_ACCESS),
    user_permissions=frozenset({API_ENABLED, VIEW_ALL_DATA, MODIFY_ALL_DATA}),
    all_fields=True,
)


def parse_permission_set(name: str, xml_text: str | bytes) -> PermissionSet:
    """A `.permissionset-meta.xml` document as the org deploys it; raises InvalidPermissionSet."""
    try:
        root = ET.fromstring(xml_text)  # noqa: S314 -- metadata from the repo or a test
    except ET.ParseError as error:
        raise InvalidPermissionSet(f"{name}: not well-formed XML: {error}") from error
    objects: dict[str, ObjectAccess] = {}
    for node in root.findall(f"{_NS}objectPermissions"):
        definition = _sobject(name, _text(node, "object"))
        if definition.name in _WITHOUT_OBJECT_PERMISSIONS:
            raise InvalidPermissionSet(
                f"{name}: {definition.name} takes no object permissions"
                + (f" (grant the {EDIT_TASK} user permission)" if definition.name == TASK else "")
            )
        access = ObjectAccess(
            read=_flag(node, "allowRead"),
            create=_flag(node, "allowCreate"),
            edit=_flag(node, "allowEdit"),
            delete=_flag(node, "allowDelete"),
            view_all=_flag(node, "viewAllRecords"),
            modify_all=_flag(node, "modifyAllRecords"),
        )
        if (access.create or access.edit or access.delete or access.view_all) and not access.read:
            raise InvalidPermissionSet(
                f"{name}: {definition.name}: Create, Edit, Delete and View All need Read"
            )
        objects[definition.name] = access
    fields: dict[str, FieldAccess] = {}
    for node in root.findall(f"{_NS}fieldPermissions"):
        object_name, _, field_name = _text(node, "field").partition(".")
        definition = _sobject(name, object_name)
        found = definition.field(field_name)
        if found is None or not found.custom:
            raise InvalidPermissionSet(
                f"{name}: In field: field - no CustomField named {object_name}.{field_name} found"
            )
        access_ = FieldAccess(readable=_flag(node, "readable"), editable=_flag(node, "editable"))
        if access_.editable and not access_.readable:
            raise InvalidPermissionSet(
                f"{name}: {object_name}.{field_name}: editable needs readable"
            )
        fields[f"{definition.name}.{found.name}"] = access_
    granted = frozenset(
        _text(node, "name")
        for node in root.findall(f"{_NS}userPermissions")
        if _flag(node, "enabled")
    )
    return PermissionSet(name, objects, fields, granted)


def _sobject(permission_set: str, name: str) -> SObjectDef:
    definition = sobject("Task" if name == _ACTIVITY else name)
    if definition is None:
        raise InvalidPermissionSet(f"{permission_set}: no object named {name} in the org")
    return definition


def _text(node: ET.Element, tag: str) -> str:
    return (node.findtext(f"{_NS}{tag}") or "").strip()


def _flag(node: ET.Element, tag: str) -> bool:
    return _text(node, tag).lower() == "true"


class Access:
    """What one user may do: the union of their profile and permission sets."""

    def __init__(self, grants: Iterable[PermissionSet]) -> None:
        self.grants = tuple(grants)
        permissions = frozenset().union(*(g.user_permissions for g in self.grants))
        self.view_all_data = VIEW_ALL_DATA in permissions
        self.modify_all_data = MODIFY_ALL_DATA in permissions
        self._edit_tasks = EDIT_TASK in permissions
        self._all_fields = any(g.all_fields for g in self.grants)
        self._objects: dict[str, ObjectAccess] = {}
        for grant in self.grants:
            for name, access in grant.objects.items():
                self._objects[name] = self._objects.get(name, ObjectAccess()) | access
        self._fields: dict[str, FieldAccess] = {}
        for grant in self.grants:
            for key, access_ in grant.fields.items():
                known = self._fields.get(key, FieldAccess())
                self._fields[key] = FieldAccess(
                    known.readable or access_.readable, known.editable or access_.editable
                )

    def on(self, definition: SObjectDef) -> ObjectAccess:
        """The object permissions held on `definition` (View/Modify All Data included)."""
        access = self._objects.get(definition.name, ObjectAccess())
        if definition.name == USER:
            access = ObjectAccess(read=True)
        elif definition.name == TASK:
            read = any(self.on(SCHEMA[parent]).read for parent in _ACTIVITY_PARENTS)
            edit = read and self._edit_tasks
            access = ObjectAccess(read=read, create=edit, edit=edit)
        if self.modify_all_data:
            return FULL_OBJECT_ACCESS
        if self.view_all_data:
            return access | ObjectAccess(read=True, view_all=True)
        return access

    def readable(self, definition: SObjectDef) -> bool:
        """Whether the object exists for this user at all."""
        return self.on(definition).read

    def sees(self, definition: SObjectDef, field_def: FieldDef) -> bool:
        """Whether a field of a readable object is visible (field-level security)."""
        if not self.readable(definition):
            return False
        if not field_def.custom or self._all_fields:
            return True
        return self._fields.get(f"{definition.name}.{field_def.name}", FieldAccess()).readable

    def may_write(self, definition: SObjectDef, field_def: FieldDef, *, creating: bool) -> bool:
        """Whether this user may set a field on create (or on update)."""
        objects = self.on(definition)
        if not (objects.create if creating else objects.edit):
            return False
        if not (field_def.createable if creating else field_def.updateable):
            return False
        if not field_def.custom or self._all_fields:
            return True
        return self._fields.get(f"{definition.name}.{field_def.name}", FieldAccess()).editable

    def sobject(self, name: str) -> SObjectDef | None:
        """The sObject called `name` if this user may read it (what SOQL and describe see)."""
        definition = sobject(name)
        return definition if definition is not None and self.readable(definition) else None

    def field(self, definition: SObjectDef, name: str) -> FieldDef | None:
        """The field called `name` of `definition` if this user sees it."""
        found = definition.field(name)
        return found if found is not None and self.sees(definition, found) else None


UNRESTRICTED = Access([SYSTEM_ADMINISTRATOR])
"""What the org's own processes (and test helpers) act with."""
