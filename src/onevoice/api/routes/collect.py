"""The Segment-compatible collect endpoints: /v1/track, identify, page, screen, group,
alias and batch. Write key as the HTTP Basic username (or ``writeKey`` in the body)."""

from __future__ import annotations

import logging
import zlib
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from onevoice.api.auth import requires, token_of
from onevoice.api.errors import ApiError, error_body, error_response, internal_response
from onevoice.api.fast_path import Handler, Scope, Send, header, send_response
from onevoice.api.responses import Json
from onevoice.bootstrap import Onevoice
from onevoice.config import Settings
from onevoice.domain.errors import InvalidEvent, OnevoiceError
from onevoice.domain.events import EVENT_TYPES
from onevoice.services.collect import CollectResult, Rejection

_log = logging.getLogger("onevoice.api")

_CALL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A Segment Tracking API call (see segment.com/docs/connections/spec).",
    "properties": {
        "type": {"type": "string", "enum": list(EVENT_TYPES)},
        "messageId": {"type": "string", "description": "retries with the same id count once"},
        "userId": {"type": "string"},
        "anonymousId": {"type": "string"},
        "event": {"type": "string", "description": "track: the event name"},
        "name": {"type": "string", "description": "page/screen name"},
        "previousId": {"type": "string", "description": "alias: the id to link to userId"},
        "groupId": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
        "sentAt": {"type": "string", "format": "date-time"},
        "properties": {"type": "object"},
        "traits": {"type": "object"},
        "context": {
            "type": "object",
            "description": "context.channel (web, app, email, sms, push, call_centre, chat, "
            "branch, social, ivr, other) and context.identifiers ({type: value}) are read",
        },
        "integrations": {"type": "object"},
    },
}
_RESULT = {
    "200": {
        "description": "Stored (or already stored: duplicates are accepted and ignored)",
        "content": {
            "application/json": {
                "example": {"success": True, "accepted": 1, "duplicates": 0, "rejected": []}
            }
        },
    },
    "400": {"description": "Invalid JSON or event; the error names the field"},
    "401": {"description": "Missing, unknown or revoked write key"},
    "413": {"description": "Body or event too large"},
}


def _body_extra(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        "security": [{"basic": []}],
    }


async def _read_json(request: Request, limit: int) -> Any:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise ApiError(413, "too_large", f"the body is larger than {limit} bytes")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too_large", f"the body is larger than {limit} bytes")
        chunks.append(chunk)
    gzipped = request.headers.get("content-encoding", "").lower() == "gzip"
    return _loads(b"".join(chunks), gzipped, limit)


def _loads(body: bytes, gzipped: bool, limit: int) -> Any:
    """The JSON of a whole body read within ``limit`` (unzipped first if ``gzipped``)."""
    if gzipped:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(body, limit + 1)
        except zlib.error:
            raise ApiError(400, "invalid_body", "the body is not valid gzip") from None
        if len(body) > limit or inflater.unconsumed_tail:
            raise ApiError(413, "too_large", f"the unzipped body is larger than {limit} bytes")
    if not body:
        raise ApiError(400, "invalid_json", "the body is empty; send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {error}") from None


def _check_calls(calls: list[Any], settings: Settings, single_type: str | None) -> None:
    """Hostile input: the first call larger than ``max_event_bytes`` or carrying more than
    ``max_traits`` traits (its own and context's) is a 413 naming it; a call's size is
    judged before its traits."""
    limit = settings.max_traits
    if _all_small(calls, settings.max_event_bytes):
        for n, call in enumerate(calls):
            _check_traits(call, limit, single_type, n)
        return
    for n, call in enumerate(calls):
        if len(orjson.dumps(call)) > settings.max_event_bytes:
            where = "event" if single_type else f"batch[{n}]"
            raise ApiError(
                413, "too_large", f"{where} is larger than {settings.max_event_bytes} bytes", where
            )
        _check_traits(call, limit, single_type, n)


