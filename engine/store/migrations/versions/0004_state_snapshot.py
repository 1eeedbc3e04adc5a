"""State snapshots (engine/snapshot.py): the projection at a log position, in parts.

Revision ID: 0004_state_snapshot
Revises: 0003_idempotency
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_state_snapshot"
down_revision = "0003_idempotency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "state_snapshot",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("part", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("format", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        # The data is zlib-compressed already: keep PostgreSQL from compressing it again.
        op.execute("ALTER TABLE state_snapshot ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.drop_table("state_snapshot")
