"""Event log and policy versions.

Revision ID: 0001_event_log
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001_event_log"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
BIG_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column("seq", BIG_SERIAL, primary_key=True, autoincrement=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(32), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("department", sa.String(64), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_event_type", "event", ["type"])
    op.create_index("ix_event_subject_id", "event", ["subject_id"])
    op.create_table(
        "policy_version",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("files", JSON, nullable=False),
        sa.Column("first_loaded_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("policy_version")
    op.drop_index("ix_event_subject_id", table_name="event")
    op.drop_index("ix_event_type", table_name="event")
    op.drop_table("event")
