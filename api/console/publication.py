"""The console's share of issue 15: the subject page's relationship map and PDF report link,
and 双公示 timeliness on the statistics page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from api.auth import Role
from api.console.frame import PAGES, Visit, visit
from engine import graphmap, publication, reports
from engine.errors import Forbidden, InvalidRequest

router = APIRouter(prefix="/console", include_in_schema=False)

REPORT_ROLES = (Role.registrar, Role.credit_office, Role.auditor)
GRAPH_ROLES = (Role.credit_office, Role.auditor)


def subject_extras(you: Visit, subject_id: str) -> dict[str, Any]:
    """``report_url`` (None without a report role) and ``graph`` (ECharts graph data, None
    without a map role) for the subject page."""
    caller = you.caller
    extras: dict[str, Any] = {"report_url": None, "graph": None, "graph_note": None}
    if any(caller.has(role) for role in REPORT_ROLES):
        extras["report_url"] = f"/console/subjects/{subject_id}/report.pdf"
    if any(caller.has(role) for role in GRAPH_ROLES):
        answer = graphmap.relationship_map(
            you.service, subject_id, depth=2, caller=caller.name, department=caller.department
        )
        extras["graph_note"] = answer["note"]
        extras["graph"] = {
            "kind": "graph",
            "center": answer["subject_id"],
            "nodes": [
                {
                    "id": n["id"],
                    "name": n["name"] or n["id"],
                    "kind": n["kind"],
                    "listed": n["listed"],
                }
                for n in answer["nodes"]
            ],
            "links": [
                {"source": e["org_id"], "target": e["person_id"], "role": e["role"]}
                for e in answer["edges"]
            ],
        }
    return extras


def timeliness(you: Visit) -> dict[str, Any]:
    """The statistics page's 双公示 table and chart."""
    stats = publication.publication_stats(you.service)
    rows = stats["departments"]
    return {
        "publication": stats,
        "publication_chart": {
            "kind": "bar",
            "categories": [row["name"] for row in rows],
            "series": [
                {"name": "登记条目", "data": [row["registered"] for row in rows]},
                {"name": "逾期登记", "data": [row["late"] for row in rows]},
            ],
        },
    }


@router.get("/subjects/{subject_id}/report.pdf")
async def report_pdf(request: Request, subject_id: str) -> Response:
    """The subject's credit report as a PDF (registrar, credit office, auditor)."""
    you = visit(request, PAGES["subjects"])
    if len(subject_id) > 64:
        raise InvalidRequest("主体标识过长。")
    if not any(you.caller.has(role) for role in REPORT_ROLES):
        raise Forbidden("信用报告仅向登记机关、信用主管部门与审计人员提供。")
    content = reports.subject_report_pdf(
        you.service, subject_id, caller=you.caller.name, department=you.caller.department
    )
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="credit-report.pdf"'},
    )
