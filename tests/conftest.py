"""Test fixtures shared by every package's tests.

Storage tests run on the database named by ``JRP_TEST_DB``: ``sqlite`` (default; a fresh file
per test) or ``postgresql`` (a fresh schema per test on ``JRP_TEST_PG_URL``, dropped after), so
runs never collide, even in parallel on one server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.store import db

ROOT = Path(__file__).resolve().parent.parent
"""The project root (tests/ is directly below it)."""
FIXTURES = ROOT / "tests" / "fixtures"
CASES_DIR = ROOT / "tests" / "cases"
CONTRACT_BUNDLE = FIXTURES / "bundles" / "contract_example"
TEST_DB = os.environ.get("JRP_TEST_DB", "sqlite")
PG_URL = os.environ.get("JRP_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# The services the tests start (hundreds) commit decisions and run checkpoint rounds in
# threads: a child process each would cost a second of start-up apiece. The children have
# their own tests (tests/engine/decisions/test_writer_process.py,
# tests/engine/verifiable/test_checkpoint_process.py), and every served instance
# (tests/serving.py) runs them, as ``jrp serve`` does by default. Set the variables to run
# the whole suite on them.
os.environ.setdefault("JRP_DECISION_WRITER", "thread")
os.environ.setdefault("JRP_CHECKPOINT_RUNNER", "thread")

if TEST_DB not in ("sqlite", "postgresql"):
    raise pytest.UsageError(f"JRP_TEST_DB must be sqlite or postgresql, not {TEST_DB!r}")


def pytest_report_header() -> str:
    return f"jrp test database: {TEST_DB}" + (f" ({PG_URL})" if TEST_DB == "postgresql" else "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of one database's own code (markers ``postgresql_only``, ``sqlite_only``) run in
    that database's pass.

    They are deselected, not skipped, in the other: there is nothing of theirs to run there,
    and ``scripts/test`` runs both passes, so every one of them runs in every full test run.
    """
    other = "sqlite_only" if TEST_DB == "postgresql" else "postgresql_only"
    selected = [item for item in items if item.get_closest_marker(other) is None]
    if len(selected) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in selected])
        items[:] = selected


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """A database URL for one test: SQLite file, or PostgreSQL with a private schema."""
    with database_url(tmp_path) as url:
        yield url


@contextmanager
def database_url(tmp_path: Path) -> Iterator[str]:
    """``db_url`` for any scope: a SQLite file in ``tmp_path``, or a PostgreSQL schema."""
    if TEST_DB == "sqlite":
        yield f"sqlite:///{tmp_path / 'jrp.db'}"
        return
    schema = f"jrp_test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database engine for one test."""
    created = db.create_db_engine(db_url)
    db.migrate(created)
    yield created
    created.dispose()
