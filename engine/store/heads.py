"""The event log's head (its last ``seq``), asked by every batch of checks: kept cheap.

A probe reads ``max(seq)`` over a connection of its own (a few µs, not a session's hundreds),
``LogHead`` from any thread (they take turns), ``AsyncLogHead`` awaited on one event loop.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from sqlalchemy.engine import Engine

from engine.store.dialect import dialect_of


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
            self._connection = dialect_of(self._engine).probe_connection(self._engine)
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
        if self._local is not None:
            return self._local.seq()
        if self._connection is None:
            self._connection = await dialect_of(self._engine).async_probe_connection(self._engine)
            if self._connection is None:  # the synchronous probe serves (SQLite)
                self._local = LogHead(self._engine)
                return self._local.seq()
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
