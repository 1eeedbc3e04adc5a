"""Hash-chained decision log and feedback.

Revision ID: 0002_decision_log
Revises: 0001_event_log
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002_decision_log"
down_revision = "0001_event_log"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")
BIG_INT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "decision",
        # Assigned by the writer under the chain lock (engine/decisions/writer.py).
        sa.Column("seq", BIG_INT, primary_key=True, autoincrement=False),
        sa.Column("decision_id", sa.String(36), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("caller", sa.String(200), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("matter", sa.String(64), nullable=False),
        sa.Column("request", JSON, nullable=False),
        sa.Column("response", JSON, nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("decision_id", name="uq_decision_decision_id"),
    )
    op.create_index("ix_decision_subject_id_seq", "decision", ["subject_id", "seq"])
    op.create_index("ix_decision_decided_at", "decision", ["decided_at"])
    op.create_table(
        "feedback",
        sa.Column("id", BIG_INT, primary_key=True, autoincrement=True),
        sa.Column(
            "decision_id",
            sa.String(36),
            sa.ForeignKey("decision.decision_id", name="fk_feedback_decision_id"),
            nullable=False,
        ),
        sa.Column("measure_id", sa.String(128), nullable=False),
        sa.Column("executed", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("caller", sa.String(200), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_feedback_decision_measure", "feedback", ["decision_id", "measure_id"])


def downgrade() -> None:
    op.drop_index("ix_feedback_decision_measure", table_name="feedback")
    op.drop_table("feedback")
    op.drop_index("ix_decision_decided_at", table_name="decision")
    op.drop_index("ix_decision_subject_id_seq", table_name="decision")
    op.drop_table("decision")
