"""Every table of the service, in one place.

The event log (``event``) is the source of truth for the facts, the decision log
(``decision``) for the answers given; ``feedback`` and ``idempotency_key`` are records in
their own right; ``policy_version`` keeps every bundle loaded; ``state_snapshot`` is a cache.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JsonColumn = sa.JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigSerial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UtcDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC on every database (SQLite would hand back naive datetimes)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: dt.datetime | None, dialect: sa.Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: sa.Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class Event(SQLModel, table=True):
    """One state change, appended once and never updated; ``seq`` orders the whole log."""

    __tablename__ = "event"

    seq: int | None = Field(default=None, sa_column=sa.Column(BigSerial, primary_key=True))
    type: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, index=True))
    subject_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(32), index=True))
    payload: dict[str, Any] = Field(sa_column=sa.Column(JsonColumn, nullable=False))
    actor: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    department: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    recorded_at: dt.datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    # Chained as the decision log is (engine/verifiable/event_chain.py).
    prev_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))


class PolicyVersionRecord(SQLModel, table=True):
    """A policy bundle exactly as loaded, keyed by its content version."""

    __tablename__ = "policy_version"

    version: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    files: dict[str, str] = Field(sa_column=sa.Column(JsonColumn, nullable=False))
    first_loaded_at: dt.datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))


# Column widths, also checked before a draft is queued: a value the database would refuse must
# fail its own append, not the whole group-committed batch it would have joined.
DECISION_ID_LEN = 36
CALLER_LEN = 200
CODE_LEN = 64  # department, subject_id, matter, policy_version
MEASURE_ID_LEN = 128
HASH_LEN = 64


class Decision(SQLModel, table=True):
    """One answer to a check, chained to the previous one by SHA-256; never updated."""

    __tablename__ = "decision"
    __table_args__ = (
        # Serves both "by subject" and "by subject in seq order" (the audit listing).
        sa.Index("ix_decision_subject_id_seq", "subject_id", "seq"),
        sa.Index("ix_decision_decided_at", "decided_at"),
    )

    seq: int = Field(
        sa_column=sa.Column(BigSerial, primary_key=True, autoincrement=False)
    )  # assigned by the writer under the chain lock, never by the database
    decision_id: str = Field(
        sa_column=sa.Column(sa.String(DECISION_ID_LEN), nullable=False, unique=True)
    )
    decided_at: dt.datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    caller: str = Field(sa_column=sa.Column(sa.String(CALLER_LEN), nullable=False))
    department: str = Field(sa_column=sa.Column(sa.String(CODE_LEN), nullable=False))
    subject_id: str = Field(sa_column=sa.Column(sa.String(CODE_LEN), nullable=False))
    matter: str = Field(sa_column=sa.Column(sa.String(CODE_LEN), nullable=False))
    request: dict[str, Any] = Field(sa_column=sa.Column(JsonColumn, nullable=False))
    response: dict[str, Any] = Field(sa_column=sa.Column(JsonColumn, nullable=False))
    policy_version: str = Field(sa_column=sa.Column(sa.String(CODE_LEN), nullable=False))
    event_seq: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    prev_hash: str = Field(sa_column=sa.Column(sa.String(HASH_LEN), nullable=False))
    hash: str = Field(sa_column=sa.Column(sa.String(HASH_LEN), nullable=False))


class Feedback(SQLModel, table=True):
    """An implementing department's report on one measure of one decision; never updated."""

    __tablename__ = "feedback"
    __table_args__ = (sa.Index("ix_feedback_decision_measure", "decision_id", "measure_id"),)

    id: int | None = Field(default=None, sa_column=sa.Column(BigSerial, primary_key=True))
    decision_id: str = Field(
        sa_column=sa.Column(
            sa.String(DECISION_ID_LEN), sa.ForeignKey("decision.decision_id"), nullable=False
        )
    )
    measure_id: str = Field(sa_column=sa.Column(sa.String(MEASURE_ID_LEN), nullable=False))
    executed: bool = Field(sa_column=sa.Column(sa.Boolean(), nullable=False))
    note: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    caller: str = Field(sa_column=sa.Column(sa.String(CALLER_LEN), nullable=False))
    department: str = Field(sa_column=sa.Column(sa.String(CODE_LEN), nullable=False))
    recorded_at: dt.datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))


DECISION_TABLE: sa.Table = Decision.__table__  # type: ignore[attr-defined]


class IdempotencyRecord(SQLModel, table=True):
    """The first answer given to (caller, key), with a digest of the request body."""

    __tablename__ = "idempotency_key"

    caller: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
    key: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
    request_sha256: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    response: dict[str, Any] = Field(sa_column=sa.Column(JsonColumn, nullable=False))
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UtcDateTime(), nullable=False)
    )


class StateSnapshot(SQLModel, table=True):
    """One part of a stored snapshot; a snapshot is the parts of one ``seq``, in order."""

    __tablename__ = "state_snapshot"

    seq: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    part: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True, autoincrement=False))
    parts: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))
    format: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    sha256: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    created_at: dt.datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary(), nullable=False))


