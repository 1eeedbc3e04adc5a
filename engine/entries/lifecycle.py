"""An entry's life after registration: revocation, objection, resolution, repair.

Each step is one event appended through ``Service.write`` after its checks (ownership,
status, the list's repair rules) against the state caught up under the log lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from engine.entries.views import entry_view
from engine.errors import Code, Conflict, Forbidden, NotFound
from engine.service import Service
from engine.state import Entry, EntryStatus, State
from engine.store.events import EventType, NewEvent
from engine.timing import add_days, china_today


def get_entry(state: State, entry_id: str) -> Entry:
    """The entry, or 404 ``unknown_entry``."""
    entry = state.entries.get(entry_id)
    if entry is None:
        raise NotFound(f"no entry {entry_id}", code=Code.unknown_entry)
    return entry


def show_entry(service: Service, entry_id: str) -> dict[str, Any]:
    """``GET /v1/entries/{id}``: the entry as it is now (caught up with every worker's writes)."""
    service.catch_up()
    return entry_view(get_entry(service.state, entry_id))


def _invalid_state(entry: Entry, action: str, allowed: str) -> Conflict:
    status = entry.status_on(china_today()).value
    return Conflict(
        f"cannot {action} an entry that is {status} (only {allowed})",
        code=Code.invalid_state,
        details=[{"status": status}],
    )


def _transition(
    service: Service,
    entry_id: str,
    check: Callable[[Entry, State], None],
    event_type: EventType,
    payload: dict[str, Any],
    *,
    actor: str,
    department: str,
) -> dict[str, Any]:
    def build(_session: Session, state: State) -> list[NewEvent]:
        entry = get_entry(state, entry_id)
        check(entry, state)
        return [
            NewEvent(
                event_type,
                {"entry_id": entry_id, **payload},
                subject_id=entry.subject_id,
                actor=actor,
                department=department,
            )
        ]

    service.write(build)
    return entry_view(service.state.entries[entry_id])


def revoke(service: Service, entry_id: str, *, actor: str, department: str) -> dict[str, Any]:
    """The owning department withdraws its entry (active or under objection, even if expired)."""

    def check(entry: Entry, _state: State) -> None:
        if entry.department != department:
            raise Forbidden(f"entry {entry_id} belongs to department {entry.department}")
        if entry.status not in (EntryStatus.active, EntryStatus.under_objection):
            raise _invalid_state(entry, "revoke", "active or under_objection")

    return _transition(
        service, entry_id, check, EventType.entry_revoked, {}, actor=actor, department=department
    )


def raise_objection(
    service: Service, entry_id: str, reason: str, *, actor: str, department: str
) -> dict[str, Any]:
    """Suspend an active entry while the objection is verified (异议期间暂停执行)."""

    def check(entry: Entry, _state: State) -> None:
        if entry.status_on(china_today()) is not EntryStatus.active:
            raise _invalid_state(entry, "raise an objection on", "active")

    return _transition(
        service,
        entry_id,
        check,
        EventType.objection_raised,
        {"reason": reason},
        actor=actor,
        department=department,
    )


def resolve_objection(
    service: Service, entry_id: str, outcome: str, note: str | None, *, actor: str, department: str
) -> dict[str, Any]:
    """Upheld: the entry is revoked; rejected: it is active again."""

    def check(entry: Entry, _state: State) -> None:
        if entry.status is not EntryStatus.under_objection:
            raise _invalid_state(entry, "resolve an objection on", "under_objection")

    return _transition(
        service,
        entry_id,
        check,
        EventType.objection_resolved,
        {"outcome": outcome, "note": note},
        actor=actor,
        department=department,
    )


def repair(
    service: Service, entry_id: str, note: str | None, *, actor: str, department: str
) -> dict[str, Any]:
    """信用修复 once the minimum publicity period is over."""

    def check(entry: Entry, _state: State) -> None:
        definition = service.policy.bundle.vocabulary.lists[entry.list]
        if not definition.repairable:
            raise Conflict(f"entries on {entry.list} are not repairable", code=Code.not_repairable)
        today = china_today()
        if entry.status_on(today) is not EntryStatus.active:
            raise _invalid_state(entry, "repair", "active")
        earliest = add_days(entry.effective_from, definition.min_publicity_days)
        if earliest is None or today < earliest:
            shown = "after the end of the calendar" if earliest is None else earliest.isoformat()
            raise Conflict(
                f"repair is possible from {shown}",
                code=Code.repair_too_early,
                details=[{"earliest": None if earliest is None else earliest.isoformat()}],
            )

    return _transition(
        service,
        entry_id,
        check,
        EventType.entry_repaired,
        {"note": note},
        actor=actor,
        department=department,
    )
