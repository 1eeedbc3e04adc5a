"""The value objects the decision log takes in and hands out (tables: ``engine.store.tables``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.store.tables import Decision


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
