"""Reading the decision log for people (the console): newest first, filtered, per day.

``GET /v1/decisions`` pages oldest first for programs that follow the log; a person looks at
the newest decisions first. Both read the same table through the same row conversion
(``StoredDecision``, ``to_item``); nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from engine.decisions.feedback import feedback_item
from engine.decisions.queries import MAX_LIST_LIMIT, _invalid, decode_cursor, encode_cursor, to_item
from engine.decisions.records import StoredDecision
from engine.store.tables import DECISION_TABLE, Decision, Feedback
from engine.timing import CHINA, in_utc
from measures.schema import Effect

OUTCOMES = (*(effect.value for effect in Effect), "clear")
"""Outcomes a person can filter on (``Effect`` values and ``clear``)."""


@dataclass(frozen=True, slots=True)
class DecisionFilter:
    """What a person narrows the log by; None means any."""

    subject_id: str | None = None
    department: str | None = None
    outcome: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _outcome_column() -> Any:
    # JSON path access: json_extract on SQLite, ->> on PostgreSQL (JSONB).
    return DECISION_TABLE.c.response["outcome"].as_string()


def newest_decisions(
    engine: Engine, filters: DecisionFilter, *, limit: int = 50, before: str | None = None
) -> dict[str, Any]:
    """One page of decisions, newest first: ``{"items", "next_cursor"}``.

    ``before`` is the cursor of the previous page (decisions with a lower ``seq`` follow).
    ``since`` is inclusive and ``until`` exclusive on the decision time (a time without
    offset is China time). Subject, department and time use indexes or the primary key;
    the outcome is read from the stored answer, so a rare outcome scans back further.
    """
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise _invalid("limit", f"must be between 1 and {MAX_LIST_LIMIT}")
    query = select(Decision).order_by(col(Decision.seq).desc()).limit(limit + 1)
    if before is not None:
        query = query.where(col(Decision.seq) < decode_cursor(before))
    if filters.subject_id:
        query = query.where(Decision.subject_id == filters.subject_id.strip().upper())
    if filters.department:
        query = query.where(Decision.department == filters.department)
    if filters.outcome:
        if filters.outcome not in OUTCOMES:
            raise _invalid("outcome", f"must be one of {', '.join(OUTCOMES)}")
        query = query.where(_outcome_column() == filters.outcome)
    if filters.since is not None:
        query = query.where(col(Decision.decided_at) >= in_utc(filters.since, field="since"))
    if filters.until is not None:
        query = query.where(col(Decision.decided_at) < in_utc(filters.until, field="until"))
    with Session(engine) as session:
        rows = session.exec(query).all()
        page = [StoredDecision.from_row(row) for row in rows[:limit]]
    next_cursor = encode_cursor(page[-1].seq) if len(rows) > limit else None
    return {"items": [to_item(item) for item in page], "next_cursor": next_cursor}


def decision_feedback(engine: Engine, decision_id: str) -> list[dict[str, Any]]:
    """Every feedback report on a decision, in the order received."""
    query = select(Feedback).where(Feedback.decision_id == decision_id).order_by(col(Feedback.id))
    with Session(engine) as session:
        return [feedback_item(row) for row in session.exec(query).all()]


def checks_per_day(engine: Engine, *, days: int, today: dt.date) -> list[dict[str, Any]]:
    """For each of the last ``days`` China days up to ``today``: checks and checks with hits.

    One grouped query over the decision-time index; days without checks are listed with 0.
    """
    first = today - dt.timedelta(days=days - 1)
    with engine.connect() as connection:
        found = counts_per_day(connection, since=first)
    return days_listed(found, first, days)


def counts_per_day(
    connection: Connection, *, since: dt.date, up_to_seq: int | None = None
) -> dict[str, tuple[int, int]]:
    """China day (ISO) -> (checks, checks with hits: outcome not ``clear``), from ``since``
    (and up to ``up_to_seq`` when given)."""
    start = dt.datetime.combine(since, dt.time(), tzinfo=CHINA).astimezone(dt.UTC)
    decided_at = DECISION_TABLE.c.decided_at
    if connection.dialect.name == "postgresql":
        day = sa.func.date(sa.func.timezone("Asia/Shanghai", decided_at))
    else:  # SQLite stores UTC text; China has had no daylight saving time since 1991
        day = sa.func.date(decided_at, "+8 hours")
    hit = sa.case((_outcome_column() != "clear", 1), else_=0)
    query = (
        sa.select(day.label("day"), sa.func.count().label("checks"), sa.func.sum(hit))
        .where(decided_at >= start)
        .group_by(day)
    )
    if up_to_seq is not None:
        query = query.where(DECISION_TABLE.c.seq <= up_to_seq)
    return {str(row[0]): (int(row[1]), int(row[2] or 0)) for row in connection.execute(query)}


def days_listed(
    found: dict[str, tuple[int, int]], first: dt.date, days: int
) -> list[dict[str, Any]]:
    """``checks_per_day``'s list from per-day counts."""
    result = []
    for offset in range(days):
        current = (first + dt.timedelta(days=offset)).isoformat()
        checks, with_hits = found.get(current, (0, 0))
        result.append({"day": current, "checks": checks, "with_hits": with_hits})
    return result
