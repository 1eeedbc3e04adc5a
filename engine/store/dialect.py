"""Every difference between SQLite and PostgreSQL, behind one interface.

The rest of the service asks ``dialect_of(bind)`` and calls what it needs; no other module
branches on the database. What differs:

- **Write locks.** PostgreSQL: transaction-scoped advisory locks, one key per purpose, so
  several processes take turns. SQLite: the database's single write lock, taken up front
  (``BEGIN IMMEDIATE``): a deferred transaction takes it only at its first write, after the
  caller read what it builds on, so another process could commit in between.
- **Bulk writes.** PostgreSQL: ``COPY`` (an ``INSERT`` per row costs the driver ~70–100 µs
  a row in Python, ``COPY`` ~10). SQLite: ``executemany``.
- **Probes.** The connections that ask for the log's head are autocommitted on PostgreSQL
  (no transaction left open between probes) and can be awaited on an event loop (psycopg's
  ``AsyncConnection``); SQLite reads a local file, synchronously, in a few µs.
- **JSON in SQL.** Unnesting the hits of a decision's response (feedback statistics).
- **Counters.** ``INSERT .. ON CONFLICT DO UPDATE .. RETURNING`` is written the same on both
  but built by each dialect's own ``insert`` (the public feed's rate limit, ``count_up``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_sql
from sqlalchemy.dialects import sqlite as sqlite_sql
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

MIGRATION_LOCK_KEY = 0x6A72_7001
EVENT_APPEND_LOCK_KEY = 0x6A72_7002
DECISION_APPEND_LOCK_KEY = 0x6A72_7D01
"""pg_advisory(_xact)_lock keys, one arbitrary 64-bit number per purpose."""

CHECKPOINT_LOCK_KEYS = {"decisions": 0x6A72_7C01, "events": 0x6A72_7C02}
"""One writer at a time extends a log's Merkle tree and signs its checkpoint."""

Bind = Engine | Connection | Session
Chain = Callable[[Sequence[int], Sequence[dict[str, Any]]], None]


