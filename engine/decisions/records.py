"""Decision log tables and the value objects the log takes in and hands out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store.tables import BigSerial, JsonColumn, UtcDateTime

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


@dataclass(frozen=True, slots=True)
class DecisionDraft:
    """A check's answer before it is logged.

    ``decision_id`` is a lower-case hyphenated UUID string (``str(uuid.uuid4())``),
    ``decided_at`` timezone-aware, ``request``/``response`` JSON-ready values (e.g. pydantic
    ``model_dump(mode="json")``): str keys, finite numbers, no NUL characters.
    """

    decision_id: str
    decided_at: dt.datetime
    caller: str
    department: str
    subject_id: str
    matter: str
    request: dict[str, Any]
    response: dict[str, Any]
    policy_version: str
    event_seq: int


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """A logged decision with its chain position and hashes."""

    seq: int
    decision_id: str
    decided_at: dt.datetime
    caller: str
    department: str
    subject_id: str
    matter: str
    request: dict[str, Any]
    response: dict[str, Any]
    policy_version: str
    event_seq: int
    prev_hash: str
    hash: str

    @classmethod
    def from_draft(
        cls, draft: DecisionDraft, *, seq: int, prev_hash: str, hash: str
    ) -> StoredDecision:
        """The record a draft becomes at chain position ``seq``."""
        return cls(
            seq=seq,
            decision_id=draft.decision_id,
            decided_at=draft.decided_at,
            caller=draft.caller,
            department=draft.department,
            subject_id=draft.subject_id,
            matter=draft.matter,
            request=draft.request,
            response=draft.response,
            policy_version=draft.policy_version,
            event_seq=draft.event_seq,
            prev_hash=prev_hash,
            hash=hash,
        )

    @classmethod
    def from_row(cls, row: Decision | sa.Row[Any]) -> StoredDecision:
        """The value object for a ``decision`` row (ORM object or Core row)."""
        return cls(
            seq=int(row.seq),
            decision_id=row.decision_id,
            decided_at=row.decided_at,
            caller=row.caller,
            department=row.department,
            subject_id=row.subject_id,
            matter=row.matter,
            request=row.request,
            response=row.response,
            policy_version=row.policy_version,
            event_seq=int(row.event_seq),
            prev_hash=row.prev_hash,
            hash=row.hash,
        )
