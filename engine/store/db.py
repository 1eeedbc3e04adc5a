"""Database engine, sessions and schema migrations (SQLite embedded, PostgreSQL in production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from engine.store.dialect import dialect_of

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; its errors never show SQL parameters (ids: personal data).

    PostgreSQL connection settings (a ``search_path`` for isolation, say) go in the URL
    (``?options=-csearch_path%3Dname``), not in ``connect_args``: the connections opened
    outside SQLAlchemy (``engine.store.heads.AsyncLogHead``) are made from the URL alone.
    """
    if url.startswith("sqlite"):
        # FastAPI serves sync handlers from a thread pool; SQLite connections are then shared
        # across threads, which is safe with one connection per session (SQLAlchemy's pool).
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False}, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, hide_parameters=True)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL lets readers go on while one writer commits; busy_timeout waits for the lock
    # instead of failing at once; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration that runs the packaged migrations on ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe to run from several processes at once."""
    config = alembic_config(engine)
    with dialect_of(engine).migration_connection(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def driver_message(error: BaseException) -> str:
    """The first line of the database driver's message (at most 500 characters).

    Never SQLAlchemy's own text: that lists the statement's bound parameters, personal ids
    among them, and must not reach a log or a terminal.
    """
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0][:500] if lines else type(error).__name__


PROBE_TIMEOUT_SECONDS = 10
"""How long a command waits for a PostgreSQL server before it calls the database unreachable."""


def display_url(url: str) -> str:
    """``url`` as it may be printed: the password replaced by ``***``."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(an unreadable database URL)"


def unreachable_reason(url: str) -> str | None:
    """Why no connection to ``url`` can be opened (one line), or None when one can.

    Commands call this before anything else touches the database, so that an unreachable
    server or an SQLite path in a missing directory is one line, not a driver traceback.
    """
    try:
        parsed = sa.engine.make_url(url)
        connect_args: dict[str, object] = {}
        if parsed.get_backend_name() == "postgresql":
            connect_args["connect_timeout"] = PROBE_TIMEOUT_SECONDS
        probe = sa.create_engine(parsed, poolclass=sa.pool.NullPool, connect_args=connect_args)
    except (sa.exc.ArgumentError, ImportError) as exc:  # a malformed URL, an unknown driver
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    try:
        with probe.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        return driver_message(exc)
    finally:
        probe.dispose()
    return None


def database_reachable(engine: Engine) -> bool:
    """True when a trivial query succeeds."""
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return False
    return True


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed on success and rolled back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
