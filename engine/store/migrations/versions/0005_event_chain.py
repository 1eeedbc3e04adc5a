"""Verifiable logs: the event chain (existing events chained in seq order), Merkle tiles,
tree heads, checkpoints and signing keys (engine/verifiable/).

Revision ID: 0005_event_chain
Revises: 0004_state_snapshot
"""

import sqlalchemy as sa
from alembic import op

from engine.store.tables import JsonColumn, UtcDateTime
from engine.verifiable.event_chain import GENESIS_HASH, event_hash

revision = "0005_event_chain"
down_revision = "0004_state_snapshot"
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    op.add_column("event", sa.Column("prev_hash", sa.String(64), nullable=True))
    op.add_column("event", sa.Column("hash", sa.String(64), nullable=True))
    _chain_existing_events()
    with op.batch_alter_table("event") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
    op.create_table(
        "merkle_tile",
        sa.Column("log", sa.String(16), primary_key=True),
        sa.Column("level", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "merkle_tree",
        sa.Column("log", sa.String(16), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("accepted_checkpoint_id", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_table(
        "checkpoint",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("log", sa.String(16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.String(40), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=True),
        sa.Column("signature", sa.String(200), nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_checkpoint_log_id", "checkpoint", ["log", "id"])
    op.create_table(
        "signing_key",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("first_used_at", sa.DateTime(timezone=True), nullable=False),
    )


def _chain_existing_events() -> None:
    """Hash every stored event in seq order (the encoding of engine/verifiable/event_chain.py)."""
    connection = op.get_bind()
    event = sa.table(
        "event",
        sa.column("seq", sa.BigInteger()),
        sa.column("type", sa.String()),
        sa.column("subject_id", sa.String()),
        sa.column("payload", JsonColumn),
        sa.column("actor", sa.String()),
        sa.column("department", sa.String()),
        sa.column("recorded_at", UtcDateTime()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    update = (
        event.update()
        .where(event.c.seq == sa.bindparam("b_seq"))
        .values(prev_hash=sa.bindparam("b_prev"), hash=sa.bindparam("b_hash"))
    )
    prev, after = GENESIS_HASH, -1
    columns = [c for c in event.c if c.name not in ("prev_hash", "hash")]
    while True:
        rows = connection.execute(
            sa.select(*columns).where(event.c.seq > after).order_by(event.c.seq).limit(_BATCH)
        ).all()
        if not rows:
            return
        updates = []
        for row in rows:
            fields = row._asdict()
            digest = event_hash(prev, **fields)
            updates.append({"b_seq": row.seq, "b_prev": prev, "b_hash": digest})
            prev = digest
        connection.execute(update, updates)
        after = rows[-1].seq


def downgrade() -> None:
    op.drop_table("signing_key")
    op.drop_index("ix_checkpoint_log_id", table_name="checkpoint")
    op.drop_table("checkpoint")
    op.drop_table("merkle_tree")
    op.drop_table("merkle_tile")
    with op.batch_alter_table("event") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
