"""The append-only event log: every state change goes through ``append``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from engine.db import EVENT_APPEND_LOCK_KEY
from engine.models import Event, utcnow


class EventType(StrEnum):
    """Every kind of event the log holds."""

    policy_loaded = "policy.loaded"
    subject_upserted = "subject.upserted"
    relation_recorded = "relation.recorded"
    entry_registered = "entry.registered"
    entry_revoked = "entry.revoked"
    objection_raised = "entry.objection_raised"
    objection_resolved = "entry.objection_resolved"
    entry_repaired = "entry.repaired"


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event not yet appended."""

    type: EventType
    payload: dict[str, Any]
    subject_id: str | None = None
    actor: str | None = None
    department: str | None = None


def append(session: Session, events: Sequence[NewEvent]) -> list[Event]:
    """Append events in order within the caller's transaction; returns them with their ``seq``.

    On PostgreSQL a transaction-scoped advisory lock serialises appenders, so sequence numbers
    become visible in commit order: a reader that has seen ``seq`` N never later finds a
    smaller one appearing (what lets workers catch up by sequence number without gaps).
    """
    lock_log(session)
    now = utcnow()
    rows = [
        Event(
            type=new.type.value,
            subject_id=new.subject_id,
            payload=new.payload,
            actor=new.actor,
            department=new.department,
            recorded_at=now,
        )
        for new in events
    ]
    session.add_all(rows)
    session.flush()
    return rows


def lock_log(session: Session) -> None:
    """Hold the append lock until the transaction ends (PostgreSQL; SQLite has one writer)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(EVENT_APPEND_LOCK_KEY)))


def last_seq(session: Session) -> int:
    """The highest committed sequence number visible to this session (0 for an empty log)."""
    return int(session.exec(select(sa.func.coalesce(sa.func.max(Event.seq), 0))).one() or 0)


def read(
    session: Session, *, after: int = 0, upto: int | None = None, batch: int = 5000
) -> Iterator[Event]:
    """Events with ``after < seq <= upto`` in order, fetched in batches."""
    cursor = after
    while True:
        query = select(Event).where(col(Event.seq) > cursor).order_by(col(Event.seq)).limit(batch)
        if upto is not None:
            query = query.where(col(Event.seq) <= upto)
        rows = session.exec(query).all()
        if not rows:
            return
        yield from rows
        cursor = rows[-1].seq or cursor
        if len(rows) < batch:
            return
