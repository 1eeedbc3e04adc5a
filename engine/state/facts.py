"""The facts the state holds: subjects and list entries, as immutable values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from measures.schema import SubjectKind


class EntryStatus(StrEnum):
    """Statuses of the contract; ``expired`` is derived from time, never stored."""

    active = "active"
    under_objection = "under_objection"
    revoked = "revoked"
    repaired = "repaired"
    expired = "expired"


@dataclass(frozen=True, slots=True)
class Subject:
    id: str
    kind: SubjectKind
    name: str | None
    region: str | None


@dataclass(frozen=True, slots=True)
class Objection:
    """An entry's latest objection (异议): when received, by when to verify, how it ended.

    ``received_on``/``verify_by`` are None for objections logged before they were recorded
    (legacy ``entry.objection_raised`` payloads); ``estimated`` is True when ``verify_by``
    counts days of a year the official calendar does not know yet (``engine.calendar``).
    """

    reason: str | None
    received_on: dt.date | None
    verify_by: dt.date | None
    raised_seq: int
    estimated: bool = False
    outcome: str | None = None
    resolved_on: dt.date | None = None
    note: str | None = None

    @property
    def open(self) -> bool:
        return self.outcome is None

    def overdue(self, today: dt.date) -> bool:
        """Open and past its verification deadline."""
        return self.open and self.verify_by is not None and today > self.verify_by


@dataclass(frozen=True, slots=True)
class Entry:
    """A list entry with its stored status (never ``expired``: see ``status_on``)."""

    id: str
    list: str
    subject_id: str
    subject_kind: SubjectKind
    department: str
    decided_on: dt.date
    effective_from: dt.date
    effective_to: dt.date | None
    doc_no: str
    reason: str | None
    attributes: Mapping[str, Any]
    status: EntryStatus
    registered_seq: int
    derivation_id: str | None = None
    derived_from: tuple[str, ...] = ()
    objection: Objection | None = None
    ended_on: dt.date | None = None
    """The day it was revoked or repaired (None before, and for steps logged without it)."""
    origin: Mapping[str, Any] | None = None
    """Where an imported entry comes from (docs/exchange.md); None for this instance's own."""

    def in_force(self, day: dt.date) -> bool:
        """Active and inside its window on ``day`` (effective_from <= day < effective_to)."""
        return (
            self.status is EntryStatus.active
            and self.effective_from <= day
            and (self.effective_to is None or day < self.effective_to)
        )

    def status_on(self, today: dt.date) -> EntryStatus:
        """The status the contract shows: ``expired`` once ``today`` reaches ``effective_to``."""
        ended = self.effective_to is not None and today >= self.effective_to
        if ended and self.status in (EntryStatus.active, EntryStatus.under_objection):
            return EntryStatus.expired
        return self.status

    def to_payload(self) -> dict[str, Any]:
        """The JSON form stored in ``entry.registered`` events."""
        return {
            "id": self.id,
            "list": self.list,
            "subject_id": self.subject_id,
            "subject_kind": self.subject_kind.value,
            "department": self.department,
            "decided_on": self.decided_on.isoformat(),
            "effective_from": self.effective_from.isoformat(),
            "effective_to": None if self.effective_to is None else self.effective_to.isoformat(),
            "doc_no": self.doc_no,
            "reason": self.reason,
            "attributes": dict(self.attributes),
            "derivation_id": self.derivation_id,
            "derived_from": list(self.derived_from),
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any], *, seq: int) -> Entry:
        """The entry an ``entry.registered`` payload describes, registered at ``seq``."""
        return cls(
            id=data["id"],
            list=data["list"],
            subject_id=data["subject_id"],
            subject_kind=SubjectKind(data["subject_kind"]),
            department=data["department"],
            decided_on=dt.date.fromisoformat(data["decided_on"]),
            effective_from=dt.date.fromisoformat(data["effective_from"]),
            effective_to=(
                None
                if data["effective_to"] is None
                else dt.date.fromisoformat(data["effective_to"])
            ),
            doc_no=data["doc_no"],
            reason=data.get("reason"),
            attributes=dict(data.get("attributes") or {}),
            status=EntryStatus.active,
            registered_seq=seq,
            derivation_id=data.get("derivation_id"),
            derived_from=tuple(data.get("derived_from") or ()),
        )


class StateView(Protocol):
    """What registering an entry reads of the state (a ``State``, or one with a batch on top)."""

    @property
    def subjects(self) -> Mapping[str, Subject]: ...

    def entries_of(self, subject_id: str) -> list[Entry]: ...
