"""Feedback (反馈) on a decision's hits, and how well departments report back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from engine.decisions.queries import require_decision
from engine.decisions.records import StoredDecision
from engine.errors import Forbidden, InvalidRequest
from engine.store.db import session_scope
from engine.store.dialect import dialect_of
from engine.store.tables import MEASURE_ID_LEN, Feedback, utcnow


def hit_measure_ids(decision: StoredDecision) -> set[str]:
    """The distinct ``measure_id`` of a decision's hits."""
    hits = decision.response.get("hits")
    if not isinstance(hits, list):
        return set()
    return {
        hit["measure_id"]
        for hit in hits
        if isinstance(hit, dict) and isinstance(hit.get("measure_id"), str)
    }


def record_feedback(
    session: Session,
    *,
    decision: StoredDecision,
    measure_id: str,
    executed: bool,
    note: str | None,
    caller: str,
    department: str,
) -> Feedback:
    """Record whether a hit's measure was executed; raises Forbidden or InvalidRequest.

    Only the deciding department may report (Forbidden otherwise, checked first so other
    departments learn nothing about the hits). The measure must be among the decision's hits
    (InvalidRequest naming ``measure_id``). Feedback is keyed by (decision, measure): one
    report covers every hit of that measure (a measure can hit through several entries).
    Reports are never overwritten: a second one for the same (decision, measure) is kept
    too, and the latest (highest id) is the one that counts in ``feedback_stats``.
    """
    if department != decision.department:
        raise Forbidden(
            f"only the deciding department ({decision.department}) reports on this decision"
        )
    if measure_id not in hit_measure_ids(decision):
        raise _invalid("measure_id", f"is not among the hits of decision {decision.decision_id}")
    if len(measure_id) > MEASURE_ID_LEN:
        raise _invalid("measure_id", f"is longer than {MEASURE_ID_LEN} characters")
    if note is not None and "\x00" in note:
        raise _invalid("note", "must not contain NUL characters")  # PostgreSQL text refuses them
    row = Feedback(
        decision_id=decision.decision_id,
        measure_id=measure_id,
        executed=executed,
        note=note,
        caller=caller,
        department=department,
        recorded_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def report_feedback(
    engine: Engine,
    decision_id: str,
    *,
    measure_id: str,
    executed: bool,
    note: str | None,
    caller: str,
    department: str,
) -> dict[str, Any]:
    """``POST /v1/decisions/{id}/feedback``: record and return the report (``record_feedback``)."""
    with session_scope(engine) as session:
        row = record_feedback(
            session,
            decision=require_decision(session, decision_id),
            measure_id=measure_id,
            executed=executed,
            note=note,
            caller=caller,
            department=department,
        )
        return feedback_item(row)


def feedback_report(engine: Engine) -> dict[str, Any]:
    """``GET /v1/stats/feedback``: ``{"departments": feedback_stats}``."""
    with Session(engine) as session:
        return {"departments": feedback_stats(session)}


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{field} {message}", details=[{"field": field, "message": message}])


def feedback_item(row: Feedback) -> dict[str, Any]:
    """A feedback record as JSON-ready data."""
    return {
        "id": row.id,
        "decision_id": row.decision_id,
        "measure_id": row.measure_id,
        "executed": row.executed,
        "note": row.note,
        "caller": row.caller,
        "department": row.department,
        "recorded_at": row.recorded_at.isoformat(),
    }


_STATS_SQL = """
WITH hit AS ({hits}),
ranked AS (
    SELECT f.decision_id, f.measure_id, f.executed,
           ROW_NUMBER() OVER (PARTITION BY f.decision_id, f.measure_id ORDER BY f.id DESC) AS n
    FROM feedback f
),
per_check AS (
    SELECT d.department,
           COUNT(hit.measure_id) AS hits,
           COUNT(latest.measure_id) AS hits_with_feedback,
           SUM(CASE WHEN latest.executed THEN 1 ELSE 0 END) AS executed
    FROM decision d
    LEFT JOIN hit ON hit.seq = d.seq
    LEFT JOIN ranked AS latest
           ON latest.n = 1 AND latest.decision_id = d.decision_id
          AND latest.measure_id = hit.measure_id
    GROUP BY d.department, d.seq
)
SELECT department,
       COUNT(*) AS checks,
       SUM(CASE WHEN hits > 0 THEN 1 ELSE 0 END) AS checks_with_hits,
       SUM(CASE WHEN hits_with_feedback > 0 THEN 1 ELSE 0 END) AS feedback_received,
       SUM(CASE WHEN hits > 0 AND hits_with_feedback = hits THEN 1 ELSE 0 END) AS fed_back,
       SUM(hits) AS hits,
       SUM(hits_with_feedback) AS hits_with_feedback,
       SUM(executed) AS executed
FROM per_check
GROUP BY department
ORDER BY department
"""


def feedback_stats(session: Session) -> list[dict[str, Any]]:
    """Per deciding department, how its checks were fed back; computed in one SQL query.

    A "hit" here is a distinct (decision, measure_id) pair, the unit feedback is given on.
    - ``checks``: decisions the department made;
    - ``checks_with_hits``: those with at least one hit;
    - ``feedback_received``: those with feedback on at least one hit;
    - ``fed_back``: those with hits where every hit has feedback
      (docs/domain.md#feedback-statistics: a check counts as fed back only when every hit
      has feedback); checks without hits never count;
    - ``hits``, ``hits_with_feedback``: hits over all its checks, and those with feedback;
    - ``executed``: hits whose latest feedback says executed;
    - ``execution_rate``: executed / hits_with_feedback, None when no hit has feedback.
    """
    sql = sa.text(_STATS_SQL.format(hits=dialect_of(session).decision_hits_sql))
    stats = []
    for row in session.execute(sql).mappings():
        item = {
            key: (int(value or 0) if key != "department" else value) for key, value in row.items()
        }
        with_feedback = item["hits_with_feedback"]
        item["execution_rate"] = item["executed"] / with_feedback if with_feedback else None
        stats.append(item)
    return stats
