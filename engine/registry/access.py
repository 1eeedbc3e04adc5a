"""Personal information in the registry's answers: who sees it whole, and who read it.

- ``FULL_VIEW_ROLES`` (registrar, credit office, auditor) see persons' ids and names whole;
  every other caller gets ``440106********0115`` and ``张*`` everywhere in a subject's answer
  (``mask_person``), holdings and reaching entries included. Org codes are public.
- Every read of a person's data through ``/v1/subjects/...`` is recorded in
  ``subject_access`` (caller, department, subject, route, time), whatever the caller's
  roles; ``access_page`` lists them (``GET /v1/audit/access``, auditors).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from engine.decisions.canonical import canonical_time
from engine.decisions.queries import decode_cursor, encode_cursor
from engine.errors import InvalidRequest
from engine.store.tables import SUBJECT_ACCESS_TABLE
from engine.timing import in_utc, utcnow

FULL_VIEW_ROLES = frozenset({"registrar", "credit_office", "auditor"})
MAX_LIMIT = 1000
_A = SUBJECT_ACCESS_TABLE.c


def mask_id(person_id: str) -> str:
    """A person's id as callers without a full view see it: ``440106********0115``."""
    text = person_id.strip().upper()
    return text[:6] + "*" * 8 + text[14:] if len(text) == 18 else "*" * len(text)


def mask_name(name: str | None) -> str | None:
    """A person's name as callers without a full view see it: the first character, then ``*``."""
    if not name:
        return name
    return name[0] + "*"


def record_access(
    engine: Engine, *, caller: str, department: str, subject_id: str, route: str
) -> None:
    """Record one read of a person's data (committed before the answer leaves)."""
    with Session(engine) as session:
        session.execute(
            SUBJECT_ACCESS_TABLE.insert().values(
                caller=caller,
                department=department,
                subject_id=subject_id,
                route=route,
                accessed_at=utcnow(),
            )
        )
        session.commit()


def access_page(
    engine: Engine,
    *,
    subject_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """``GET /v1/audit/access``: recorded reads, oldest first; ``since`` inclusive, ``until``
    exclusive (a time without offset is China time)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(
            "limit out of range",
            details=[{"field": "limit", "message": f"must be between 1 and {MAX_LIMIT}"}],
        )
    if subject_id is not None and "\x00" in subject_id:  # PostgreSQL refuses NUL in text
        raise InvalidRequest(
            "subject_id is not an id",
            details=[{"field": "subject_id", "message": "is not a subject id"}],
        )
    query = sa.select(_A.id, _A.caller, _A.department, _A.subject_id, _A.route, _A.accessed_at)
    if subject_id is not None:
        query = query.where(_A.subject_id == subject_id.strip().upper())
    if since is not None:
        query = query.where(_A.accessed_at >= in_utc(since, field="since"))
    if until is not None:
        query = query.where(_A.accessed_at < in_utc(until, field="until"))
    if cursor is not None:
        query = query.where(_A.id > decode_cursor(cursor))
    with Session(engine) as session:
        rows = session.execute(query.order_by(_A.id).limit(limit + 1)).all()
    page = rows[:limit]
    return {
        "items": [
            {
                "caller": row.caller,
                "department": row.department,
                "subject_id": row.subject_id,
                "route": row.route,
                "accessed_at": canonical_time(row.accessed_at),
            }
            for row in page
        ],
        "next_cursor": encode_cursor(int(page[-1].id)) if len(rows) > limit else None,
    }
