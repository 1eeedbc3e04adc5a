"""A subject's credit grade (信用等级, docs/grades.md)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import AnyCaller, ServiceDep
from engine.grades.views import subject_grade_answer

router = APIRouter(prefix="/v1", tags=["grades"])


@router.get(
    "/subjects/{id}/grade",
    summary="A subject's credit score and grade at a date, with its breakdown",
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