def _all_small(calls: list[Any], limit: int) -> bool:
    """Whether no call serialises to more than ``limit`` bytes (False: maybe one does).

    orjson writes a list as ``[`` its items' own texts joined by ``,`` ``]``, so a run of calls
    whose text fits in ``limit`` holds no call larger than that. A few runs cost less than a
    serialisation per call (callgrind: 5,700 instructions for a 420-byte call). Each run is
    sized from the last to fill about half of ``limit``; one that does not fit is tried again
    in halves, down to a single call."""
    start, run = 0, 8
    while start < len(calls):
        try:
            size = len(orjson.dumps(calls[start : start + run]))
        except orjson.JSONEncodeError:  # e.g. nested too deep: the loop of each call says
            return False
        if size > limit:
            if run == 1:
                return False
            run //= 2
            continue
        start += run
        run = max(1, limit * run // (2 * size))
    return True


def _check_traits(call: object, limit: int, single_type: str | None, n: int) -> None:
    if not isinstance(call, dict):
        return
    traits = call.get("traits")
    count = len(traits) if isinstance(traits, dict) else 0
    name = "traits"
    if count <= limit:
        context = call.get("context")
        traits = context.get("traits") if isinstance(context, dict) else None
        if not isinstance(traits, dict) or count + len(traits) <= limit:
            return
        name = "context.traits"
    where = name if single_type else f"batch[{n}].{name}"
    raise ApiError(413, "too_large", f"an event may carry at most {limit} traits", where)


def _rejection(r: Rejection) -> dict[str, Any]:
    return {"index": r.index, **error_body(r.error.code, r.error.message, r.error.field)}


def _answer(result: CollectResult, *, single: bool) -> Json:
    rejected = [_rejection(r) for r in result.rejected]
    if single and rejected:
        return Json(rejected[0] | {"success": False}, status_code=400)
    payload = {
        "success": not rejected,
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": rejected,
    }
    if rejected and result.accepted + result.duplicates == 0:
        first = result.rejected[0]
        payload |= error_body(
            first.error.code,
            f"no event was accepted; first error at index {first.index}: {first.error.message}",
            f"batch[{first.index}].{first.error.field}" if first.error.field else None,
        )
        return Json(payload, status_code=400)
    return Json(payload)


async def _collect_calls(
    ov: Onevoice, calls: list[Any], *, source: str, single_type: str | None
) -> Json:
    """Check each call's size and traits, validate, store; the answer (raises for a 413)."""
    _check_calls(calls, ov.settings, single_type)
    events, rejected = ov.collector.parse(calls, source=source, default_type=single_type)
    accepted, duplicates = await run_in_threadpool(ov.collector.store, events)
    return _answer(
        CollectResult(accepted, duplicates, tuple(rejected)), single=single_type is not None
    )


def _batch_calls(body: object) -> list[Any]:
    """A batch body's calls, each with the batch's ``context`` and ``sentAt`` folded in."""
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        raise InvalidEvent("a batch is an object with a list under 'batch'", field="batch")
    calls: list[Any] = body["batch"]
    if not calls:
        raise InvalidEvent("the batch is empty", field="batch")
    shared_context = body.get("context")
    sent_at = body.get("sentAt")
    for call in calls:
        if isinstance(call, dict):
            if sent_at is not None:
                call.setdefault("sentAt", sent_at)
            own = call.get("context")
            if isinstance(shared_context, dict) and (own is None or isinstance(own, dict)):
                call["context"] = {**shared_context, **(own or {})}
    return calls


def fast_batch(ov: Onevoice) -> Handler:
    """``POST /v1/batch`` without the framework (see :mod:`onevoice.api.fast_path`), when
    the write key comes in the Authorization header and the key cache knows it; it answers
    as the route does, from the same functions."""
    limit = ov.settings.max_body_bytes

    async def answer(scope: Scope, body: bytes, send: Send) -> bool:
        length = header(scope, b"content-length")
        if len(body) > limit or (length is not None and length.isdigit() and int(length) > limit):
            return False  # the route's 413
        if not header(scope, b"authorization"):
            return False  # a key in the body, or none: the route's cases
        try:
            record = ov.keys.check_cached(token_of(Request(scope)), "write")
            if record is None:
                return False  # looked up by the route, in a worker thread
            encoding = header(scope, b"content-encoding")
            gzipped = encoding is not None and encoding.lower() == b"gzip"
            calls = _batch_calls(_loads(body, gzipped, limit))
            response = await _collect_calls(ov, calls, source=record.name, single_type=None)
        except OnevoiceError as error:
            response = error_response(error)
        except Exception as error:  # the route's handler: logged, and JSON for the client
            _log.exception("collecting a batch failed")
            response = internal_response(error)
        await send_response(send, response)
        return True

    return answer


def router(ov: Onevoice) -> APIRouter:
    api = APIRouter(tags=["collect"], dependencies=[requires(ov.keys, "write", header_only=True)])
    settings = ov.settings

    def _key_first(request: Request, body: object) -> None:
        """No key in the header nor the body: 401 before the body is judged."""
        if not request.headers.get("authorization") and not (
            isinstance(body, dict) and body.get("writeKey")
        ):
            ov.keys.check(None, "write")

    async def _collect(
        request: Request, calls: list[Any], *, single_type: str | None, write_key: object
    ) -> Json:
        record = ov.keys.check(token_of(request, write_key), "write")
        return await _collect_calls(ov, calls, source=record.name, single_type=single_type)

    def single(call_type: str) -> None:
        async def endpoint(request: Request) -> Json:
            body = await _read_json(request, settings.max_body_bytes)
            _key_first(request, body)
            if not isinstance(body, dict):
                raise InvalidEvent("the body must be a JSON object", field=None)
            body.setdefault("type", call_type)
            write_key = body.pop("writeKey", None)
            return await _collect(request, [body], single_type=call_type, write_key=write_key)

        api.add_api_route(
            f"/v1/{call_type}",
            endpoint,
            methods=["POST"],
            summary=f"Collect a {call_type} call",
            openapi_extra=_body_extra(_CALL_SCHEMA) | {"responses": _RESULT},
            name=call_type,
        )

    for call_type in EVENT_TYPES:
        single(call_type)

    @api.post(
        "/v1/batch",
        summary="Collect many calls at once (what Segment's client libraries send)",
        openapi_extra=_body_extra(
            {
                "type": "object",
                "required": ["batch"],
                "properties": {
                    "batch": {"type": "array", "items": _CALL_SCHEMA},
                    "context": {"type": "object"},
                    "sentAt": {"type": "string"},
                },
            }
        )
        | {"responses": _RESULT},
    )
    async def batch(request: Request) -> Json:
        body = await _read_json(request, settings.max_body_bytes)
        _key_first(request, body)
        calls = _batch_calls(body)
        return await _collect(request, calls, single_type=None, write_key=body.get("writeKey"))

    return api
