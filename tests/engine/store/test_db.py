"""Migrations and connections on the configured test database."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.store import db


def test_migrations_create_the_schema_and_are_idempotent(engine: Engine) -> None:
    db.migrate(engine)  # second run: nothing to do, nothing broken
    tables = set(sa.inspect(engine).get_table_names())
    assert {"event", "policy_version", "alembic_version"} <= tables
    with engine.connect() as connection:
        heads = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    assert len(heads) == 1


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
