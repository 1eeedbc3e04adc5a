"""``POST /v1/checks``: the hot path, parsed by hand (docs/api.md#post-v1checks).

This route takes no FastAPI dependencies and no body parameter: each costs FastAPI tens of
µs a request, a third of a check's own work (docs/performance.md). Instead it

1. authorises with ``api.deps.authorize`` (the same code the ``require`` dependency runs:
   401 without a known key, 403 without the role) — before the body is read, so a missing
   key is a 401 whatever the body;
2. reads and validates the body as FastAPI would validate a model body parameter, with the
   same 422 errors (a missing body, a non-JSON content type, malformed JSON with its
   position, the model's field errors with ``body`` in their location);
3. makes one engine call (``engine.checks.decide_async``) and sends the logged answer.

Its OpenAPI entry declares the request schema by hand (``openapi_extra``); the answer's schema
is ``api.responses.CheckAnswer`` (published by ``api/openapi.py``, validated against real
answers by ``tests/api/test_openapi.py``), the answer itself stays hand-encoded.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError

from api.auth import Role
from api.deps import authorize
from api.errors import unparsable_json
from engine import checks
from engine.errors import InvalidRequest
from engine.service import Service

router = APIRouter(tags=["checks"])


@router.post(
    "/v1/checks",
    summary="What applies to this subject for this matter (应查必查)",
    response_class=JSONResponse,
    openapi_extra={
        "security": [{"HTTPBearer": []}],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": checks.CheckRequest.model_json_schema()}},
        },
    },
)
async def check(request: Request) -> Response:
    """The answer, appended to the decision log before it is returned (role ``implementer``)."""
    caller = authorize(request, Role.implementer)
    service: Service = request.app.state.service
    request_body = _check_request(request, await request.body())
    stored = await checks.decide_async(
        service, request_body, caller=caller.name, department=caller.department
    )
    return Response(_json_bytes(stored.response), media_type="application/json")


def route() -> APIRoute:
    """This module's ``POST /v1/checks`` route (``api/fastpath.py`` dispatches to ``check``)."""
    return next(r for r in router.routes if isinstance(r, APIRoute) and r.path == "/v1/checks")


def _check_request(request: Request, body: bytes) -> checks.CheckRequest:
    """The body as a ``CheckRequest``, or the 422 FastAPI gives for a model body parameter."""
    if not body:
        missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
        raise RequestValidationError([missing])
    if not _is_json(request.headers.get("content-type")):
        raise RequestValidationError(
            [{"type": "model_attributes_type", "loc": ("body",),
              "msg": "send the body as JSON (Content-Type: application/json)", "input": None}]
        )  # fmt: skip
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
              "input": {}, "ctx": {"error": exc.msg}}]
        ) from None  # fmt: skip
    except (ValueError, RecursionError) as exc:  # not UTF-8, nested too deep, 4,301+ digits
        raise InvalidRequest(
            "request validation failed",
            details=[{"field": "body", "message": unparsable_json(exc)}],
        ) from None
    try:
        return checks.CheckRequest.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from None


def _is_json(content_type: str | None) -> bool:
    """``application/json`` or ``application/*+json``, parameters allowed (as FastAPI does)."""
    if not content_type:
        return False
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _json_bytes(value: dict[str, Any]) -> bytes:
    """The answer as compact UTF-8 JSON: orjson (a few µs less than ``json.dumps`` per
    check), ``json.dumps`` for an integer past 64 bits, which orjson refuses."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
