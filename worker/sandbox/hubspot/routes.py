"""HTTP routes of the HubSpot subset: CRM objects v3, search, properties, associations v4, owners.

Paths and shapes follow the public OpenAPI specs (HubSpot/HubSpot-public-api-spec-collection)
that hubspot-api-client is generated from, so its models parse every reply.
"""

import json
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from worker.sandbox.hubspot import associations as assoc
from worker.sandbox.hubspot.definitions import new_group, new_property, updated_property
from worker.sandbox.hubspot.errors import (
    HubSpotError,
    PropertyProblem,
    invalid_properties,
    not_found,
    unauthenticated,
    validation_error,
)
from worker.sandbox.hubspot.objects import ObjectType, object_type
from worker.sandbox.hubspot.plan import execute
from worker.sandbox.hubspot.render import batch_json, paging_json, record_json, written_json
from worker.sandbox.hubspot.search import parse_query
from worker.sandbox.hubspot.store import Record

if TYPE_CHECKING:
    from worker.sandbox.hubspot.portal import HubSpotPortal

Handler = Callable[["HubSpotPortal", Request, object], Response]
MAX_BATCH = 100  # batch read/create/update/archive inputs per call
MAX_PAGE = 100  # list endpoints
ASSOCIATIONS_PAGE = 500  # v4 batch read: targets per input per page
OWNERS_MAX_PAGE = 500


