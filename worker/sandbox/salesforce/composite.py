"""Composite: up to 25 subrequests in one call, later ones referring to earlier results.

REST API Developer Guide, "Composite" (resources_composite_composite.htm,
resources_composite_composite_post.htm): at most 25 subrequests, at most 5 of them sObject
Collections or query operations; `referenceId` names each subrequest's result and
`@{referenceId.path}` reads from it; the whole request counts as one API call. With
`allOrNone`, a failing subrequest rolls back all of them and the others report
PROCESSING_HALTED; `allOrNone` also applies to nested collections
(resources_composite_allornone.htm). `collateSubrequests` only lets Salesforce group
independent subrequests for speed; results are the same, so the sandbox runs them in order.
"""

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from worker.sandbox.salesforce.errors import SalesforceApiError
from worker.sandbox.salesforce.rest import ApiRequest, ApiResult
from worker.sandbox.salesforce.store import RecordStore

MAX_SUBREQUESTS = 25
MAX_COLLECTIONS_AND_QUERIES = 5
_DATA_URL = re.compile(r"^/services/data/v(?P<version>\d+\.\d)/(?P<path>[^?]*)")
_REFERENCE = re.compile(r"@\{([^}]+)\}")
_REFERENCE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_HEAVY = re.compile(r"^(?:query|queryAll|composite/sobjects)(?:/|$)")
_ROLLED_BACK = {
    "errorCode": "PROCESSING_HALTED",
    "message": "The transaction was rolled back since another operation in the same transaction "
    "failed.",
}


class _Unresolved(Exception):
    def __init__(self, reference: str) -> None:
        super().__init__(reference)
        self.reference = reference


def run_composite(
    request: ApiRequest, store: RecordStore, dispatch: Callable[[ApiRequest], ApiResult]
) -> ApiResult:
    """Execute a Composite request body; returns the `compositeResponse` result."""
    body = request.json_body()
    subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(subrequests, list) or not subrequests:
        raise SalesforceApiError(
            400, "JSON_PARSER_ERROR", "compositeRequest must be a non-empty array"
        )
    _check_limits(subrequests)
    all_or_none = body.get("allOrNone") is True
    results: dict[str, Any] = {}
    responses: list[dict[str, Any]] = []
    records_in = records_out = 0
    with store.lock, store.savepoint() as savepoint:
        for index, sub in enumerate(subrequests):
            reference_id = sub["referenceId"]
            try:
                sub_request = _subrequest(request, sub, results, all_or_none=all_or_none)
            except _Unresolved as missing:
                responses.append(_halted(reference_id, missing.reference))
                if all_or_none:
                    savepoint.rollback()
                    return _rolled_back(responses, subrequests, index, records_in, records_out)
                continue
            except SalesforceApiError as error:
                responses.append(_entry(reference_id, ApiResult(error.status, error.body())))
                if all_or_none:
                    savepoint.rollback()
                    return _rolled_back(responses, subrequests, index, records_in, records_out)
                continue
            result = dispatch(sub_request)
            records_in += result.records_in
            records_out += result.records_out
            responses.append(_entry(reference_id, result))
            if result.status < 300 and result.body is not None:
                results[reference_id] = result.body
            if all_or_none and _failed(result):
                savepoint.rollback()
                return _rolled_back(responses, subrequests, index, records_in, records_out)
    return ApiResult(
        200, {"compositeResponse": responses}, records_in=records_in, records_out=records_out
    )


