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
from dataclasses import replace
from typing import Any

from engine.state.facts import Entry, EntryStatus, Subject
from engine.state.graph import CompactRoleGraph
from engine.store.events import EventType
from measures.schema import SubjectKind

# Status each lifecycle event leads to; the write path checks the transition is allowed.
STATUS_AFTER: dict[str, EntryStatus] = {
    EventType.entry_revoked.value: EntryStatus.revoked,
    EventType.objection_raised.value: EntryStatus.under_objection,
    EventType.entry_repaired.value: EntryStatus.repaired,
}


def status_after_resolution(outcome: str) -> EntryStatus:
    """An upheld objection revokes the entry; a rejected one makes it active again."""
    return EntryStatus.revoked if outcome == "upheld" else EntryStatus.active


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
    EventType.log_truncation_accepted.value: lambda _state, _seq, _payload: None,  # no fact
}
