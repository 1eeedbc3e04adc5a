"""What an entry caused: its logged decisions, and the notices owed to departments.

Both read the decision-hit index (``engine.decisions.hit_index``), never scan the log:
``entry_decisions`` is one index range scan joined to the decision rows of one page, plus the
feedback of that page's decisions.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from engine.decisions.canonical import canonical_time
from engine.entries.lifecycle import get_entry
from engine.errors import Forbidden, InvalidRequest
from engine.service import Service
from engine.state import Entry, EntryStatus
from engine.store.tables import DECISION_HIT_TABLE, DECISION_TABLE, Feedback

MAX_LIMIT = 1000
_H = DECISION_HIT_TABLE.c
_D = DECISION_TABLE.c
_F = Feedback.__table__.c  # type: ignore[attr-defined]
_CHUNK = 500


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{field}: {message}", details=[{"field": field, "message": message}])


def _encode(value: Any) -> str:
    text = json.dumps(value, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _invalid("cursor", "is not a cursor this service issued") from None


def _seq_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    value = _decode(cursor)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise _invalid("cursor", "is not a cursor this service issued")
    return value


def entry_decisions(
    service: Service,
    entry_id: str,
    *,
    department: str,
    any_department: bool,
    cursor: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """``GET /v1/entries/{id}/decisions``: every logged decision with a hit from the entry,
    oldest first. ``any_department``: the caller may read any entry's (auditor, credit
    office); otherwise only its own department's entries (403)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise _invalid("limit", f"must be between 1 and {MAX_LIMIT}")
    after = _seq_cursor(cursor)
    # An entry's department never changes: the state as it is decides, unless the entry is
    # not there yet (registered by another worker a moment ago): then catch up first.
    if entry_id not in service.state.entries:
        service.catch_up()
    entry = get_entry(service.state, entry_id)
    if not any_department and entry.department != department:
        raise Forbidden(f"entry {entry_id} belongs to department {entry.department}")
    query = (
        sa.select(
            _H.decision_seq,
            _H.measure_ids,
            _D.decision_id,
            _D.decided_at,
            _D.department,
            _D.caller,
            _D.matter,
            _D.response,
        )
        .join(DECISION_TABLE, _D.seq == _H.decision_seq)
        .where(_H.entry_id == entry_id, _H.decision_seq > after)
        .order_by(_H.decision_seq)
        .limit(limit + 1)
    )
    with Session(service.engine) as session:
        rows = session.execute(query).all()
        page = rows[:limit]
        feedback = _feedback(session, [row.decision_id for row in page])
    items = []
    for row in page:
        measures = sorted(row.measure_ids)
        items.append(
            {
                "decision_id": row.decision_id,
                "decided_at": canonical_time(row.decided_at),
                "department": row.department,
                "caller": row.caller,
                "matter": row.matter,
                "outcome": row.response.get("outcome"),
                "measure_ids": measures,
                "feedback": [
                    {"measure_id": measure_id, "executed": executed}
                    for measure_id, executed in feedback.get(row.decision_id, ())
                    if measure_id in measures
                ],
            }
        )
    more = len(rows) > limit
    return {"items": items, "next_cursor": _encode(int(page[-1].decision_seq)) if more else None}


def _feedback(session: Session, decision_ids: Sequence[str]) -> dict[str, list[tuple[str, bool]]]:
    found: dict[str, list[tuple[str, bool]]] = {}
    if not decision_ids:
        return found
    rows = session.execute(
        sa.select(_F.decision_id, _F.measure_id, _F.executed)
        .where(_F.decision_id.in_(decision_ids))
        .order_by(_F.id)
    )
    for decision_id, measure_id, executed in rows:
        found.setdefault(decision_id, []).append((measure_id, bool(executed)))
    return found


def ended_as(entry: Entry) -> str | None:
    """``objection_upheld`` or ``revoked`` for an entry that ended so, None otherwise."""
    if entry.status is not EntryStatus.revoked:
        return None
    if entry.objection is not None and entry.objection.outcome == "upheld":
        return "objection_upheld"
    return "revoked"


def notices(
    service: Service,
    *,
    department: str | None,
    cursor: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """``GET /v1/notices``: per (ended entry, implementing department whose decisions it hit),
    what to restore. ``department`` None: every department (credit office). Ordered by the
    entry's registration, then department."""
    if not 1 <= limit <= MAX_LIMIT:
        raise _invalid("limit", f"must be between 1 and {MAX_LIMIT}")
    after: tuple[int, str] = (0, "")
    if cursor is not None:
        value = _decode(cursor)
        if not (
            isinstance(value, list)
            and len(value) == 2
            and isinstance(value[0], int)
            and isinstance(value[1], str)
        ):
            raise _invalid("cursor", "is not a cursor this service issued")
        after = (value[0], value[1])
    service.catch_up()
    with service.state.lock:
        ended = sorted(
            ((entry, how) for entry in service.state.entries.values()
             if (how := ended_as(entry)) is not None),
            key=lambda pair: pair[0].registered_seq,
        )  # fmt: skip
    by_id = {entry.id: (entry, how) for entry, how in ended if entry.registered_seq >= after[0]}
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    ids = list(by_id)
    with Session(service.engine) as session:
        for start in range(0, len(ids), _CHUNK):
            query = sa.select(_H.entry_id, _H.department, _H.decision_seq, _H.measure_ids).where(
                _H.entry_id.in_(ids[start : start + _CHUNK])
            )
            if department is not None:
                query = query.where(_H.department == department)
            for entry_id, dept, seq, measure_ids in session.execute(query):
                group = groups.setdefault(
                    (entry_id, dept), {"count": 0, "measures": set(), "first": seq, "last": seq}
                )
                group["count"] += 1
                group["measures"].update(measure_ids)
                group["first"] = min(group["first"], seq)
                group["last"] = max(group["last"], seq)
        keyed = sorted(
            ((by_id[entry_id][0].registered_seq, dept), entry_id, dept) for entry_id, dept in groups
        )
        keyed = [item for item in keyed if item[0] > after]
        page, more = keyed[:limit], len(keyed) > limit
        seqs = {groups[(e, d)][k] for _key, e, d in page for k in ("first", "last")}
        times = dict(
            session.execute(sa.select(_D.seq, _D.decided_at).where(_D.seq.in_(seqs))).all()
        ) if seqs else {}  # fmt: skip
    items = []
    for _key, entry_id, dept in page:
        entry, how = by_id[entry_id]
        group = groups[(entry_id, dept)]
        items.append(
            {
                "entry_id": entry_id,
                "list": entry.list,
                "subject_id": entry.subject_id,
                "ended": how,
                "ended_on": None if entry.ended_on is None else entry.ended_on.isoformat(),
                "department": dept,
                "decisions": group["count"],
                "measure_ids": sorted(group["measures"]),
                "first_decided_at": canonical_time(times[group["first"]]),
                "last_decided_at": canonical_time(times[group["last"]]),
            }
        )
    next_cursor = _encode(list(page[-1][0])) if more else None
    return {"items": items, "next_cursor": next_cursor}
