"""The append-only event log: every state change goes through ``append``."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from engine.store.db import EVENT_APPEND_LOCK_KEY
from engine.store.tables import Event, utcnow


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
    if session.get_bind().dialect.name == "postgresql":
        seqs = _copy_postgresql(session, rows)
    else:
        statement = sa.insert(EVENT_TABLE).returning(_C.seq, sort_by_parameter_order=True)
        seqs = list(session.execute(statement, rows).scalars())
    return [
        StoredEvent(int(seq), row["type"], row["subject_id"], row["payload"], row["actor"],
                    row["department"], now)
        for seq, row in zip(seqs, rows, strict=True)
    ]  # fmt: skip


_COLUMNS = ("seq", "type", "subject_id", "payload", "actor", "department", "recorded_at")


def _copy_postgresql(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Take the next ``len(rows)`` sequence numbers and COPY the rows in with them.

    A multi-row INSERT ... RETURNING costs ~70 µs an event in the driver (it re-parses the
    long statement); COPY costs ~10. Safe only under the append lock, which the caller holds:
    numbers are taken and used inside one transaction that no other appender interleaves with.
    """
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('event', 'seq')) FROM generate_series(1, %s)",
            (len(rows),),
        )
        seqs = [int(row[0]) for row in cursor.fetchall()]
        columns = ", ".join(_COLUMNS)
        with cursor.copy(f"COPY event ({columns}) FROM STDIN") as copy:
            for seq, row in zip(seqs, rows, strict=True):
                copy.write_row(
                    (seq, row["type"], row["subject_id"], json.dumps(row["payload"]),
                     row["actor"], row["department"], row["recorded_at"])
                )  # fmt: skip
    return seqs


def lock_log(session: Session) -> None:
    """Hold the append lock until the transaction ends; call it before reading what to append.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: the database's write lock, taken
    up front (``BEGIN IMMEDIATE``): a deferred transaction takes it only at its first write,
    after the caller read the log, so another process could commit events in between, and the
    events appended would follow events this process never applied (a gap in its state; seen
    with ``jrp serve --workers 2`` on SQLite).
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(EVENT_APPEND_LOCK_KEY)))
    elif dialect == "sqlite":
        driver: Any = session.connection().connection.dbapi_connection
        if not driver.in_transaction:
            session.execute(sa.text("BEGIN IMMEDIATE"))


def last_seq(session: Session) -> int:
    """The highest committed sequence number visible to this session (0 for an empty log)."""
    return int(session.execute(sa.select(sa.func.coalesce(sa.func.max(_C.seq), 0))).scalar() or 0)


class LogHead:
    """The log's last ``seq``, read over one connection of its own (a few µs, not a session's
    hundreds): every batch of checks asks it. Threads take turns (one connection)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Any = None
        self._lock = threading.Lock()

    def seq(self) -> int:
        """The highest committed sequence number (0 for an empty log)."""
        with self._lock:
            return self._seq()

    def _seq(self) -> int:
        if self._connection is None:
            connection = self._engine.raw_connection()
            if self._engine.dialect.name == "postgresql":
                # Each probe its own statement: no transaction left open between probes.
                connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]
            connection.detach()  # ours for good, outside the pool
            self._connection = connection
        try:
            cursor = self._connection.cursor()
            try:
                cursor.execute(_HEAD_SQL)
                row = cursor.fetchone()
            finally:
                cursor.close()
        except Exception:
            self.close()  # a broken connection: the next call opens another
            raise
        return _head_seq(row)

    def close(self) -> None:
        """Close the connection (a later ``seq`` opens a new one)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()


_HEAD_SQL = "SELECT max(seq) FROM event"


def _head_seq(row: Any) -> int:
    return int(row[0] or 0) if row else 0


class AsyncLogHead:
    """``LogHead`` for one event loop: the probe awaited on the loop, no thread hand-off.

    PostgreSQL: a psycopg ``AsyncConnection`` of its own, opened with the engine's connection
    arguments. SQLite: the synchronous probe, on the loop: a read of a local file (WAL readers
    never wait for the writer), a few µs. Use it from that loop only.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Any = None  # psycopg.AsyncConnection on PostgreSQL
        self._local: LogHead | None = None  # SQLite

    async def seq(self) -> int:
        """The highest committed sequence number (0 for an empty log)."""
        if self._engine.dialect.name != "postgresql":
            self._local = self._local or LogHead(self._engine)
            return self._local.seq()
        if self._connection is None:
            args, kwargs = self._engine.dialect.create_connect_args(self._engine.url)
            kwargs.pop("context", None)  # SQLAlchemy's adapters: plain ints need none
            self._connection = await psycopg.AsyncConnection.connect(
                *args, autocommit=True, **kwargs
            )
        try:
            cursor = await self._connection.execute(_HEAD_SQL)
            row = await cursor.fetchone()
        except Exception:
            self.close()  # a broken connection: the next call opens another
            raise
        return _head_seq(row)

    def close(self) -> None:
        """Drop the connection, from any thread (its loop may have stopped)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.pgconn.finish()
        local, self._local = self._local, None
        if local is not None:
            local.close()


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
