"""The decision log's audit reads and implementing departments' feedback (docs/api.md#audit)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Auditor, Implementer, ServiceDep
from engine import decisions
from engine.store.portable import SafeText

router = APIRouter(tags=["audit"])


class FeedbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    measure_id: str = Field(min_length=1, max_length=200)
    executed: bool
    note: SafeText | None = Field(default=None, max_length=2000)


@router.post(
    "/v1/decisions/{decision_id}/feedback", status_code=201, summary="Report what was done"
)
def feedback(
    decision_id: str, body: FeedbackBody, service: ServiceDep, caller: Implementer
) -> dict[str, Any]:
    """Only the deciding department; the measure must be among the decision's hits (422)."""
    return decisions.report_feedback(
        service.engine,
        decision_id,
        measure_id=body.measure_id,
        executed=body.executed,
        note=body.note,
        caller=caller.name,
        department=caller.department,
    )


@router.get("/v1/decisions", summary="The decision log, oldest first")
def list_decisions(
    service: ServiceDep,
    _caller: Auditor,
    subject_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=decisions.MAX_LIST_LIMIT)] = 50,
    cursor: str | None = None,
    entry_id: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Filters: subject, ``since`` (inclusive) and ``until`` (exclusive) on the decision time;
    a time without offset is China time; ``entry_id``: decisions with a hit from that entry
    (the decision-hit index)."""
    return decisions.decisions_page(
        service.engine,
        subject_id=subject_id,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
        entry_id=entry_id,
    )


@router.get("/v1/decisions/{decision_id}", summary="One logged decision")
def get_decision(decision_id: str, service: ServiceDep, _caller: Auditor) -> dict[str, Any]:
    """404 ``unknown_decision``."""
    return decisions.decision_item(service.engine, decision_id)


@router.get("/v1/audit/verify", summary="Verify the decision log's hash chain")
def verify(service: ServiceDep, _caller: Auditor) -> dict[str, Any]:
    """``ok``, the chain's length and the first bad ``seq``."""
    return decisions.verify(service.engine).to_dict()


@router.get("/v1/stats/feedback", summary="Feedback per implementing department (跟踪问效)")
def feedback_stats(service: ServiceDep, _caller: Auditor) -> dict[str, Any]:
    """Per department: checks, checks with hits, feedback received, executed, execution rate."""
    return decisions.feedback_report(service.engine)