def _check_limits(subrequests: list[Any]) -> None:
    if len(subrequests) > MAX_SUBREQUESTS:
        raise SalesforceApiError(
            400,
            "INVALID_API_INPUT",
            f"Composite request can contain at most {MAX_SUBREQUESTS} subrequests",
        )
    seen: set[str] = set()
    heavy = 0
    for sub in subrequests:
        if not isinstance(sub, dict) or not isinstance(sub.get("url"), str):
            raise SalesforceApiError(400, "JSON_PARSER_ERROR", "Each subrequest needs a url")
        reference_id = sub.get("referenceId")
        if not isinstance(reference_id, str) or not _REFERENCE_ID.match(reference_id):
            raise SalesforceApiError(
                400,
                "INVALID_INPUT",
                f"Invalid reference id: {reference_id}. Reference IDs "
                "must start with a letter and contain only alphanumeric characters and "
                "underscores.",
            )
        if reference_id in seen:
            raise SalesforceApiError(
                400,
                "INVALID_INPUT",
                f"Duplicate ReferenceId provided in the request: {reference_id}",
            )
        seen.add(reference_id)
        match = _DATA_URL.match(sub["url"])
        if match and _HEAVY.match(match["path"]):
            heavy += 1
        if (
            match
            and match["path"].startswith("composite")
            and not match["path"].startswith("composite/sobjects")
        ):
            raise SalesforceApiError(400, "INVALID_API_INPUT", "Composite requests can't be nested")
    if heavy > MAX_COLLECTIONS_AND_QUERIES:
        raise SalesforceApiError(
            400,
            "INVALID_API_INPUT",
            f"Composite request can contain at most {MAX_COLLECTIONS_AND_QUERIES} "
            "sObject Collections or query subrequests",
        )


def _subrequest(
    parent: ApiRequest, sub: dict[str, Any], results: dict[str, Any], *, all_or_none: bool
) -> ApiRequest:
    url = _resolve_text(sub["url"], results)
    match = _DATA_URL.match(url)
    if match is None:
        raise SalesforceApiError(
            400, "INVALID_API_INPUT", f"Composite subrequest URL is not supported: {url}"
        )
    headers = sub.get("httpHeaders") or {}
    return replace(
        parent,
        method=str(sub.get("method", "GET")).upper(),
        path=match["path"],
        version=match["version"],
        params=dict(parse_qsl(urlsplit(url).query)),
        headers={str(k).lower(): str(v) for k, v in headers.items()},
        body=_resolve(sub.get("body"), results),
        all_or_none=all_or_none,
    )


def _resolve(value: Any, results: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return _resolve_text(value, results)
    if isinstance(value, list):
        return [_resolve(item, results) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item, results) for key, item in value.items()}
    return value


def _resolve_text(text: str, results: dict[str, Any]) -> str:
    return _REFERENCE.sub(lambda match: str(_lookup(match.group(1), results)), text)


def _lookup(reference: str, results: dict[str, Any]) -> Any:
    head, *steps = re.split(r"\.|(?=\[)", reference)
    if head not in results:
        raise _Unresolved(reference)
    value = results[head]
    for step in steps:
        index = re.fullmatch(r"\[(\d+)\]", step)
        try:
            value = value[int(index.group(1))] if index else value[step]
        except (KeyError, IndexError, TypeError):
            raise _Unresolved(reference) from None
    if value is None:
        raise _Unresolved(reference)
    return value


def _failed(result: ApiResult) -> bool:
    if result.status >= 400:
        return True
    return isinstance(result.body, list) and any(
        isinstance(item, dict) and item.get("success") is False for item in result.body
    )


def _entry(reference_id: str, result: ApiResult) -> dict[str, Any]:
    return {
        "body": result.body,
        "httpHeaders": dict(result.headers),
        "httpStatusCode": result.status,
        "referenceId": reference_id,
    }


def _halted(reference_id: str, reference: str) -> dict[str, Any]:
    head = re.split(r"\.|(?=\[)", reference)[0]
    message = (
        f"Invalid reference specified. No value for {reference} found in {head}. Provided "
        f"referenceId ('{head}') must match a referenceId from a previous subrequest in the "
        "same request."
    )
    return {
        "body": [{"errorCode": "PROCESSING_HALTED", "message": message}],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": reference_id,
    }


def _rolled_back(
    responses: list[dict[str, Any]],
    subrequests: list[Any],
    failed_index: int,
    records_in: int,
    records_out: int,
) -> ApiResult:
    halted = {"body": [_ROLLED_BACK], "httpHeaders": {}, "httpStatusCode": 400}
    final = [
        response if index == failed_index else {**halted, "referenceId": response["referenceId"]}
        for index, response in enumerate(responses)
    ]
    final += [
        {**halted, "referenceId": sub["referenceId"]} for sub in subrequests[failed_index + 1 :]
    ]
    return ApiResult(
        200, {"compositeResponse": final}, records_in=records_in, records_out=records_out
    )
