"""Appending a batch to the decision chain on PostgreSQL in one round trip.

The chain needs each batch to start from the current head (seq, hash) under the chain lock.
Read under the lock, that costs a round trip while the lock is held, then another for the
rows and one for the commit: a worker whose writer thread then waits for its process's GIL
(a busy event loop) holds the lock for milliseconds, and every worker's batches queue behind
it. Instead the writer computes the batch from the head it last saw and sends, pipelined in
one round trip, ``BEGIN``; the lock; an INSERT of the whole batch that inserts only if the
head is still that one; the head as it now is; ``COMMIT``. The lock is held only while the
server runs those statements. With one worker the head it saw is always current; when
another worker appended meanwhile nothing is inserted, the batch is chained again from the
head returned, and sent again. After a few misses the caller falls back to the locking path.

Correctness does not rest on the guess: the INSERT's snapshot is taken after the lock was
granted (pipelined statements still run one after another), so it sees every batch
committed before, and inserts nothing unless the head is the one the hashes were made from.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.decisions.records import DECISION_TABLE, StoredDecision

ChainFrom = Callable[[int, str], list[StoredDecision]]
"""Given the head (seq, hash) to start from, the batch's records chained from it."""

_TYPES = {
    "seq": "bigint",
    "event_seq": "bigint",
    "decided_at": "timestamptz",
    "request": "jsonb",
    "response": "jsonb",
}
_COLUMNS = tuple(column.name for column in DECISION_TABLE.columns)
# Arrays go in binary (%b): the text format escapes every quote of the JSON texts, which
# psycopg does in Python, a regex call per character to escape (milliseconds a batch).
_INSERT = (
    f"INSERT INTO decision ({', '.join(_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"%b::{_TYPES.get(name, 'text')}[]" for name in _COLUMNS)
    + ") WHERE (SELECT coalesce(max(seq), 0) FROM decision) = %s"
)
_HEAD = "SELECT seq, hash FROM decision ORDER BY seq DESC LIMIT 1"
OPTIMISTIC_ATTEMPTS = 3


class PostgresAppender:
    """The writer thread's own connection and the chain head it last saw (one thread only)."""

    def __init__(self, engine: Engine, lock_key: int, genesis: str) -> None:
        self._engine = engine
        self._lock_key = lock_key
        self._genesis = genesis
        self._connection: Any = None
        self._head: tuple[int, str] | None = None

    def append(
        self, chain_from: ChainFrom, json_columns: Sequence[tuple[str, str]]
    ) -> list[StoredDecision] | None:
        """Store the batch; its records, or None when other writers kept moving the head.

        ``json_columns`` holds each record's request and response as canonical JSON text.
        """
        try:
            for _ in range(OPTIMISTIC_ATTEMPTS):
                head = self._head or self._read_head()
                records = chain_from(*head)
                inserted, now = self._try(records, json_columns, head[0])
                if inserted:
                    self._head = (records[-1].seq, records[-1].hash)
                    return records
                self._head = now
            return None
        except Exception:
            self._head = None
            self._reset()
            raise

    def _try(
        self,
        records: Sequence[StoredDecision],
        json_columns: Sequence[tuple[str, str]],
        head_seq: int,
    ) -> tuple[bool, tuple[int, str]]:
        arrays: list[list[Any]] = []
        for name in _COLUMNS:
            if name == "request":
                arrays.append([request for request, _ in json_columns])
            elif name == "response":
                arrays.append([response for _, response in json_columns])
            else:
                arrays.append([getattr(record, name) for record in records])
        connection = self._open()
        with connection.pipeline():
            connection.execute("BEGIN")
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))
            insert = connection.execute(_INSERT, (*arrays, head_seq))
            head = connection.execute(_HEAD)
            connection.execute("COMMIT")
        row = head.fetchone()
        now = (0, self._genesis) if row is None else (int(row[0]), str(row[1]))
        return insert.rowcount == len(records), now

    def _read_head(self) -> tuple[int, str]:
        row = self._open().execute(_HEAD).fetchone()
        return (0, self._genesis) if row is None else (int(row[0]), str(row[1]))

    def _open(self) -> Any:
        if self._connection is None:
            raw = self._engine.raw_connection()
            raw.dbapi_connection.autocommit = True  # type: ignore[union-attr]
            raw.detach()  # the writer's own, outside the pool
            self._connection = raw.dbapi_connection
        return self._connection

    def _reset(self) -> None:
        """After an error: roll back what the pipeline left open, or drop the connection."""
        connection = self._connection
        if connection is None:
            return
        try:
            connection.execute("ROLLBACK")
        except Exception:
            self.close()

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()


def as_sqlalchemy_error(exc: Exception, engine: Engine) -> Exception:
    """A driver error as SQLAlchemy raises it from any other statement (IntegrityError, ...)."""
    dbapi_error = engine.dialect.loaded_dbapi.Error
    if not isinstance(exc, dbapi_error):
        return exc
    return sa.exc.DBAPIError.instance(_INSERT, None, exc, dbapi_error, dialect=engine.dialect)
