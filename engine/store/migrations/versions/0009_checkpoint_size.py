"""Checkpoints found by size: an inclusion proof at an explicit ``size`` and an exchange
peer's checkpoint look one up by ``(log, size)`` (docs/performance.md, verifiable logs).

Revision ID: 0009_checkpoint_size
Revises: 0007_publication
"""

from alembic import op

revision = "0009_checkpoint_size"
down_revision = "0007_publication"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_checkpoint_log_size", "checkpoint", ["log", "size"])


def downgrade() -> None:
    op.drop_index("ix_checkpoint_log_size", table_name="checkpoint")
