"""Two databases for two instances: two SQLite files, or two PostgreSQL schemas."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PG_URL, TEST_DB


@pytest.fixture
def two_dbs(tmp_path: Path) -> Iterator[tuple[str, str]]:
    if TEST_DB == "sqlite":
        yield f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
        return
    schemas = [f"jrp_test_{uuid.uuid4().hex[:16]}" for _ in range(2)]
    admin = sa.create_engine(PG_URL)
    with admin.begin() as connection:
        for schema in schemas:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield tuple(f"{PG_URL}?options=-csearch_path%3D{s}" for s in schemas)  # type: ignore[misc]
    finally:
        with admin.begin() as connection:
            for schema in schemas:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