class Dialect:
    """What the service does differently on one database (see the module docstring)."""

    name: str = ""

    def lock(self, session: Session, key: int) -> None:
        """Hold the write lock ``key`` until the session's transaction ends."""
        raise NotImplementedError

    @contextmanager
    def locked_transaction(self, engine: Engine, key: int) -> Iterator[Connection]:
        """A connection in a transaction holding the write lock ``key``, committed on success."""
        raise NotImplementedError
        yield  # pragma: no cover

    @contextmanager
    def migration_connection(self, engine: Engine) -> Iterator[Connection]:
        """A connection on which one process at a time runs the migrations, then commits."""
        raise NotImplementedError
        yield  # pragma: no cover

    def insert_events(
        self,
        session: Session,
        table: sa.Table,
        rows: list[dict[str, Any]],
        json_column: str,
        chain: Chain | None = None,
    ) -> list[int]:
        """Insert event rows in order (the caller holds the append lock); their ``seq``.

        ``chain(seqs, rows)``, called once the seqs are known and before the rows are
        written, adds each row's ``prev_hash`` and ``hash`` (engine/verifiable/event_chain.py).
        """
        raise NotImplementedError

    def count_up(
        self, connection: Connection, table: sa.Table, key: dict[str, Any], column: str
    ) -> int:
        """Add 1 to ``column`` of the row ``key`` (made with 1 when missing): the new value."""
        insert_of = pg_sql.insert if self.name == "postgresql" else sqlite_sql.insert
        statement = (
            insert_of(table)
            .values(**key, **{column: 1})
            .on_conflict_do_update(index_elements=list(key), set_={column: table.c[column] + 1})
            .returning(table.c[column])
        )
        return int(connection.execute(statement).scalar_one())

    def bulk_insert(
        self,
        connection: Connection,
        table: sa.Table,
        rows: Sequence[dict[str, Any]],
        json_text_columns: Sequence[str],
    ) -> None:
        """Insert rows whose ``json_text_columns`` hold JSON already encoded as text."""
        raise NotImplementedError

    def insert_rows(
        self, connection: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]
    ) -> None:
        """Insert rows (every column named), each value through its column's type."""
        connection.execute(table.insert(), list(rows))

    def fetch_tuples(
        self, connection: Connection, sql: str, params: Sequence[Any]
    ) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` (``?`` placeholders) as the driver's plain tuples, in the
        connection's transaction: no SQLAlchemy row object per row (bulk reads)."""
        driver: Any = connection.connection.driver_connection
        cursor = driver.cursor()
        try:
            cursor.execute(sql.replace("?", self._placeholder), tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    _placeholder = "?"

    def insert_tuples(
        self,
        connection: Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
    ) -> None:
        """Insert plain rows (values of ``columns`` in order) in the connection's transaction."""
        raise NotImplementedError

    def probe_connection(self, engine: Engine) -> Any:
        """A pool-detached DB-API connection of its own for repeated one-statement reads."""
        connection = engine.raw_connection()
        connection.detach()  # ours for good, outside the pool
        return connection

    async def async_probe_connection(self, engine: Engine) -> Any | None:
        """An event-loop connection for probes, or None when the synchronous one serves."""
        return None

    def batch_appender(self, engine: Engine, lock_key: int, genesis: str) -> Any | None:
        """The decision writer's own batch appender (``engine.store.pg_append``,
        ``engine.store.sqlite_append``), or None when batches go through
        ``locked_transaction``."""
        return None

    decision_hits_sql: str = ""
    """``SELECT DISTINCT seq, measure_id`` of every decision's hits, unnested from the
    response JSON; non-array ``hits`` and non-object items are skipped."""


_InsertPlan = tuple[tuple[str, ...], tuple[Callable[[Any], Any] | None, ...]]


class SqliteDialect(Dialect):
    name = "sqlite"

    def batch_appender(self, engine: Engine, lock_key: int, genesis: str) -> Any | None:
        from engine.store.sqlite_append import SqliteAppender  # it imports this module

        return SqliteAppender(engine, genesis)

    def lock(self, session: Session, key: int) -> None:
        driver: Any = session.connection().connection.dbapi_connection
        if not driver.in_transaction:
            session.execute(sa.text("BEGIN IMMEDIATE"))

    @contextmanager
    def locked_transaction(self, engine: Engine, key: int) -> Iterator[Connection]:
        with engine.connect() as connection:
            # The driver must not open transactions of its own: this one is ours.
            connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield connection
                connection.exec_driver_sql("COMMIT")
            except BaseException:
                # Nothing left to roll back (COMMIT failed after ending it): the error counts.
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    connection.exec_driver_sql("ROLLBACK")
                raise

    @contextmanager
    def migration_connection(self, engine: Engine) -> Iterator[Connection]:
        with engine.begin() as connection:
            yield connection

    def insert_events(
        self,
        session: Session,
        table: sa.Table,
        rows: list[dict[str, Any]],
        json_column: str,
        chain: Chain | None = None,
    ) -> list[int]:
        if chain is not None:
            # The seqs SQLite would assign (max + 1 on), made explicit so they can be hashed.
            head = session.execute(sa.select(sa.func.max(table.c.seq))).scalar() or 0
            seqs = list(range(head + 1, head + 1 + len(rows)))
            chain(seqs, rows)
            session.execute(
                sa.insert(table), [{**row, "seq": seq} for seq, row in zip(seqs, rows, strict=True)]
            )
            return seqs
        statement = sa.insert(table).returning(table.c.seq, sort_by_parameter_order=True)
        return [int(seq) for seq in session.execute(statement, rows).scalars()]

    def bulk_insert(
        self,
        connection: Connection,
        table: sa.Table,
        rows: Sequence[dict[str, Any]],
        json_text_columns: Sequence[str],
    ) -> None:
        self._insert_processed(connection, table, rows, tuple(json_text_columns))

    def insert_rows(
        self, connection: Connection, table: sa.Table, rows: Sequence[dict[str, Any]]
    ) -> None:
        self._insert_processed(connection, table, rows, ())

    def _insert_processed(
        self,
        connection: Connection,
        table: sa.Table,
        rows: Sequence[dict[str, Any]],
        text_columns: tuple[str, ...],
    ) -> None:
        if not rows:
            return
        # One executemany of tuples on the driver's cursor, each value through its column's
        # bind processor (row_tuples): SQLAlchemy's per-row dict processing cost the decision
        # writer, which holds the GIL for it, ~40% of its time per batch (docs/performance.md).
        names, values = self.row_tuples(connection.dialect, table, rows, text_columns)
        marks = ", ".join("?" * len(names))
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
        driver: Any = connection.connection.driver_connection
        dbapi_error = connection.dialect.loaded_dbapi.Error
        cursor = driver.cursor()
        try:
            cursor.executemany(sql, values)
        except dbapi_error as exc:  # raised as SQLAlchemy raises any other statement's errors
            raise sa.exc.DBAPIError.instance(
                sql, None, exc, dbapi_error, dialect=connection.dialect
            ) from exc
        finally:
            cursor.close()

    def row_tuples(
        self,
        dialect: sa.engine.Dialect,
        table: sa.Table,
        rows: Sequence[dict[str, Any]],
        text_columns: tuple[str, ...],
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        """Every column's name, and each row's values as SQLAlchemy would bind them (UTC
        datetimes as SQLite text, JSON columns dumped), ``text_columns`` (JSON already encoded
        as text) as they are."""
        key = (table.name, text_columns)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = (
                tuple(column.name for column in table.columns),
                tuple(
                    None
                    if column.name in text_columns
                    else column.type.dialect_impl(dialect).bind_processor(dialect)
                    for column in table.columns
                ),
            )
        names, processors = plan
        values = [
            tuple(
                row[name] if process is None else process(row[name])
                for name, process in zip(names, processors, strict=True)
            )
            for row in rows
        ]
        return names, values

    _plans: ClassVar[dict[tuple[str, tuple[str, ...]], _InsertPlan]] = {}
    """Per table and pre-encoded columns: the column names, their bind processors."""

    def insert_tuples(
        self,
        connection: Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
    ) -> None:
        driver: Any = connection.connection.driver_connection
        marks = ", ".join("?" * len(columns))
        cursor = driver.cursor()
        try:
            cursor.executemany(
                f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", rows
            )
        finally:
            cursor.close()

    decision_hits_sql = """
        SELECT DISTINCT d.seq, json_extract(hit.value, '$.measure_id') AS measure_id
        FROM decision d, json_each(d.response, '$.hits') AS hit
        WHERE json_type(d.response, '$.hits') = 'array' AND hit.type = 'object'
          AND json_type(hit.value, '$.measure_id') = 'text'
    """


class PostgresDialect(Dialect):
    name = "postgresql"

    def lock(self, session: Session, key: int) -> None:
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))

    @contextmanager
    def locked_transaction(self, engine: Engine, key: int) -> Iterator[Connection]:
        with engine.connect() as connection, connection.begin():
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
            yield connection

    @contextmanager
    def migration_connection(self, engine: Engine) -> Iterator[Connection]:
        with engine.connect() as connection:
            # Serialise concurrent starters (several workers) on one database.
            connection.execute(sa.select(sa.func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
            try:
                yield connection
                connection.commit()
            finally:
                connection.execute(sa.select(sa.func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
                connection.commit()

    def insert_events(
        self,
        session: Session,
        table: sa.Table,
        rows: list[dict[str, Any]],
        json_column: str,
        chain: Chain | None = None,
    ) -> list[int]:
        # The next len(rows) sequence numbers, then COPY with them: safe only under the
        # append lock (no other appender interleaves within the transaction).
        columns = [column.name for column in table.columns]
        driver: Any = session.connection().connection.driver_connection
        with driver.cursor() as cursor:
            cursor.execute(
                f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'seq')) "
                "FROM generate_series(1, %s)",
                (len(rows),),
            )
            seqs = [int(row[0]) for row in cursor.fetchall()]
            if chain is not None:
                chain(seqs, rows)
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for seq, row in zip(seqs, rows, strict=True):
                    values = {**row, "seq": seq, json_column: _json_text(row[json_column])}
                    copy.write_row([values[name] for name in columns])
        return seqs

    def bulk_insert(
        self,
        connection: Connection,
        table: sa.Table,
        rows: Sequence[dict[str, Any]],
        json_text_columns: Sequence[str],
    ) -> None:
        columns = [column.name for column in table.columns]
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        driver: Any = connection.connection.driver_connection
        dbapi_error = connection.dialect.loaded_dbapi.Error
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row([row[name] for name in columns])
        except dbapi_error as exc:  # raised as SQLAlchemy raises any other statement's errors
            raise sa.exc.DBAPIError.instance(
                statement, None, exc, dbapi_error, dialect=connection.dialect
            ) from exc

    _placeholder = "%s"

    def insert_tuples(
        self,
        connection: Connection,
        table: sa.Table,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
    ) -> None:
        driver: Any = connection.connection.driver_connection
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def probe_connection(self, engine: Engine) -> Any:
        connection = super().probe_connection(engine)
        # Each statement its own transaction: none left open between probes.
        connection.dbapi_connection.autocommit = True
        return connection

    def batch_appender(self, engine: Engine, lock_key: int, genesis: str) -> Any | None:
        from engine.store.pg_append import PostgresAppender  # it imports this module

        return PostgresAppender(engine, lock_key, genesis)

    async def async_probe_connection(self, engine: Engine) -> Any | None:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        kwargs.pop("context", None)  # SQLAlchemy's adapters: plain ints need none
        return await psycopg.AsyncConnection.connect(*args, autocommit=True, **kwargs)

    decision_hits_sql = """
        SELECT DISTINCT d.seq, hit.value ->> 'measure_id' AS measure_id
        FROM decision d
        CROSS JOIN LATERAL jsonb_array_elements(
            CASE WHEN jsonb_typeof(d.response -> 'hits') = 'array'
                 THEN d.response -> 'hits' ELSE '[]'::jsonb END
        ) AS hit(value)
        WHERE jsonb_typeof(hit.value -> 'measure_id') = 'string'
    """


def _json_text(value: Any) -> str:
    return json.dumps(value)


_DIALECTS: dict[str, Dialect] = {d.name: d for d in (SqliteDialect(), PostgresDialect())}


def dialect_of(bind: Bind) -> Dialect:
    """The dialect of an engine, connection or session."""
    name = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    try:
        return _DIALECTS[name]
    except KeyError:
        raise ValueError(f"unsupported database {name!r}: SQLite or PostgreSQL") from None


def is_postgresql(bind: Bind) -> bool:
    """True on PostgreSQL (for tests and tools that only run there)."""
    return dialect_of(bind).name == "postgresql"
