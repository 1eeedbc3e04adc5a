"""Publication: the public feed's per-address request counts (rate limit across workers).

Revision ID: 0007_publication
Revises: 0006_credit_office
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_publication"
down_revision = "0006_credit_office"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "public_rate",
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("minute", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("public_rate")
