"""Checks, feedback, the decision log and the audit reads (contract/api.md, Checks and Audit)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.auth import Role
from api.deps import Auditor, Implementer, ServiceDep, authorize
from engine import checks, decisions
from engine.decisions import feedback_item
from engine.service import Service
from engine.store.db import session_scope
from engine.store.portable import SafeText

router = APIRouter(tags=["checks"])


class FeedbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measure_id: str = Field(min_length=1, max_length=200)
    executed: bool
    note: SafeText | None = Field(default=None, max_length=2000)


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
    # The hot path, without dependencies or a body parameter: each costs FastAPI tens of µs
    # a request (docs/performance.md). The caller is authorised first, then the body read and
    # validated, in the order FastAPI's dependencies would give (401 before 422); the body's
    # errors are the ones FastAPI gives for a model body parameter.
    caller = authorize(request, Role.implementer)
    service: Service = request.app.state.service
    request_body = _check_request(request, await request.body())
    stored = await checks.decide_async(
        service, request_body, caller=caller.name, department=caller.department
    )
    return Response(_json_bytes(stored.response), media_type="application/json")


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
    except UnicodeDecodeError as exc:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", exc.start), "msg": "JSON decode error",
              "input": {}, "ctx": {"error": "not UTF-8 text"}}]
        ) from None  # fmt: skip
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
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@router.post(
    "/v1/decisions/{decision_id}/feedback", status_code=201, summary="Report what was done"
)
def feedback(
    decision_id: str, body: FeedbackBody, service: ServiceDep, caller: Implementer
) -> dict[str, Any]:
    """Only the deciding department; the measure must be among the decision's hits (422)."""
    with session_scope(service.engine) as session:
        decision = decisions.require_decision(session, decision_id)
        row = decisions.record_feedback(
            session,
            decision=decision,
            measure_id=body.measure_id,
            executed=body.executed,
            note=body.note,
            caller=caller.name,
            department=caller.department,
        )
        session.flush()
        return feedback_item(row)


@router.get("/v1/decisions", summary="The decision log, oldest first")
def list_decisions(
    service: ServiceDep,
    _caller: Auditor,
    subject_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=decisions.MAX_LIST_LIMIT)] = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Filters: subject, ``since`` (inclusive) and ``until`` (exclusive) on the decision time."""
    with session_scope(service.engine) as session:
        items, next_cursor = decisions.list_decisions(
            session,
            subject_id=None if subject_id is None else subject_id.upper(),
            since=since,
            until=until,
            limit=limit,
            cursor=cursor,
        )
    return {"items": [decisions.to_item(item) for item in items], "next_cursor": next_cursor}


@router.get("/v1/decisions/{decision_id}", summary="One logged decision")
def get_decision(decision_id: str, service: ServiceDep, _caller: Auditor) -> dict[str, Any]:
    """404 ``unknown_decision``."""
    with session_scope(service.engine) as session:
        return decisions.to_item(decisions.require_decision(session, decision_id))


@router.get("/v1/audit/verify", summary="Verify the decision log's hash chain")
def verify(service: ServiceDep, _caller: Auditor) -> dict[str, Any]:
    """``ok``, the chain's length and the first bad ``seq``."""
    result = decisions.verify(service.engine)
    return {"ok": result.ok, "length": result.length, "first_bad_seq": result.first_bad_seq}


@router.get("/v1/stats/feedback", summary="Feedback per implementing department (跟踪问效)")
def feedback_stats(service: ServiceDep, _caller: Auditor) -> dict[str, Any]:
    """Per department: checks, checks with hits, feedback received, executed, execution rate."""
    with session_scope(service.engine) as session:
        return {"departments": decisions.feedback_stats(session)}
