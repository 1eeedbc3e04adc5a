"""Credit commitments (信用承诺) as the state holds them (docs/commitments.md).

A commitment is recorded by one event (``commitment.recorded``) and ends by at most one
other (``commitment.fulfilled`` or ``commitment.breached``); ``overdue`` is derived from the
date, never stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from measures.schema import SubjectKind


class CommitmentStatus(StrEnum):
    active = "active"
    overdue = "overdue"
    fulfilled = "fulfilled"
    breached = "breached"


def _day(value: Any) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


@dataclass(frozen=True, slots=True)
class Fulfilment:
    fulfilled_on: dt.date
    note: str | None


@dataclass(frozen=True, slots=True)
class Breach:
    decided_on: dt.date
    doc_no: str
    reason: str
    entry_id: str


@dataclass(frozen=True, slots=True)
class Commitment:
    """A commitment with how it ended (if it did)."""

    id: str
    subject_id: str
    subject_kind: SubjectKind
    department: str
    matter: str
    content: str
    doc_no: str
    made_on: dt.date
    due_on: dt.date | None
    recorded_seq: int
    due_estimated: bool = False
    fulfilment: Fulfilment | None = None
    breach: Breach | None = None

    @property
    def open(self) -> bool:
        """Neither fulfilled nor breached."""
        return self.fulfilment is None and self.breach is None

    def status_on(self, today: dt.date) -> CommitmentStatus:
        """The status shown on ``today``: ``overdue`` once past ``due_on`` while open."""
        if self.breach is not None:
            return CommitmentStatus.breached
        if self.fulfilment is not None:
            return CommitmentStatus.fulfilled
        if self.due_on is not None and today > self.due_on:
            return CommitmentStatus.overdue
        return CommitmentStatus.active

    def to_payload(self) -> dict[str, Any]:
        """The JSON form stored in ``commitment.recorded`` events."""
        return {
            "id": self.id,
            "subject_id": self.subject_id,
            "subject_kind": self.subject_kind.value,
            "department": self.department,
            "matter": self.matter,
            "content": self.content,
            "doc_no": self.doc_no,
            "made_on": self.made_on.isoformat(),
            "due_on": _iso(self.due_on),
            "due_estimated": self.due_estimated,
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any], *, seq: int) -> Commitment:
        """The commitment a ``commitment.recorded`` payload describes, recorded at ``seq``."""
        return cls(
            id=data["id"],
            subject_id=data["subject_id"],
            subject_kind=SubjectKind(data["subject_kind"]),
            department=data["department"],
            matter=data["matter"],
            content=data["content"],
            doc_no=data["doc_no"],
            made_on=dt.date.fromisoformat(data["made_on"]),
            due_on=_day(data.get("due_on")),
            recorded_seq=seq,
            due_estimated=bool(data.get("due_estimated", False)),
        )

    def to_row(self) -> tuple[Any, ...]:
        """Plain values for a state snapshot (``engine.store.snapshot``)."""
        fulfilment = self.fulfilment
        breach = self.breach
        return (
            self.to_payload(),
            self.recorded_seq,
            None if fulfilment is None else (fulfilment.fulfilled_on.isoformat(), fulfilment.note),
            None
            if breach is None
            else (breach.decided_on.isoformat(), breach.doc_no, breach.reason, breach.entry_id),
        )

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Commitment:
        """The commitment ``to_row`` encoded."""
        payload, seq, fulfilment, breach = row
        commitment = cls.from_payload(payload, seq=seq)
        if fulfilment is not None:
            on, note = fulfilment
            commitment = replace(commitment, fulfilment=Fulfilment(dt.date.fromisoformat(on), note))
        if breach is not None:
            on, doc_no, reason, entry_id = breach
            commitment = replace(
                commitment, breach=Breach(dt.date.fromisoformat(on), doc_no, reason, entry_id)
            )
        return commitment
