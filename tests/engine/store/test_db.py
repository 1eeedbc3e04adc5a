"""Migrations and connections on the configured test database."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from engine.store import db, tables


def test_migrations_create_the_schema_and_are_idempotent(engine: Engine) -> None:
    db.migrate(engine)  # second run: nothing to do, nothing broken
    tables = set(sa.inspect(engine).get_table_names())
    assert {"event", "policy_version", "alembic_version"} <= tables
    with engine.connect() as connection:
        heads = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    assert len(heads) == 1


def test_migrations_build_exactly_the_tables_the_code_declares(engine: Engine) -> None:
    """Every table, column and index of ``engine/store/tables.py`` is what the migrations
    made, and nothing more: a migration and a table definition cannot drift apart."""
    assert tables.CheckpointRecord.__tablename__ == "checkpoint"  # the module registered them
    with engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert drift == []


def test_database_reachable(engine: Engine) -> None:
    assert db.database_reachable(engine)
    broken = db.create_db_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert not db.database_reachable(broken)


def test_session_scope_rolls_back_on_error(engine: Engine) -> None:
    try:
        with db.session_scope(engine) as session:
            session.execute(
                sa.text(
                    "INSERT INTO policy_version (version, files, first_loaded_at) "
                    "VALUES ('v', '{}', CURRENT_TIMESTAMP)"
                )
            )
            raise ValueError("boom")
    except ValueError:
        pass
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM policy_version")).scalar() == 0
