"""Alembic environment: runs on the connection ``engine.db.migrate`` hands over."""

from __future__ import annotations

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through engine.db.migrate(), which supplies a connection")

context.configure(connection=connection, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
