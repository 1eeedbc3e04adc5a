"""Committing one batch of decisions to the chain: what the decision writer does per batch,
in its own thread (``ThreadCommitter``) or in a process of its own
(``engine.decisions.writer_process``).

A batch is chained from the head its appender last saw and stored in one transaction: on
PostgreSQL one optimistic statement (``engine.store.pg_append``), on SQLite the appender's
own ``BEGIN IMMEDIATE`` transaction (``engine.store.sqlite_append``); after repeated misses,
or on a database without an appender, under ``chain_lock``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from engine.decisions.canonical import GENESIS_HASH, canonical_record, chain_hash
from engine.decisions.hit_index import hit_rows, insert_hits
from engine.decisions.records import DecisionDraft, StoredDecision
from engine.store.dialect import DECISION_APPEND_LOCK_KEY, dialect_of
from engine.store.pg_append import PostgresAppender, as_sqlalchemy_error
from engine.store.sqlite_append import SqliteAppender
from engine.store.tables import DECISION_TABLE

WriterKind = Literal["thread", "process"]
"""Where a decision log's batches are committed: its writer thread, or a child process."""


@contextmanager
def chain_lock(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the chain's append lock, committed on success: every process
    appending to one database waits its turn and reads the head the previous holder
    committed."""
    with dialect_of(engine).locked_transaction(engine, DECISION_APPEND_LOCK_KEY) as connection:
        yield connection


def chain_head(connection: Connection) -> tuple[int, str]:
    """The last ``(seq, hash)`` of the chain, ``(0, GENESIS_HASH)`` when empty."""
    seq = DECISION_TABLE.c.seq
    row = connection.execute(
        sa.select(seq, DECISION_TABLE.c.hash).order_by(seq.desc()).limit(1)
    ).first()
    return (0, GENESIS_HASH) if row is None else (int(row[0]), str(row[1]))


@dataclass(slots=True)
class Pending:
    """A decision on its way to the log, its JSON encoded, and who waits for it."""

    draft: DecisionDraft
    request_json: str
    response_json: str
    future: Future[StoredDecision] | None = None
    """The waiting thread's future (``append``), or None for a coroutine (``append_async``)."""
    loop: asyncio.AbstractEventLoop | None = None
    waiter: asyncio.Future[StoredDecision] | None = None

    def live(self) -> bool:
        """False when a thread's future was cancelled before the batch started."""
        return self.future is None or self.future.set_running_or_notify_cancel()


Appender = PostgresAppender | SqliteAppender


def commit_batch(
    engine: Engine, appender: Appender | None, batch: Sequence[Pending]
) -> list[StoredDecision]:
    """Write one batch in one transaction; the records in ``batch`` order."""
    chained = Batch(batch)
    if appender is not None:  # the database's own (engine/store/*_append.py)
        try:
            appended = appender.append(chained)
        except Exception as exc:
            raise as_sqlalchemy_error(exc, engine) from exc
        if appended is not None:
            return appended
    # PostgreSQL when other workers kept moving the head: read it under the lock.
    with chain_lock(engine) as connection:
        records, _ = chained.chain(*chain_head(connection))
        decisions, hits = chained.rows(records)
        dialect = dialect_of(connection)
        dialect.bulk_insert(connection, DECISION_TABLE, decisions, ("request", "response"))
        insert_hits(connection, hits)
    return records


def new_appender(engine: Engine) -> Appender | None:
    """The database's own batch appender for a decision writer (one thread's)."""
    appender: Appender | None = dialect_of(engine).batch_appender(
        engine, DECISION_APPEND_LOCK_KEY, GENESIS_HASH
    )
    return appender


def _chain(
    batch: Sequence[Pending], seq: int, prev_hash: str, canonical: list[bytes] | None = None
) -> list[StoredDecision]:
    """The batch's records, numbered and hashed on from the head ``(seq, prev_hash)``; each
    record's canonical bytes (what its hash covers) appended to ``canonical`` when given."""
    records: list[StoredDecision] = []
    for pending in batch:
        seq += 1
        record, text = _chained(pending, seq=seq, prev_hash=prev_hash)
        records.append(record)
        if canonical is not None:
            canonical.append(text)
        prev_hash = record.hash
    return records


class ThreadCommitter:
    """Batches committed by the writer thread itself, on a connection of its own."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._appender = new_appender(engine)

    def commit(self, batch: Sequence[Pending]) -> list[StoredDecision]:
        return commit_batch(self._engine, self._appender, batch)

    def close(self) -> None:
        if self._appender is not None:
            self._appender.close()


_COLUMNS = tuple(column.name for column in DECISION_TABLE.columns)


class Batch:
    """A batch as the appenders chain and store it (``engine.store.pg_append.ChainBatch``)."""

    __slots__ = ("_pending",)

    def __init__(self, pending: Sequence[Pending]) -> None:
        self._pending = pending

    def chain(self, seq: int, prev_hash: str) -> tuple[list[StoredDecision], list[bytes]]:
        canonical: list[bytes] = []
        return _chain(self._pending, seq, prev_hash, canonical), canonical

    def rows(
        self, records: Sequence[StoredDecision]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The decision rows (request and response as the canonical JSON text already made)
        and their decision-hit index rows (engine/decisions/hit_index.py)."""
        pairs = list(zip(self._pending, records, strict=True))
        decisions = [
            {
                **{field: getattr(record, field) for field in _COLUMNS},
                "request": pending.request_json,
                "response": pending.response_json,
            }
            for pending, record in pairs
        ]
        hits = [
            hit
            for pending, record in pairs
            for hit in hit_rows(record.seq, record.department, pending.draft.response)
        ]
        return decisions, hits


def _chained(pending: Pending, *, seq: int, prev_hash: str) -> tuple[StoredDecision, bytes]:
    draft = pending.draft
    record = canonical_record(
        seq=seq,
        decision_id=draft.decision_id,
        decided_at=draft.decided_at,
        caller=draft.caller,
        department=draft.department,
        subject_id=draft.subject_id,
        matter=draft.matter,
        request_json=pending.request_json,
        response_json=pending.response_json,
        policy_version=draft.policy_version,
        event_seq=draft.event_seq,
        prev_hash=prev_hash,
    )
    stored = StoredDecision.from_draft(
        draft, seq=seq, prev_hash=prev_hash, hash=chain_hash(prev_hash, record)
    )
    return stored, record
