"""A subject's credit grade (信用等级, docs/grades.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import AnyCaller, ServiceDep
from api.routers.public import error_responses
from engine.grades.views import subject_grade_answer

router = APIRouter(prefix="/v1", tags=["grades"], responses=error_responses(401, 404, 422))

_EXAMPLE = {
    "subject_id": "91440101000010014P",
    "subject_kind": "org",
    "as_of": "2026-06-01",
    "model": "local-credit-score",
    "model_name": "本地信用积分示例模型(非国家标准)",
    "policy_version": "2f7f1004…",
    "score": 60,
    "grade": "D",
    "label": "严重失信(D级)",
    "breakdown": {
        "base": 100,
        "deductions": [
            {"rule": "blacklisted", "entry_id": "…", "list": "dishonest_judgment_debtor",
             "decided_on": "2025-03-01", "points": 40, "factor": 1, "applied": -40}
        ],
        "bonuses": [],
        "clean_years": {"years": 0, "since": None, "latest_entry_id": "…",
                        "points_per_year": 2, "applied": 0},
        "unclamped": 60,
    },
}  # fmt: skip


@router.get(
    "/subjects/{id}/grade",
    summary="A subject's credit score and grade at a date, with its breakdown",
    responses={200: {"content": {"application/json": {"example": _EXAMPLE}}}},
)
def get_grade(
    service: ServiceDep,
    caller: AnyCaller,
    subject_id: Annotated[str, Path(alias="id", max_length=64)],
    as_of: Annotated[
        dt.datetime | None,
        Query(description="a date or an RFC 3339 time (without offset: China time); default now"),
    ] = None,
) -> dict[str, Any]:
    """Any role. The score and grade under the grades model of the policy in force on the
    China date of `as_of`, with each contributing entry (deductions with their decay factor,
    red-list bonuses) and the clean-years bonus (docs/grades.md). 404 `unknown_subject`;
    404 `no_grade_model` when the policy has no grades model or does not grade this kind;
    422 naming `as_of` or `id`. A person's id is masked for roles other than registrar,
    credit office and auditor, and the read is recorded (`GET /v1/audit/access`)."""
    return subject_grade_answer(
        service,
        subject_id,
        as_of,
        caller=caller.name,
        department=caller.department,
        roles=[role.value for role in caller.roles],
    )
