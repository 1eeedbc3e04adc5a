"""Reading the decision log for the audit endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from engine.decisions.canonical import canonical_time
from engine.decisions.records import StoredDecision
from engine.errors import Code, InvalidRequest, NotFound
from engine.paging import decode_position, encode_position
from engine.store.tables import Decision, DecisionHit
from engine.timing import in_utc

MAX_LIST_LIMIT = 1000
_CURSOR_PREFIX = "seq:"


def get_decision(session: Session, decision_id: str) -> StoredDecision | None:
    """The decision with this id, or None."""
    row = session.exec(select(Decision).where(Decision.decision_id == decision_id)).first()
    return None if row is None else StoredDecision.from_row(row)


def require_decision(session: Session, decision_id: str) -> StoredDecision:
    """The decision with this id; raises NotFound ``unknown_decision``."""
    stored = get_decision(session, decision_id)
    if stored is None:
        raise NotFound(f"no decision {decision_id}", code=Code.unknown_decision)
    return stored


def list_decisions(
    session: Session,
    *,
    subject_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
    entry_id: str | None = None,
) -> tuple[list[StoredDecision], str | None]:
    """One page of decisions in seq order and the cursor of the next page (None: last page).

    ``since`` is inclusive and ``until`` exclusive, both on ``decided_at`` (a time without
    offset is China time, ``engine.timing``).
    The cursor is opaque to clients; pass it back with the same filters to get the next page.
    Raises InvalidRequest naming ``limit``, ``cursor``, ``since`` or ``until``.
    """
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise _invalid("limit", f"must be between 1 and {MAX_LIST_LIMIT}")
    since = None if since is None else in_utc(since, field="since")
    until = None if until is None else in_utc(until, field="until")
    query = select(Decision).order_by(col(Decision.seq)).limit(limit + 1)
    if cursor is not None:
        query = query.where(col(Decision.seq) > decode_cursor(cursor))
    if subject_id is not None:
        query = query.where(Decision.subject_id == subject_id)
    if entry_id is not None and "\x00" in entry_id:  # no stored id has one; PostgreSQL refuses
        raise _invalid("entry_id", "is not an entry id")
    if entry_id is not None:  # decisions with a hit from that entry (the decision-hit index)
        hits = select(DecisionHit.decision_seq).where(DecisionHit.entry_id == entry_id)
        query = query.where(col(Decision.seq).in_(hits))
    if since is not None:
        query = query.where(col(Decision.decided_at) >= since)
    if until is not None:
        query = query.where(col(Decision.decided_at) < until)
    rows = session.exec(query).all()
    page = [StoredDecision.from_row(row) for row in rows[:limit]]
    next_cursor = encode_cursor(page[-1].seq) if len(rows) > limit else None
    return page, next_cursor


def decision_item(engine: Engine, decision_id: str) -> dict[str, Any]:
    """``GET /v1/decisions/{id}``: the audit item; NotFound ``unknown_decision``."""
    with Session(engine) as session:
        return to_item(require_decision(session, decision_id))


def decisions_page(
    engine: Engine,
    *,
    subject_id: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
    entry_id: str | None = None,
) -> dict[str, Any]:
    """``GET /v1/decisions``: ``{"items", "next_cursor"}`` (``list_decisions``'s page)."""
    with Session(engine) as session:
        items, next_cursor = list_decisions(
            session,
            subject_id=None if subject_id is None else subject_id.upper(),
            since=since,
            until=until,
            limit=limit,
            cursor=cursor,
            entry_id=entry_id,
        )
    return {"items": [to_item(item) for item in items], "next_cursor": next_cursor}


def encode_cursor(seq: int) -> str:
    """The opaque cursor meaning "after seq"."""
    return encode_position(_CURSOR_PREFIX, seq)


def decode_cursor(cursor: str) -> int:
    """The seq a cursor points after; raises InvalidRequest naming ``cursor``."""
    return decode_position(_CURSOR_PREFIX, cursor)


def to_item(stored: StoredDecision) -> dict[str, Any]:
    """The audit item of a decision (docs/api.md#audit), JSON-ready.

    It holds every hashed field, with ``decided_at`` in the hashed form, so an auditor can
    recompute ``hash`` from an item alone (engine/decisions/canonical.py).
    """
    return {
        "seq": stored.seq,
        "decision_id": stored.decision_id,
        "decided_at": canonical_time(stored.decided_at),
        "caller": stored.caller,
        "department": stored.department,
        "subject_id": stored.subject_id,
        "matter": stored.matter,
        "request": stored.request,
        "response": stored.response,
        "policy_version": stored.policy_version,
        "event_seq": stored.event_seq,
        "prev_hash": stored.prev_hash,
        "hash": stored.hash,
    }


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{field} {message}", details=[{"field": field, "message": message}])
