"""The append-only event log: every state change goes through ``append``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from engine.store.dialect import EVENT_APPEND_LOCK_KEY, dialect_of
from engine.store.tables import Event, utcnow
from engine.verifiable.event_chain import GENESIS_HASH, event_hash


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
    commitment_recorded = "commitment.recorded"  # engine/commitments (docs/commitments.md)
    commitment_fulfilled = "commitment.fulfilled"
    commitment_breached = "commitment.breached"
    log_truncation_accepted = "log.truncation_accepted"  # engine/verifiable/truncation.py
    entry_imported = "entry.imported"  # engine/exchange (docs/exchange.md)
    entry_import_updated = "entry.import_updated"
    exchange_pulled = "exchange.pulled"


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event not yet appended."""

    type: EventType
    payload: dict[str, Any]
    subject_id: str | None = None
    actor: str | None = None
    department: str | None = None


EVENT_TABLE: sa.Table = Event.__table__  # type: ignore[attr-defined]
_C = EVENT_TABLE.c


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored, with its ``seq`` (the same fields as a row of ``Event``)."""

    seq: int
    type: str
    subject_id: str | None
    payload: dict[str, Any]
    actor: str | None
    department: str | None
    recorded_at: dt.datetime


def append(session: Session, events: Sequence[NewEvent]) -> list[StoredEvent]:
    """Append events in order within the caller's transaction; returns them with their ``seq``.

    On PostgreSQL a transaction-scoped advisory lock serialises appenders, so sequence numbers
    become visible in commit order: a reader that has seen ``seq`` N never later finds a
    smaller one appearing (what lets workers catch up by sequence number without gaps).
    One multi-row INSERT ... RETURNING (Core, not ORM units of work: bulk imports append
    thousands of events per transaction).
    """
    if not events:
        return []
    lock_log(session)
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "type": new.type.value,
            "subject_id": new.subject_id,
            "payload": new.payload,
            "actor": new.actor,
            "department": new.department,
            "recorded_at": now,
        }
        for new in events
    ]
    # The chain (engine/verifiable/event_chain.py): the head is stable under the lock.
    seqs = dialect_of(session).insert_events(
        session, EVENT_TABLE, rows, "payload", chain=_chain_from_head(session)
    )
    return [
        StoredEvent(int(seq), row["type"], row["subject_id"], row["payload"], row["actor"],
                    row["department"], now)
        for seq, row in zip(seqs, rows, strict=True)
    ]  # fmt: skip


def _chain_from_head(session: Session) -> Any:
    """A function hashing rows (given their seqs) from the log's current head, in one pass."""
    head = session.execute(sa.select(_C.hash).order_by(_C.seq.desc()).limit(1)).scalar()
    prev = [head or GENESIS_HASH]

    def chain(seqs: Sequence[int], rows: Sequence[dict[str, Any]]) -> None:
        for seq, row in zip(seqs, rows, strict=True):
            row["prev_hash"] = prev[0]
            row["hash"] = prev[0] = event_hash(prev[0], seq=seq, **_hashed(row))

    return chain


def _hashed(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in _HASHED_FIELDS}


_HASHED_FIELDS = ("type", "subject_id", "payload", "actor", "department", "recorded_at")


def lock_log(session: Session) -> None:
    """Hold the append lock until the transaction ends; call it before reading what to append.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: the database's write lock, taken
    up front (``BEGIN IMMEDIATE``): a deferred transaction takes it only at its first write,
    after the caller read the log, so another process could commit events in between, and the
    events appended would follow events this process never applied (a gap in its state; seen
    with ``jrp serve --workers 2`` on SQLite).
    """
    dialect_of(session).lock(session, EVENT_APPEND_LOCK_KEY)


def last_seq(session: Session) -> int:
    """The highest committed sequence number visible to this session (0 for an empty log)."""
    return int(session.execute(sa.select(sa.func.coalesce(sa.func.max(_C.seq), 0))).scalar() or 0)


def read(
    session: Session, *, after: int = 0, upto: int | None = None, batch: int = 5000
) -> Iterator[StoredEvent]:
    """Events with ``after < seq <= upto`` in order, fetched in batches."""
    columns = (_C.seq, _C.type, _C.subject_id, _C.payload, _C.actor, _C.department, _C.recorded_at)
    for rows in _batches(session, columns, after=after, upto=upto, batch=batch):
        for seq, event_type, subject_id, payload, actor, department, recorded_at in rows:
            yield StoredEvent(seq, event_type, subject_id, payload, actor, department, recorded_at)


def read_facts(
    session: Session, *, after: int = 0, upto: int | None = None, batch: int = 5000
) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """``(seq, type, payload)`` of the events with ``after < seq <= upto``: what ``State`` needs.

    Leaner than ``read`` (no timestamps to parse, no objects to build): catch-up at start-up
    reads millions of them.
    """
    for rows in _batches(session, (_C.seq, _C.type, _C.payload), after=after, upto=upto,
                         batch=batch):  # fmt: skip
        yield from rows


def _batches(
    session: Session, columns: Sequence[Any], *, after: int, upto: int | None, batch: int
) -> Iterator[Sequence[Any]]:
    cursor = after
    while True:
        query = sa.select(*columns).where(_C.seq > cursor).order_by(_C.seq).limit(batch)
        if upto is not None:
            query = query.where(_C.seq <= upto)
        rows = session.execute(query).all()
        if not rows:
            return
        yield rows
        cursor = rows[-1][0]
        if len(rows) < batch:
            return
