"""Credit reports (信用报告), the relationship map (关联图谱) and 双公示 timeliness."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from api.auth import Caller, Role
from api.deps import Auditor, ServiceDep, require
from engine import graphmap, publication, reports
from engine.timing import IsoDate

router = APIRouter(prefix="/v1", tags=["reports"])

ReportReader = Annotated[Caller, Depends(require(Role.registrar, Role.credit_office, Role.auditor))]
GraphReader = Annotated[Caller, Depends(require(Role.credit_office, Role.auditor))]
SubjectId = Annotated[str, Path(alias="id", max_length=64)]


@router.get(
    "/subjects/{id}/report",
    summary="A subject's credit report (JSON, or PDF with Accept: application/pdf)",
    responses={200: {"content": {"application/json": {}, "application/pdf": {}}}},
)
def get_report(
    request: Request,
    service: ServiceDep,
    caller: ReportReader,
    subject_id: SubjectId,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=reports.MAX_LIMIT)] = 100,
) -> Any:
    """Registrar, credit office, auditor. The subject, its entries (a page of `limit` in
    registration order, `next_cursor` for the next) each with its history (registered,
    objection, resolution, repair, revocation, with dates), what applies for every matter
    today, reaching entries, holdings, the count of logged checks; `report_id` and `sha256`
    (of the report's canonical JSON without `sha256`). Recorded in the access log."""
    options: dict[str, Any] = {
        "caller": caller.name,
        "department": caller.department,
        "cursor": cursor,
        "limit": limit,
    }
    if "application/pdf" in request.headers.get("accept", ""):
        return Response(
            reports.subject_report_pdf(service, subject_id, **options),
            media_type="application/pdf",
        )
    return reports.subject_report(service, subject_id, **options)


@router.get(
    "/subjects/{id}/graph",
    summary="The relationship map around a subject (JSON, or GraphML)",
    responses={200: {"content": {"application/json": {}, "application/graphml+xml": {}}}},
)
def get_graph(
    request: Request,
    service: ServiceDep,
    caller: GraphReader,
    subject_id: SubjectId,
    depth: Annotated[int, Query(ge=1, le=graphmap.MAX_DEPTH)] = 1,
) -> Any:
    """Credit office, auditor. Subjects within `depth` holdings (1..3) and the holdings among
    them; `paths`: how each entry reaching the subject reaches it. Bounded: at most
    `MAX_NODES` subjects and `MAX_EDGES` holdings (`truncated`, `note`).
    `Accept: application/graphml+xml` gives GraphML."""
    options: dict[str, Any] = {
        "depth": depth,
        "caller": caller.name,
        "department": caller.department,
    }
    if "application/graphml+xml" in request.headers.get("accept", ""):
        return Response(
            graphmap.relationship_graphml(service, subject_id, **options),
            media_type="application/graphml+xml",
        )
    return graphmap.relationship_map(service, subject_id, **options)


@router.get("/stats/publication", summary="双公示 timeliness per department and month")
def get_publication_stats(
    service: ServiceDep,
    _caller: Auditor,
    since: IsoDate | None = None,
    until: IsoDate | None = None,
) -> dict[str, Any]:
    """Auditor. Entries registered between `since` and `until` (China dates, both included):
    per department and month, `registered`, `late` (more than `publication_working_days`
    working days after `decided_on`) and `median_delay_working_days`."""
    return publication.publication_stats(service, since=since, until=until)
