"""The facts as of an event-log position: subjects, role holdings, list entries, policy in force.

``State`` is a projection of the event log and nothing else: ``apply`` is the only way it
changes, events must come in ``seq`` order, and the same events always give the same state.
The write path, every worker's catch-up and replay all use it, which is what makes a replayed
decision see exactly what the original saw. It knows nothing of memoranda: what an entry
triggers depends on the policy version and lives in ``engine.sanctions``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol

from engine.state.graph import CompactRoleGraph
from engine.store.events import EventType
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


# Status each lifecycle event leads to; the write path checks the transition is allowed.
STATUS_AFTER: dict[str, EntryStatus] = {
    EventType.entry_revoked.value: EntryStatus.revoked,
    EventType.objection_raised.value: EntryStatus.under_objection,
    EventType.entry_repaired.value: EntryStatus.repaired,
}


def status_after_resolution(outcome: str) -> EntryStatus:
    """An upheld objection revokes the entry; a rejected one makes it active again."""
    return EntryStatus.revoked if outcome == "upheld" else EntryStatus.active


class StateView(Protocol):
    """What registering an entry reads of the state (a ``State``, or one with a batch on top)."""

    @property
    def subjects(self) -> Mapping[str, Subject]: ...

    def entries_of(self, subject_id: str) -> list[Entry]: ...


class State:
    """Subjects, holdings and entries after applying the log up to ``seq``."""

    def __init__(self) -> None:
        self.seq = 0
        self.policy_version: str | None = None
        self.subjects: dict[str, Subject] = {}
        self.graph = CompactRoleGraph()
        self.entries: dict[str, Entry] = {}
        self.entries_by_subject: dict[str, list[str]] = {}
        # Serialises apply against readers that need one consistent position (checks).
        self.lock = threading.RLock()

    def apply(self, seq: int, event_type: str, payload: Mapping[str, Any]) -> None:
        """Apply one event; an event at or below ``self.seq`` was applied already and is skipped."""
        with self.lock:
            if seq <= self.seq:
                return
            handler = _HANDLERS.get(event_type)
            if handler is None:
                raise ValueError(f"unknown event type {event_type!r} at seq {seq}")
            handler(self, seq, payload)
            self.seq = seq

    def apply_all(self, events: Iterable[tuple[int, str, Mapping[str, Any]]]) -> None:
        """Apply events in order."""
        for seq, event_type, payload in events:
            self.apply(seq, event_type, payload)

    def entries_of(self, subject_id: str) -> list[Entry]:
        """Every entry registered on a subject, in registration order."""
        return [self.entries[entry_id] for entry_id in self.entries_by_subject.get(subject_id, ())]

    # --- handlers ------------------------------------------------------------------------

    def _subject_upserted(self, _seq: int, payload: Mapping[str, Any]) -> None:
        self.subjects[payload["id"]] = Subject(
            id=payload["id"],
            kind=SubjectKind(payload["kind"]),
            name=payload.get("name"),
            region=payload.get("region"),
        )

    def _relation_recorded(self, _seq: int, payload: Mapping[str, Any]) -> None:
        end = payload.get("end")
        self.graph.add(
            payload["org_id"],
            payload["person_id"],
            payload["role"],
            dt.date.fromisoformat(payload["start"]),
            None if end is None else dt.date.fromisoformat(end),
        )

    def _entry_registered(self, seq: int, payload: Mapping[str, Any]) -> None:
        entry = Entry.from_payload(payload["entry"], seq=seq)
        self.entries[entry.id] = entry
        self.entries_by_subject.setdefault(entry.subject_id, []).append(entry.id)

    def _status_changed(self, event_type: str, payload: Mapping[str, Any]) -> None:
        entry = self.entries[payload["entry_id"]]
        if event_type == EventType.objection_resolved.value:
            status = status_after_resolution(payload["outcome"])
        else:
            status = STATUS_AFTER[event_type]
        self.entries[entry.id] = replace(entry, status=status)

    def _policy_loaded(self, _seq: int, payload: Mapping[str, Any]) -> None:
        self.policy_version = payload["version"]


def _status_handler(event_type: EventType) -> Any:
    return lambda state, _seq, payload: state._status_changed(event_type.value, payload)


_HANDLERS: dict[str, Any] = {
    EventType.subject_upserted.value: State._subject_upserted,
    EventType.relation_recorded.value: State._relation_recorded,
    EventType.entry_registered.value: State._entry_registered,
    EventType.entry_revoked.value: _status_handler(EventType.entry_revoked),
    EventType.objection_raised.value: _status_handler(EventType.objection_raised),
    EventType.objection_resolved.value: _status_handler(EventType.objection_resolved),
    EventType.entry_repaired.value: _status_handler(EventType.entry_repaired),
    EventType.policy_loaded.value: State._policy_loaded,
}
