"""The console's early-warning page (诚信预警, docs/commitments.md#early-warning): the same
list as ``GET /v1/warnings``, for the credit office (which sees persons' ids whole)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.console.frame import PAGES, ConsoleRoute, render, visit
from engine import earlywarning
from engine.errors import InvalidRequest

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)


@router.get("/warnings")
async def warnings(request: Request) -> Response:
    you = visit(request, PAGES["warnings"])
    query = request.query_params
    kind = query.get("kind") or None
    department = query.get("department") or None
    text = query.get("within") or "5"
    if not text.isdigit() or len(text) > 3:
        raise InvalidRequest("“工作日内”须为 1 到 60 的整数。")
    answer = earlywarning.warnings_page(
        you.service, kind=kind, department=department, within=int(text), limit=1000
    )
    return render(
        request,
        "warnings.html",
        {
            "title": "诚信预警",
            "answer": answer,
            "kinds": earlywarning.KINDS,
            "kind": kind,
            "department": department,
            "vocabulary": you.service.policy.bundle.vocabulary,
        },
        visitor=you,
    )