def build_routes(portal: "HubSpotPortal") -> list[BaseRoute]:
    """Every route, bound to one portal (more specific paths first)."""

    def api(
        handler: Handler, *, search: bool = False, body: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        return _endpoint(portal, handler, search=search, body=body)

    objects = "/crm/v3/objects/{object_type}"
    properties = "/crm/v3/properties/{object_type}"
    pair = "/crm/v4/associations/{from_type}/{to_type}"
    return [
        Route(f"{objects}/search", api(_search, search=True, body=True), methods=["POST"]),
        Route(f"{objects}/batch/read", api(_batch_read, body=True), methods=["POST"]),
        Route(f"{objects}/batch/create", api(_batch_create, body=True), methods=["POST"]),
        Route(f"{objects}/batch/update", api(_batch_update, body=True), methods=["POST"]),
        Route(f"{objects}/batch/archive", api(_batch_archive, body=True), methods=["POST"]),
        Route(objects, api(_list), methods=["GET"]),
        Route(objects, api(_create, body=True), methods=["POST"]),
        Route(f"{objects}/{{object_id}}", api(_get), methods=["GET"]),
        Route(f"{objects}/{{object_id}}", api(_update, body=True), methods=["PATCH"]),
        Route(f"{objects}/{{object_id}}", api(_archive), methods=["DELETE"]),
        Route(f"{properties}/groups", api(_list_groups), methods=["GET"]),
        Route(f"{properties}/groups", api(_create_group, body=True), methods=["POST"]),
        Route(properties, api(_list_properties), methods=["GET"]),
        Route(properties, api(_create_property, body=True), methods=["POST"]),
        Route(f"{properties}/{{name}}", api(_get_property), methods=["GET"]),
        Route(f"{properties}/{{name}}", api(_update_property, body=True), methods=["PATCH"]),
        Route(f"{pair}/batch/read", api(_associations_read, body=True), methods=["POST"]),
        Route(f"{pair}/batch/create", api(_associations_create, body=True), methods=["POST"]),
        Route(
            f"{pair}/batch/associate/default",
            api(_associations_default, body=True),
            methods=["POST"],
        ),
        Route(f"{pair}/labels", api(_association_labels), methods=["GET"]),
        Route("/crm/v3/owners", api(_list_owners), methods=["GET"]),
        Route("/crm/v3/owners/", api(_list_owners), methods=["GET"]),
        Route("/crm/v3/owners/{owner_id}", api(_get_owner), methods=["GET"]),
    ]


def _endpoint(
    portal: "HubSpotPortal", handler: Handler, *, search: bool, body: bool
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler with bearer auth, rate limiting, JSON parsing and error rendering."""

    async def endpoint(request: Request) -> Response:
        if not _authorized(portal, request):
            return unauthenticated().response()
        now = portal.monotonic()
        exceeded = portal.limiter.take_search(now) if search else portal.limiter.take(now)
        if exceeded is not None:
            return portal.rate_limited(exceeded, search=search)
        # Search responses carry no X-HubSpot-RateLimit-* headers, like the real ones.
        headers = {} if search else portal.limiter.headers(now)
        try:
            payload = await _json_body(request) if body else None
            with portal.lock:
                response = handler(portal, request, payload)
        except HubSpotError as error:
            response = error.response()
        response.headers.update(headers)
        return response

    return endpoint


def _authorized(portal: "HubSpotPortal", request: Request) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    return portal.access_tokens is None or token.strip() in portal.access_tokens


async def _json_body(request: Request) -> dict[str, object]:
    raw = await request.body()
    try:
        parsed = json.loads(raw or b"{}")
    except json.JSONDecodeError as error:
        raise validation_error(f"Invalid input JSON on line {error.lineno}: {error.msg}") from None
    if not isinstance(parsed, dict):
        raise validation_error("The request body must be a JSON object.")
    return parsed


def _body(payload: object) -> dict[str, object]:
    return payload if isinstance(payload, dict) else {}


def _kind(request: Request, key: str = "object_type") -> ObjectType:
    return object_type(request.path_params[key])


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() == "true"


def _int_param(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise validation_error(f"{name} must be an integer, got {raw!r}.") from None
    if not 0 < value <= maximum:
        raise validation_error(f"{name} must be between 1 and {maximum}, got {value}.")
    return value


def _after(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    try:
        return int(raw)
    except ValueError:
        raise validation_error(
            f"after must be a paging token from a previous page: {raw!r}."
        ) from None


MAX_ASSOCIATION_READ = 1_000
"""Inputs per v4 association batch read (HubSpot raised it from 100 to 1,000 in 2025)."""


def _names(request: Request, name: str) -> list[str] | None:
    """A list query parameter, sent repeated (`a=1&a=2`, the SDKs) or comma-separated."""
    raw = request.query_params.getlist(name)
    if not raw:
        return None
    return [part.strip() for item in raw for part in item.split(",") if part.strip()]


def _inputs(body: dict[str, object], limit: int = MAX_BATCH) -> list[dict[str, object]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise validation_error("`inputs` must be a list.")
    if len(inputs) > limit:
        raise validation_error(
            f"Too many inputs: {len(inputs)}; a batch takes at most {limit}.",
            inputs=[str(len(inputs))],
        )
    return [item if isinstance(item, dict) else {} for item in inputs]


def _with_associations(
    portal: "HubSpotPortal",
    kind: ObjectType,
    record: Record,
    body: dict[str, object],
    to_types: list[str] | None,
) -> dict[str, object]:
    """Add v3 `associations` (SimplePublicObjectWithAssociations) for `?associations=`."""
    if not to_types:
        return body
    found: dict[str, object] = {}
    for alias in to_types:
        target = object_type(alias)
        results = []
        for to_id, type_ids in portal.graph.targets(kind.name, record.id, target.name):
            for type_id in type_ids:
                label = assoc.ASSOCIATION_TYPES[type_id].label
                suffix = "" if label else "_unlabeled"
                results.append(
                    {"id": to_id, "type": f"{kind.singular}_to_{target.singular}{suffix}"}
                )
        if results:
            found[target.name] = {"results": results}
    if found:
        body["associations"] = found
    return body


# --- objects -----------------------------------------------------------------------------------


def _list(portal: "HubSpotPortal", request: Request, _: object) -> Response:
    kind = _kind(request)
    limit = _int_param(request, "limit", 10, MAX_PAGE)
    records, following = portal.store.page(
        kind, _after(request.query_params.get("after")), limit, archived=_flag(request, "archived")
    )
    wanted = _names(request, "properties")
    to_types = _names(request, "associations")
    results = [
        _with_associations(
            portal, kind, record, record_json(kind, record, portal.catalog(kind), wanted), to_types
        )
        for record in records
    ]
    request.state.records_out = len(results)
    after = None if following is None else str(following)
    link = None if after is None else str(request.url.include_query_params(after=after))
    return JSONResponse({"results": results, **paging_json(after, link)})


def _get(portal: "HubSpotPortal", request: Request, _: object) -> Response:
    kind = _kind(request)
    key = request.path_params["object_id"]
    record = portal.find(
        kind,
        key,
        id_property=request.query_params.get("idProperty"),
        archived=_flag(request, "archived"),
    )
    if record is None:
        raise not_found("resource not found", id=[key])
    body = record_json(kind, record, portal.catalog(kind), _names(request, "properties"))
    request.state.records_out = 1
    return JSONResponse(
        _with_associations(portal, kind, record, body, _names(request, "associations"))
    )


def _create(portal: "HubSpotPortal", request: Request, payload: object) -> Response:
    kind = _kind(request)
    body = _body(payload)
    record = portal.create(
        kind, body.get("properties"), body.get("associations"), portal.clock.now()
    )
    request.state.records_in = 1
    return JSONResponse(written_json(kind, record, portal.catalog(kind)), 201)


def _update(portal: "HubSpotPortal", request: Request, payload: object) -> Response:
    kind = _kind(request)
    key = request.path_params["object_id"]
    record = portal.find(kind, key, id_property=request.query_params.get("idProperty"))
    if record is None:
        raise not_found("resource not found", id=[key])
    portal.update(kind, record, _body(payload).get("properties"), portal.clock.now())
    request.state.records_in = 1
    return JSONResponse(written_json(kind, record, portal.catalog(kind)))


def _archive(portal: "HubSpotPortal", request: Request, _: object) -> Response:
    kind = _kind(request)
    record = portal.find(kind, request.path_params["object_id"])
    if record is not None:
        portal.archive(kind, record, portal.clock.now())
    request.state.records_in = 1
    return Response(status_code=204)


def _missing(kind: ObjectType, ids: list[str]) -> dict[str, object]:
    return HubSpotError(
        404,
        "OBJECT_NOT_FOUND",
        f"Could not get some {kind.upper} objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        context={"ids": ids},
    ).standard_error()


def _batch_response(
    portal: "HubSpotPortal",
    request: Request,
    results: list[dict[str, object]],
    errors: list[dict[str, object]],
    ok_status: int,
) -> Response:
    started = portal.clock.now()
    request.state.records_out = len(results)
    body = batch_json(results, errors, started, portal.clock.now())
    return JSONResponse(body, 207 if errors else ok_status)


def _batch_read(portal: "HubSpotPortal", request: Request, payload: object) -> Response:
    kind = _kind(request)
    body = _body(payload)
    inputs = _inputs(body)
    raw_properties = body.get("properties")
    wanted = [str(name) for name in raw_properties] if isinstance(raw_properties, list) else None
    id_property = body.get("idProperty")
    archived = _flag(request, "archived")
    results, missing = [], []
    for item in inputs:
        key = str(item.get("id", ""))
        record = portal.find(
            kind, key, id_property=str(id_property) if id_property else None, archived=archived
        )
        if record is None:
            missing.append(key)
        else:
            results.append(record_json(kind, record, portal.catalog(kind), wanted or None))
    request.state.records_in = len(inputs)
    errors = [_missing(kind, missing)] if missing else []
    return _batch_response(portal, request, results, errors, 200)


def _batch_create(portal: "HubSpotPortal", request: Request, payload: object) -> Response:
    """Create every input, or none: a bad input refuses the whole batch (400), unless every
    input carries an `objectWriteTraceId`, which turns on per-input (207) errors naming it.

    https://developers.hubspot.com/docs/api-reference/error-handling (multi-status errors).
    """
    kind = _kind(request)
    inputs = _inputs(_body(payload))
    traced = bool(inputs) and all(item.get("objectWriteTraceId") for item in inputs)
    request.state.records_in = len(inputs)
    if not traced:
        problems: list[PropertyProblem] = []
        for item in inputs:
            problems += _checked(portal, kind, item.get("properties"), creating=True)[1]
        if problems:
            raise invalid_properties(problems)
    results, errors = [], []
    for item in inputs:
        try:
            record = portal.create(
                kind, item.get("properties"), item.get("associations"), portal.clock.now()
            )
        except HubSpotError as error:
            trace = str(item.get("objectWriteTraceId"))
            errors.append({**error.standard_error(), "context": {"objectWriteTraceId": [trace]}})
            continue
        results.append(written_json(kind, record, portal.catalog(kind)))
    return _batch_response(portal, request, results, errors, 201)


def _checked(
    portal: "HubSpotPortal", kind: ObjectType, properties: object, *, creating: bool
) -> tuple[dict[str, str], list[PropertyProblem]]:
    """One input's values as they would be stored, and what is wrong with them (if anything)."""
    try:
        return portal.validate(kind, properties, creating=creating), []
    except HubSpotError as error:
        if error.problems:
            return {}, list(error.problems)
        raise


def _batch_update(portal: "HubSpotPortal", request: Request, payload: object) -> Response:
    """Update every input, or none: one invalid value refuses the whole batch with a 400
    VALIDATION_ERROR, as HubSpot does (batch update has no per-input error mode)."""
    kind = _kind(request)
    inputs = _inputs(_body(payload))
    request.state.records_in = len(inputs)
    found: list[tuple[Record, dict[str, str]]] = []
    missing: list[str] = []
    problems: list[PropertyProblem] = []
    for item in inputs:
        key = str(item.get("id", ""))
        id_property = item.get("idProperty")
        record = portal.find(kind, key, id_property=str(id_property) if id_property else None)
        if record is None:
            missing.append(key)
            continue
        clean, bad = _checked(portal, kind, item.get("properties"), creating=False)
        problems += bad
        found.append((record, clean))
    if problems:
        raise invalid_properties(problems)
    results = []
    for record, clean in found:
        portal.store.update(kind, record, clean, portal.clock.now())
        results.append(written_json(kind, record, portal.catalog(kind)))
    errors = [_missing(kind, missing)] if missing else []
    return _batch_response(portal, request, results, errors, 200)


def _batch_archive(portal: "HubSpotPortal", request: Request, payload: object) -> Response:
    kind = _kind(request)
    inputs = _inputs(_body(payload))
    for item in inputs:
        record = portal.find(kind, str(item.get("id", "")))
        if record is not None:
            portal.archive(kind, record, portal.clock.now())
    request.state.records_in = len(inputs)
    return Response(status_code=204)


def _search(portal: "HubSpotPortal", request: Request, payload: object) -> Response:
    kind = _kind(request)
    known = partial(portal.prop, kind)
    query = parse_query(_body(payload), known)
    page, total, following = execute(portal.store, kind, query, known, kind.default_properties)
    results = [record_json(kind, record, portal.catalog(kind), query.properties) for record in page]
    request.state.records_out = len(results)
    after = None if following is None else str(following)
    return JSONResponse({"total": total, "results": results, **paging_json(after, None)})


# --- properties --------------------------------------------------------------------------------


def _list_properties(portal: "HubSpotPortal", request: Request, _: object) -> Response:
    catalog = portal.catalog(_kind(request))
    archived = _flag(request, "archived")
    results = [prop.to_json() for prop in catalog.properties.values() if prop.archived == archived]
    request.state.records_out = len(results)
    return JSONResponse({"results": results})


def _get_property(portal: "HubSpotPortal", request: Request, _: object) -> Response:
    kind = _kind(request)
    name = request.path_params["name"]
    prop = portal.prop(kind, name)
    if prop is None:
        raise not_found(f"Property {name} does not exist for {kind.name}.", name=[name])
    request.state.records_out = 1
    return JSONResponse(prop.to_json())


def _update_property(portal: "HubSpotPortal", request: Request, payload: object) -> Response:
    kind = _kind(request)
    name = request.path_params["name"]
    prop = portal.prop(kind, name)
    if prop is None:
        raise not_found(f"Property {name} does not exist for {kind.name}.", name=[name])
    catalog = portal.catalog(kind)
    changed = updated_property(
        catalog, prop, _body(payload), portal.clock.now(), lambda: portal.holds_values(kind, name)
    )
    catalog.add(changed)
    request.state.records_in = 1
    return JSONResponse(changed.to_json())


def _create_property(portal: "HubSpotPortal", request: Request, payload: object) -> Response:
    kind = _kind(request)
    prop = new_property(portal.catalog(kind), _body(payload), portal.clock.now())
    portal.catalog(kind).add(prop)
    request.state.records_in = 1
    return JSONResponse(prop.to_json(), 201)


def _list_groups(portal: "HubSpotPortal", request: Request, _: object) -> Response:
    groups = portal.catalog(_kind(request)).groups.values()
    return JSONResponse({"results": [group.to_json() for group in groups]})


def _create_group(portal: "HubSpotPortal", request: Request, payload: object) -> Response:
    catalog = portal.catalog(_kind(request))
    group = new_group(catalog, _body(payload))
    catalog.add_group(group)
    request.state.records_in = 1
    return JSONResponse(group.to_json(), 201)


# --- associations v4 ---------------------------------------------------------------------------


def _pair(request: Request) -> tuple[ObjectType, ObjectType]:
    return _kind(request, "from_type"), _kind(request, "to_type")


def _object_id(raw: object) -> str:
    return str(raw.get("id", "")) if isinstance(raw, dict) else ""


def _associations_read(portal: "HubSpotPortal", request: Request, payload: object) -> Response:
    from_kind, to_kind = _pair(request)
    inputs = _inputs(_body(payload), MAX_ASSOCIATION_READ)
    results, errors = [], []
    for item in inputs:
        key = str(item.get("id", ""))
        targets = portal.graph.targets(from_kind.name, key, to_kind.name)
        if not targets:
            errors.append(
                HubSpotError(
                    404,
                    "OBJECT_NOT_FOUND",
                    f"No {to_kind.singular} is associated with {from_kind.singular} {key}.",
                    context={"fromObjectId": [key]},
                    sub_category="crm.associations.NO_ASSOCIATIONS_FOUND",
                ).standard_error()
            )
            continue
        start = _after(str(item["after"]) if item.get("after") is not None else None)
        chunk = targets[start : start + ASSOCIATIONS_PAGE]
        following = start + ASSOCIATIONS_PAGE
        result: dict[str, object] = {
            "from": {"id": key},
            "to": [
                {
                    # The live API sends toObjectId as a JSON number (the spec says string).
                    "toObjectId": int(to_id),
                    "associationTypes": [
                        assoc.ASSOCIATION_TYPES[type_id].to_json() for type_id in type_ids
                    ],
                }
                for to_id, type_ids in chunk
            ],
        }
        if following < len(targets):
            result["paging"] = {"next": {"after": str(following)}}
        results.append(result)
    request.state.records_in = len(inputs)
    return _batch_response(portal, request, results, errors, 200)


def _associations_create(portal: "HubSpotPortal", request: Request, payload: object) -> Response:
    from_kind, to_kind = _pair(request)
    inputs = _inputs(_body(payload), MAX_ASSOCIATION_READ)
    results, errors = [], []
    for item in inputs:
        from_id, to_id = _object_id(item.get("from")), _object_id(item.get("to"))
        types = item.get("types")
        try:
            kinds = [
                assoc.lookup(
                    int(str(spec.get("associationTypeId", -1))),
                    from_kind.name,
                    str(spec.get("associationCategory", "")),
                )
                for spec in (types if isinstance(types, list) else [])
                if isinstance(spec, dict)
            ]
            if not kinds:
                raise validation_error("Each input needs at least one association type.")
            _require_pair(portal, from_kind, from_id, to_kind, to_id)
        except HubSpotError as error:
            errors.append(error.standard_error())
            continue
        for kind in kinds:
            portal.graph.add(kind, from_id, to_id)
        labels = [
            label
            for to, type_ids in portal.graph.targets(from_kind.name, from_id, to_kind.name)
            if to == to_id
            for type_id in type_ids
            if (label := assoc.ASSOCIATION_TYPES[type_id].label) is not None
        ]
        results.append(
            {
                "fromObjectTypeId": from_kind.type_id,
                "fromObjectId": int(from_id),
                "toObjectTypeId": to_kind.type_id,
                "toObjectId": int(to_id),
                "labels": labels,
            }
        )
    request.state.records_in = len(inputs)
    return _batch_response(portal, request, results, errors, 201)


def _associations_default(portal: "HubSpotPortal", request: Request, payload: object) -> Response:
    from_kind, to_kind = _pair(request)
    kind = assoc.default_type(from_kind.name, to_kind.name)
    inputs = _inputs(_body(payload))
    results, errors = [], []
    for item in inputs:
        from_id, to_id = _object_id(item.get("from")), _object_id(item.get("to"))
        try:
            _require_pair(portal, from_kind, from_id, to_kind, to_id)
        except HubSpotError as error:
            errors.append(error.standard_error())
            continue
        portal.graph.add(kind, from_id, to_id)
        results.append(
            {
                "from": {"id": from_id},
                "to": {"id": to_id},
                "associationSpec": {
                    "associationCategory": assoc.HUBSPOT_DEFINED,
                    "associationTypeId": kind.type_id,
                },
            }
        )
    request.state.records_in = len(inputs)
    return _batch_response(portal, request, results, errors, 200)


def _require_pair(
    portal: "HubSpotPortal", from_kind: ObjectType, from_id: str, to_kind: ObjectType, to_id: str
) -> None:
    for kind, key in ((from_kind, from_id), (to_kind, to_id)):
        if portal.find(kind, key) is None:
            raise HubSpotError(
                400,
                "VALIDATION_ERROR",
                f"{kind.upper} {key} does not exist.",
                context={"ids": [key]},
            )


def _association_labels(portal: "HubSpotPortal", request: Request, _: object) -> Response:
    from_kind, to_kind = _pair(request)
    kinds = assoc.types_between(from_kind.name, to_kind.name)
    return JSONResponse({"results": [kind.to_json() for kind in kinds]})


# --- owners ------------------------------------------------------------------------------------


def _list_owners(portal: "HubSpotPortal", request: Request, _: object) -> Response:
    limit = _int_param(request, "limit", 100, OWNERS_MAX_PAGE)
    start = _after(request.query_params.get("after"))
    email = request.query_params.get("email")
    archived = _flag(request, "archived")
    owners = [
        owner
        for owner in portal.owners.values()
        if owner.archived == archived and (email is None or owner.email.lower() == email.lower())
    ]
    page = owners[start : start + limit]
    following = start + limit
    after = str(following) if following < len(owners) else None
    link = None if after is None else str(request.url.include_query_params(after=after))
    request.state.records_out = len(page)
    return JSONResponse(
        {"results": [owner.to_json() for owner in page], **paging_json(after, link)}
    )


def _get_owner(portal: "HubSpotPortal", request: Request, _: object) -> Response:
    key = request.path_params["owner_id"]
    by_user = request.query_params.get("idProperty") == "userId"
    for owner in portal.owners.values():
        if (str(owner.user_id) if by_user else owner.id) == key:
            request.state.records_out = 1
            return JSONResponse(owner.to_json())
    raise not_found(f"Owner {key} does not exist.", id=[key])
