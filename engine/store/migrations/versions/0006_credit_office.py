"""Credit office: the decision-hit index (remediation) and the personal-data access log.

Revision ID: 0006_credit_office
Revises: 0005_event_chain

The index is filled from the decisions already logged (``engine.decisions.hit_index``).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006_credit_office"
down_revision = "0005_event_chain"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
BIG_INT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "decision_hit",
        sa.Column("entry_id", sa.String(64), primary_key=True),
        sa.Column("decision_seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("measure_ids", JSON, nullable=False),
    )
    op.create_table(
        "subject_access",
        sa.Column("id", BIG_INT, primary_key=True, autoincrement=True),
        sa.Column("caller", sa.String(200), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("route", sa.String(200), nullable=False),
        sa.Column("accessed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_subject_access_subject_id_id", "subject_access", ["subject_id", "id"])
    op.create_index("ix_subject_access_accessed_at", "subject_access", ["accessed_at"])
    from engine.decisions.hit_index import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_subject_access_accessed_at", table_name="subject_access")
    op.drop_index("ix_subject_access_subject_id_id", table_name="subject_access")
    op.drop_table("subject_access")
    op.drop_table("decision_hit")
