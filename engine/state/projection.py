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
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any, TypeAlias

from engine.state.commitments import Breach, Commitment, Fulfilment
from engine.state.facts import Entry, EntryStatus, Objection, Subject
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
    """An upheld objection revokes the entry; a rejected or corrected one makes it active."""
    return EntryStatus.revoked if outcome == "upheld" else EntryStatus.active


CHANGES_KEPT = 50_000
"""How many recent changes ``State.changes`` keeps (readers further behind rebuild)."""


def _day(value: Any) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(value)


class State:
    """Subjects, holdings and entries after applying the log up to ``seq``."""

    def __init__(self) -> None:
        self.seq = 0
        self.policy_version: str | None = None
        self.subjects: dict[str, Subject] = {}
        self.graph = CompactRoleGraph()
        self.entries: dict[str, Entry] = {}
        self.entries_by_subject: dict[str, list[str]] = {}
        # Entries with an objection -> the seq their latest was raised at, in that order.
        self.objections: dict[str, int] = {}
        # Credit commitments (docs/commitments.md), in recording order.
        self.commitments: dict[str, Commitment] = {}
        self.commitments_by_subject: dict[str, list[str]] = {}
        # Each exchange peer's cursor: its latest ``exchange.pulled`` payload (docs/exchange.md).
        self.exchange_cursors: dict[str, dict[str, Any]] = {}
        # Serialises apply against readers that need one consistent position (checks).
        self.lock = threading.RLock()
        # The latest changes to what an entry shows, oldest first: (seq, "entry", entry id)
        # for a registration or status change, (seq, "subject", id) when a subject with
        # entries is upserted (its name may have changed), (seq, "policy", version). Derived
        # views (the public feed's index) apply these instead of a pass over every entry; a
        # reader whose position is below ``changes_complete_after`` must rebuild instead.
        self.changes: deque[tuple[int, str, str]] = deque(maxlen=CHANGES_KEPT)
        self.changes_complete_after = 0

    def _changed(self, seq: int, kind: str, key: str) -> None:
        if len(self.changes) == self.changes.maxlen:
            self.changes_complete_after = self.changes[0][0]  # about to be dropped
        self.changes.append((seq, kind, key))

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

    def index_objections(self) -> None:
        """Rebuild ``objections`` from the entries (after a snapshot is restored)."""
        raised = [
            (e.objection.raised_seq, e.id)
            for e in self.entries.values()
            if e.objection and e.origin is None
        ]
        self.objections = {entry_id: seq for seq, entry_id in sorted(raised)}

    def entries_of(self, subject_id: str) -> list[Entry]:
        """Every entry registered on a subject, in registration order."""
        return [self.entries[entry_id] for entry_id in self.entries_by_subject.get(subject_id, ())]

    def commitments_of(self, subject_id: str) -> list[Commitment]:
        """Every commitment recorded for a subject, in recording order."""
        return [self.commitments[c] for c in self.commitments_by_subject.get(subject_id, ())]

    def index_commitments(self) -> None:
        """Rebuild ``commitments_by_subject`` from ``commitments`` (after a snapshot)."""
        self.commitments_by_subject = {}
        for commitment in self.commitments.values():
            self.commitments_by_subject.setdefault(commitment.subject_id, []).append(commitment.id)

    # --- handlers ------------------------------------------------------------------------

    def _subject_upserted(self, seq: int, payload: Mapping[str, Any]) -> None:
        self.subjects[payload["id"]] = Subject(
            id=payload["id"],
            kind=SubjectKind(payload["kind"]),
            name=payload.get("name"),
            region=payload.get("region"),
        )
        if payload["id"] in self.entries_by_subject:
            self._changed(seq, "subject", payload["id"])

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
        self._changed(seq, "entry", entry.id)

    def _entry_imported(self, seq: int, payload: Mapping[str, Any]) -> None:
        entry = Entry.from_payload(payload["entry"], seq=seq)
        entry = replace(entry, origin=dict(payload["origin"]))
        self.entries[entry.id] = entry
        self.entries_by_subject.setdefault(entry.subject_id, []).append(entry.id)

    def _entry_import_updated(self, seq: int, payload: Mapping[str, Any]) -> None:
        # The origin's step, applied as the step itself; the origin's seq moves on.
        # The objection queue is this instance's work: the origin verifies its own entries.
        origin = dict(payload["origin"])
        self._status_changed(seq, origin["type"], payload)
        entry = self.entries[payload["entry_id"]]
        self.entries[entry.id] = replace(entry, origin=origin)
        self.objections.pop(entry.id, None)

    def _exchange_pulled(self, _seq: int, payload: Mapping[str, Any]) -> None:
        self.exchange_cursors[payload["peer"]] = dict(payload)

    def _status_changed(self, seq: int, event_type: str, payload: Mapping[str, Any]) -> None:
        # Fields a payload lacks (events logged before they were recorded) are left as they
        # were: an old log applies as it always did (tests/engine/audit/test_legacy_log.py).
        entry = self.entries[payload["entry_id"]]
        changes: dict[str, Any] = {}
        if event_type == EventType.objection_raised.value:
            status = EntryStatus.under_objection
            self.objections.pop(entry.id, None)
            self.objections[entry.id] = seq
            changes["objection"] = Objection(
                reason=payload.get("reason"),
                received_on=_day(payload.get("received_on")),
                verify_by=_day(payload.get("verify_by")),
                raised_seq=seq,
                estimated=bool(payload.get("verify_by_estimated", False)),
            )
        elif event_type == EventType.objection_resolved.value:
            status = status_after_resolution(payload["outcome"])
            if entry.objection is not None:
                changes["objection"] = replace(
                    entry.objection,
                    outcome=payload["outcome"],
                    resolved_on=_day(payload.get("resolved_on")),
                    note=payload.get("note"),
                )
            if payload["outcome"] == "corrected":
                if "attributes" in payload:
                    changes["attributes"] = dict(payload["attributes"])
                if "effective_to" in payload:
                    changes["effective_to"] = _day(payload["effective_to"])
            if status is EntryStatus.revoked:
                changes["ended_on"] = _day(payload.get("resolved_on"))
        else:
            status = STATUS_AFTER[event_type]
            changes["ended_on"] = _day(payload.get("on"))
        self.entries[entry.id] = replace(entry, status=status, **changes)
        self._changed(seq, "entry", entry.id)

    def _commitment_recorded(self, seq: int, payload: Mapping[str, Any]) -> None:
        commitment = Commitment.from_payload(payload["commitment"], seq=seq)
        self.commitments[commitment.id] = commitment
        self.commitments_by_subject.setdefault(commitment.subject_id, []).append(commitment.id)

    def _commitment_fulfilled(self, _seq: int, payload: Mapping[str, Any]) -> None:
        commitment = self.commitments[payload["commitment_id"]]
        fulfilment = Fulfilment(dt.date.fromisoformat(payload["fulfilled_on"]), payload.get("note"))
        self.commitments[commitment.id] = replace(commitment, fulfilment=fulfilment)

    def _commitment_breached(self, _seq: int, payload: Mapping[str, Any]) -> None:
        commitment = self.commitments[payload["commitment_id"]]
        breach = Breach(
            decided_on=dt.date.fromisoformat(payload["decided_on"]),
            doc_no=payload["doc_no"],
            reason=payload["reason"],
            entry_id=payload["entry_id"],
        )
        self.commitments[commitment.id] = replace(commitment, breach=breach)

    def _policy_loaded(self, seq: int, payload: Mapping[str, Any]) -> None:
        self.policy_version = payload["version"]
        self._changed(seq, "policy", payload["version"])


