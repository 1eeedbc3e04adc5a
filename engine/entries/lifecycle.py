"""An entry's life after registration: revocation and repair (objections: ``objections``).

Each step is one event appended through ``Service.write`` after its checks (ownership,
status, the list's repair rules) against the state caught up under the log lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from engine.entries.cascades import cascade_events
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


def local_entry(state: State, entry_id: str) -> Entry:
    """The entry, to change it here: 404 ``unknown_entry``; 409 ``imported_entry`` for an entry
    imported from a peer, whose life follows its origin's events (docs/exchange.md)."""
    entry = get_entry(state, entry_id)
    if entry.origin is not None:
        region, original = entry.origin.get("region"), entry.origin.get("entry_id")
        raise Conflict(
            f"entry {entry_id} is imported from region {region} (its id there: {original}): "
            "it changes only by its origin's events; ask the department that listed it there",
            code=Code.imported_entry,
            details=[{"origin": dict(entry.origin)}],
        )
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
    ends_as: str | None = None,
) -> dict[str, Any]:
    """Append the step's event (and, when the entry ends as ``ends_as``, the revocations of the
    derived entries that fall with it: engine/entries/cascades.py) in one transaction."""

    def build(_session: Session, state: State) -> list[NewEvent]:
        entry = local_entry(state, entry_id)
        check(entry, state)
        step = NewEvent(
            event_type,
            {"entry_id": entry_id, **payload},
            subject_id=entry.subject_id,
            actor=actor,
            department=department,
        )
        if ends_as is None:
            return [step]
        bundle = service.policy.bundle
        day = china_today()
        return [step, *cascade_events(state, bundle, entry, ends_as, on=day, actor=actor)]

    service.write(build)
    return entry_view(service.state.entries[entry_id])


def revoke(service: Service, entry_id: str, *, actor: str, department: str) -> dict[str, Any]:
    """The owning department withdraws its entry (active or under objection, even if expired);
    derived entries that no longer have enough sources are revoked with it."""

    def check(entry: Entry, _state: State) -> None:
        if entry.department != department:
            raise Forbidden(f"entry {entry_id} belongs to department {entry.department}")
        if entry.status not in (EntryStatus.active, EntryStatus.under_objection):
            raise _invalid_state(entry, "revoke", "active or under_objection")

    return _transition(
        service,
        entry_id,
        check,
        EventType.entry_revoked,
        {"on": china_today().isoformat()},
        actor=actor,
        department=department,
        ends_as="revoked",
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
        {"note": note, "on": china_today().isoformat()},
        actor=actor,
        department=department,
        ends_as="repaired",
    )
