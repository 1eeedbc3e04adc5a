"""The credit office's reads: objections on their clock, what an entry caused, notices to
departments, and the personal-data access log (docs/api.md#credit-office)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.auth import Role
from api.deps import Auditor, CreditOfficeOrInitiator, EntryReader, NoticeReader, ServiceDep
from engine import entries, remediation
from engine.registry.access import access_page

router = APIRouter(tags=["credit office"])

Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.get("/v1/objections", summary="Objections with their verification deadline")
def list_objections(
    service: ServiceDep,
    caller: CreditOfficeOrInitiator,
    status: Literal["open", "resolved"] | None = None,
    overdue: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """The latest objection of each entry, oldest raised first; the credit office sees all,
    an initiator its department's. ``overdue=true``: open and today (China) > ``verify_by``."""
    return entries.objections_page(
        service,
        department=None if caller.has(Role.credit_office) else caller.department,
        status=status,
        overdue=overdue,
        cursor=cursor,
        limit=limit,
    )


@router.get("/v1/entries/{entry_id}/decisions", summary="Every decision an entry caused")
def entry_decisions(
    entry_id: str,
    service: ServiceDep,
    caller: EntryReader,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Logged decisions with a hit from the entry, oldest first, with the feedback on its
    measures (from the decision-hit index). Auditor and credit office: any entry; an
    initiator: its department's (403 otherwise); 404 ``unknown_entry``."""
    return remediation.entry_decisions(
        service,
        entry_id,
        department=caller.department,
        any_department=caller.has(Role.auditor) or caller.has(Role.credit_office),
        cursor=cursor,
        limit=limit,
    )


@router.get("/v1/notices", summary="Departments to tell that an entry ended (恢复信誉)")
def list_notices(
    service: ServiceDep,
    caller: NoticeReader,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """One item per (entry ended by an upheld objection or a revocation, implementing
    department whose decisions it hit); an implementer sees its department's, the credit
    office all."""
    return remediation.notices(
        service,
        department=None if caller.has(Role.credit_office) else caller.department,
        cursor=cursor,
        limit=limit,
    )


@router.get("/v1/audit/access", summary="Reads of persons' data")
def list_access(
    service: ServiceDep,
    _caller: Auditor,
    subject_id: Annotated[str | None, Query(max_length=64)] = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Every recorded read of a person's data through ``/v1/subjects/...``: caller,
    department, subject, route, time; ``since`` inclusive, ``until`` exclusive (a time
    without offset is China time)."""
    return access_page(
        service.engine, subject_id=subject_id, since=since, until=until, cursor=cursor, limit=limit
    )
