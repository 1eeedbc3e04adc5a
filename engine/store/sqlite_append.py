"""Appending a batch to the decision chain on SQLite: four statements, on the writer's own
connection.

The decision writer is a thread of the serving process; under load the event loop's thread
holds the GIL almost all the time, and every statement the writer sends gives the GIL up
(``sqlite3_step`` runs outside it) and must then wait for the loop to hand it back. Through
SQLAlchemy's pool a batch of 30 decisions was ~45 such waits (a connection checkout, a head
``SELECT``, one step per row of each ``executemany``), 7 ms per batch where the work itself
is under 1 (docs/performance.md). Here a batch is ``BEGIN IMMEDIATE``, one multi-row
``INSERT`` of its decisions, one of its hit-index rows, ``COMMIT``:

- The head is the one this writer last committed; the ``seq`` primary key arbitrates as on
  PostgreSQL (``engine.store.pg_append``): another process that appended in between stored a
  row at this batch's first seq, the ``INSERT`` fails, the transaction is rolled back, and
  the batch is chained again from the head read under the lock (``BEGIN IMMEDIATE`` holds
  the database's write lock, so that second attempt cannot miss).
- WAL checkpoints run outside the batches' commits. SQLite's automatic checkpoint copied the
  WAL into the database and ``fsync``-ed both inside the commit of whichever batch crossed
  its mark (a decision wrote ~2.7 pages, measured: the row, and leaves of the
  ``decision_id`` and ``subject_id`` indexes, random for v4 ids; at 3,500 checks a second
  the 1,000-page mark came ten times a second), and that batch's checks waited (commits
  p90 9 ms, p99 17 ms; docs/performance.md).
  A ``WalCheckpointer`` thread now copies the WAL (``PASSIVE``: never blocking the writer)
  twice a second while decisions are written. A WAL is reused from its start only when a
  write begins with every frame copied and no reader in it, which a writer that never
  pauses does not see by itself: once the WAL holds ``RESTART_FRAMES`` the thread asks for
  that moment (``RESTART``, right after a ``PASSIVE`` copied nearly everything, so the
  writer waits a few ms, and at most ``RESTART_WAIT_MS`` for readers before the thread gives
  up until next time). The writer's own automatic checkpoint stays, at
  ``AUTOCHECKPOINT_PAGES``, as a bound should the thread fall behind.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine

from engine.store.dialect import SqliteDialect, dialect_of
from engine.store.pg_append import ChainBatch, ChainedRecord
from engine.store.tables import DECISION_HIT_TABLE, DECISION_TABLE

log = structlog.get_logger(__name__)

R = TypeVar("R", bound=ChainedRecord)

_STATEMENT = "INSERT INTO decision ..., decision_hit ... (a decision batch)"
_HEAD = "SELECT seq, hash FROM decision ORDER BY seq DESC LIMIT 1"
CHECKPOINT_INTERVAL = 0.5
"""Seconds between the background checkpoints of the WAL the decision writer fills."""
RESTART_FRAMES = 16_384
"""WAL frames (64 MiB at 4 KiB pages) past which the thread restarts the WAL."""
RESTART_WAIT_MS = 20
"""How long a restart may wait for readers (and block the writer meanwhile)."""
LOCK_WAIT_S = 30.0
"""How long a batch waits for the database's write lock (the engine's ``busy_timeout``)."""
LOCK_POLL_S = (0.0002, 0.002)
"""The first and the longest sleep between attempts to take the write lock."""
AUTOCHECKPOINT_PAGES = 4 * RESTART_FRAMES
"""The writer connection's own ``wal_autocheckpoint``: a bound, never reached while the thread
keeps up (SQLite's default is 1,000)."""


class SqliteAppender:
    """The writer thread's own connection and the chain head it last committed (one thread)."""

    def __init__(self, engine: Engine, genesis: str) -> None:
        self._engine = engine
        self._genesis = genesis
        self._connection: Any = None
        self._head: tuple[int, str] | None = None
        self._checkpointer = WalCheckpointer(engine)

    def append(self, batch: ChainBatch[R]) -> list[R]:
        """Store the batch in one transaction; its records."""
        cursor = self._open().cursor()
        try:
            while True:
                _until_not_busy(cursor, "BEGIN IMMEDIATE")
                try:
                    cached = self._head is not None
                    head = self._head or _read_head(cursor, self._genesis)
                    records, _ = batch.chain(*head)
                    decisions, hits = batch.rows(records)
                    try:
                        _insert(
                            self._engine, cursor, DECISION_TABLE, decisions, ("request", "response")
                        )
                    except sqlite3.IntegrityError as exc:
                        if not cached or exc.sqlite_errorname != "SQLITE_CONSTRAINT_PRIMARYKEY":
                            raise
                        # Another process appended since: chain again from the head it left.
                        cursor.execute("ROLLBACK")
                        self._head = None
                        continue
                    _insert(self._engine, cursor, DECISION_HIT_TABLE, hits, ())
                    _until_not_busy(cursor, "COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        cursor.execute("ROLLBACK")
                    raise
                self._head = (records[-1].seq, records[-1].hash)
                self._checkpointer.wrote()
                return records
        except sqlite3.Error as exc:
            self._head = None
            # Raised as SQLAlchemy raises any other statement's errors (IntegrityError, ...).
            raise sa.exc.DBAPIError.instance(
                _STATEMENT, None, exc, sqlite3.Error, dialect=self._engine.dialect
            ) from exc
        except BaseException:
            self._head = None
            raise
        finally:
            cursor.close()

    def _open(self) -> Any:
        if self._connection is None:
            connection = own_connection(self._engine)
            connection.dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
            # Waits for the write lock are ``_until_not_busy``'s, not SQLite's busy handler.
            connection.dbapi_connection.execute("PRAGMA busy_timeout=0")
            self._connection = connection
        return self._connection

    def close(self) -> None:
        self._checkpointer.close()
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()


def own_connection(engine: Engine) -> Any:
    """A pool-detached connection of a thread's own, in which only the statements sent begin
    and end transactions (no implicit ``BEGIN``)."""
    connection = dialect_of(engine).probe_connection(engine)
    connection.dbapi_connection.isolation_level = None
    return connection


def _until_not_busy(cursor: Any, statement: str) -> None:
    """Run ``statement``, trying again in short sleeps while the database is busy (another
    process holds the write lock, or a WAL restart is pending), for up to ``LOCK_WAIT_S``.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25 ms... between attempts: with two
    processes appending, a batch that found the lock taken slept on for tens of ms after it
    was free (check p99 57-124 ms with two workers, docs/performance.md). Here the sleeps
    start at ``LOCK_POLL_S[0]`` and double up to ``LOCK_POLL_S[1]``.
    """
    deadline = time.monotonic() + LOCK_WAIT_S
    pause = LOCK_POLL_S[0]
    while True:
        try:
            cursor.execute(statement)
            return
        except sqlite3.OperationalError as exc:
            if not exc.sqlite_errorname.startswith("SQLITE_BUSY") or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, LOCK_POLL_S[1])


def _read_head(cursor: Any, genesis: str) -> tuple[int, str]:
    row = cursor.execute(_HEAD).fetchone()
    return (0, genesis) if row is None else (int(row[0]), str(row[1]))


_MAX_VARIABLES = 32766
"""SQLITE_MAX_VARIABLE_NUMBER's default since SQLite 3.32 (the bound parameters of one
statement); rows of a larger batch go in several statements of one transaction."""


def _insert(
    engine: Engine,
    cursor: Any,
    table: Any,
    rows: Sequence[dict[str, Any]],
    text_columns: tuple[str, ...],
) -> None:
    if not rows:
        return
    names, values = SqliteDialect().row_tuples(engine.dialect, table, rows, text_columns)
    per_statement = _MAX_VARIABLES // len(names)
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        marks = "(" + ", ".join("?" * len(names)) + ")"
        cursor.execute(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
            + ", ".join([marks] * len(chunk)),
            [value for row in chunk for value in row],
        )


class WalCheckpointer:
    """Copies the WAL a writer connection fills into the database, on a thread of its own.

    After a commit the writer calls ``wrote`` (setting an event: no statement, no GIL
    hand-off); the thread then runs a ``PASSIVE`` checkpoint on its own connection (it copies
    what no reader still needs and never blocks the writer), at most once per
    ``CHECKPOINT_INTERVAL``; and when the WAL holds more than ``RESTART_FRAMES`` frames, a
    ``RESTART`` checkpoint, after which the writer's next commit reuses the WAL from its start.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._interval = CHECKPOINT_INTERVAL
        self._due = threading.Event()
        self._stop = threading.Event()
        self.checkpoints = 0
        """Checkpoints run by the thread so far."""
        self.restarts = 0
        """Of which restarted the WAL."""
        self._thread = threading.Thread(target=self._run, name="jrp-wal-checkpoint", daemon=True)
        self._thread.start()

    def wrote(self) -> None:
        """The writer committed: a checkpoint is due."""
        self._due.set()

    def _run(self) -> None:
        connection: Any = None
        try:
            while not self._stop.is_set():
                self._due.wait()
                if self._stop.is_set():
                    break
                self._due.clear()
                try:
                    if connection is None:
                        connection = self._connect()
                    ((_busy, frames, _copied),) = _checkpoint(connection, "PASSIVE")
                    if frames > RESTART_FRAMES:
                        ((busy, _, _),) = _checkpoint(connection, "RESTART")
                        self.restarts += 0 if busy else 1
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # tried again after the next commit
                    log.warning("decision_log.wal_checkpoint_failed", error=str(exc))
                self._stop.wait(self._interval)
        finally:
            if connection is not None:
                with contextlib.suppress(Exception):
                    connection.close()

    def _connect(self) -> Any:
        connection = own_connection(self._engine)
        connection.dbapi_connection.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
        return connection

    def close(self) -> None:
        self._stop.set()
        self._due.set()
        self._thread.join()


def _checkpoint(connection: Any, mode: str) -> list[tuple[int, int, int]]:
    # fetchall: the statement ends, and with it its read of the WAL.
    return list(connection.dbapi_connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchall())