class DecisionHit(SQLModel, table=True):
    """Index of the decision log: one row per (entry, decision) with a hit from that entry.

    Written with each decision batch, in the same transaction (engine/decisions/writer.py,
    engine/store/pg_append.py); rebuilt from the log by ``engine.decisions.hit_index.rebuild``.
    The log stays the source: this only finds an entry's decisions without scanning it.
    """

    __tablename__ = "decision_hit"

    entry_id: str = Field(sa_column=sa.Column(sa.String(CODE_LEN), primary_key=True))
    decision_seq: int = Field(
        sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False)
    )
    department: str = Field(sa_column=sa.Column(sa.String(CODE_LEN), nullable=False))
    measure_ids: list[str] = Field(sa_column=sa.Column(JsonColumn, nullable=False))


DECISION_HIT_TABLE: sa.Table = DecisionHit.__table__  # type: ignore[attr-defined]


class SubjectAccess(SQLModel, table=True):
    """One read of a person's data through ``/v1/subjects/...`` (who, which department, when)."""

    __tablename__ = "subject_access"
    __table_args__ = (
        sa.Index("ix_subject_access_subject_id_id", "subject_id", "id"),
        sa.Index("ix_subject_access_accessed_at", "accessed_at"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigSerial, primary_key=True))
    caller: str = Field(sa_column=sa.Column(sa.String(CALLER_LEN), nullable=False))
    department: str = Field(sa_column=sa.Column(sa.String(CODE_LEN), nullable=False))
    subject_id: str = Field(sa_column=sa.Column(sa.String(CODE_LEN), nullable=False))
    route: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    accessed_at: dt.datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))


SUBJECT_ACCESS_TABLE: sa.Table = SubjectAccess.__table__  # type: ignore[attr-defined]


# --- verifiable logs (engine/verifiable/): Merkle tiles, tree heads, signed checkpoints ----


class MerkleTile(SQLModel, table=True):
    """Up to 16 node hashes of one log's Merkle tree at one height (engine/verifiable/tiles.py)."""

    __tablename__ = "merkle_tile"

    log: str = Field(sa_column=sa.Column(sa.String(16), primary_key=True))
    level: int = Field(sa_column=sa.Column(sa.Integer(), primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False))
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary(), nullable=False))


class MerkleTree(SQLModel, table=True):
    """How far a log's stored tree reaches: ``size`` leaves, the last being record ``last_seq``."""

    __tablename__ = "merkle_tree"

    log: str = Field(sa_column=sa.Column(sa.String(16), primary_key=True))
    size: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    last_seq: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    accepted_checkpoint_id: int = Field(
        sa_column=sa.Column(sa.BigInteger(), nullable=False, server_default="0")
    )  # checkpoints up to this id were given up by ``jrp serve --accept-truncated-log``


class CheckpointRecord(SQLModel, table=True):
    """A (signed) tree head; ``timestamp`` as signed, ``last_seq``/``last_hash`` its last record."""

    __tablename__ = "checkpoint"
    __table_args__ = (
        sa.Index("ix_checkpoint_log_id", "log", "id"),
        sa.Index("ix_checkpoint_log_size", "log", "size"),  # a proof at an explicit size
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigSerial, primary_key=True))
    log: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    size: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    root_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    timestamp: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    key_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    signature: str | None = Field(default=None, sa_column=sa.Column(sa.String(200)))
    last_seq: int = Field(sa_column=sa.Column(sa.BigInteger(), nullable=False))
    last_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))


class SigningKeyRecord(SQLModel, table=True):
    """A public key the service has signed checkpoints with."""

    __tablename__ = "signing_key"

    key_id: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    public_key_pem: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    first_used_at: dt.datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))


MERKLE_TILE_TABLE: sa.Table = MerkleTile.__table__  # type: ignore[attr-defined]
MERKLE_TREE_TABLE: sa.Table = MerkleTree.__table__  # type: ignore[attr-defined]
CHECKPOINT_TABLE: sa.Table = CheckpointRecord.__table__  # type: ignore[attr-defined]
SIGNING_KEY_TABLE: sa.Table = SigningKeyRecord.__table__  # type: ignore[attr-defined]


class PublicRate(SQLModel, table=True):
    """Requests of one client address to the public feed in one minute (engine/publication).

    In the database so that the limit holds whatever worker answers: every worker counts in
    the same row (docs/api.md#publication).
    """

    __tablename__ = "public_rate"

    address: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    minute: int = Field(
        sa_column=sa.Column(sa.BigInteger(), primary_key=True, autoincrement=False)
    )  # Unix time // 60
    count: int = Field(sa_column=sa.Column(sa.Integer(), nullable=False))


PUBLIC_RATE_TABLE: sa.Table = PublicRate.__table__  # type: ignore[attr-defined]