# What ``State.apply`` calls for one event type: the state, the event's seq, its payload.
Handler: TypeAlias = Callable[[State, int, Mapping[str, Any]], None]


def _status_handler(event_type: EventType) -> Handler:
    return lambda state, seq, payload: state._status_changed(seq, event_type.value, payload)


_HANDLERS: dict[str, Handler] = {
    EventType.subject_upserted.value: State._subject_upserted,
    EventType.relation_recorded.value: State._relation_recorded,
    EventType.entry_registered.value: State._entry_registered,
    EventType.entry_revoked.value: _status_handler(EventType.entry_revoked),
    EventType.objection_raised.value: _status_handler(EventType.objection_raised),
    EventType.objection_resolved.value: _status_handler(EventType.objection_resolved),
    EventType.entry_repaired.value: _status_handler(EventType.entry_repaired),
    EventType.policy_loaded.value: State._policy_loaded,
    EventType.commitment_recorded.value: State._commitment_recorded,
    EventType.commitment_fulfilled.value: State._commitment_fulfilled,
    EventType.commitment_breached.value: State._commitment_breached,
    EventType.log_truncation_accepted.value: lambda _state, _seq, _payload: None,  # no fact
    EventType.entry_imported.value: State._entry_imported,
    EventType.entry_import_updated.value: State._entry_import_updated,
    EventType.exchange_pulled.value: State._exchange_pulled,
}
