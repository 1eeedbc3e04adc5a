"""Entries as people look at them: counts in force per list, objections open today."""

from __future__ import annotations

import datetime as dt
import weakref
from typing import Any

from engine.entries.objections import MAX_LIMIT, objections_page
from engine.service import Service
from engine.state import EntryStatus, State

_IN_FORCE: weakref.WeakKeyDictionary[State, tuple[tuple[int, str, dt.date], list[dict[str, Any]]]]
_IN_FORCE = weakref.WeakKeyDictionary()
"""state -> ((state.seq, policy version, day), figures): the pass over every entry is made
again only when an event was applied, the policy changed or the day turned."""


def in_force_by_list(service: Service, day: dt.date) -> list[dict[str, Any]]:
    """Per list of the vocabulary (its order): ``list``, ``name``, ``kind``, ``in_force``
    (active and inside its window on ``day``) and ``under_objection`` (not expired).

    Computed once per state position, policy version and day (``_IN_FORCE``)."""
    service.catch_up()
    state = service.state
    with state.lock:
        key = (state.seq, service.policy.bundle.version, day)
        cached = _IN_FORCE.get(state)
        if cached is None or cached[0] != key:
            cached = (key, _in_force_by_list(service, day))
            _IN_FORCE[state] = cached
    return [dict(item) for item in cached[1]]


def _in_force_by_list(service: Service, day: dt.date) -> list[dict[str, Any]]:
    with service.state.lock:
        lists = service.policy.bundle.vocabulary.lists
        counts = {code: [0, 0] for code in lists}
        for entry in service.state.entries.values():
            count = counts.setdefault(entry.list, [0, 0])
            if entry.in_force(day):
                count[0] += 1
            elif entry.status_on(day) is EntryStatus.under_objection:
                count[1] += 1
    return [
        {
            "list": code,
            "name": lists[code].name if code in lists else code,
            "kind": lists[code].kind.value if code in lists else None,
            "in_force": in_force,
            "under_objection": objected,
        }
        for code, (in_force, objected) in counts.items()
    ]


def open_objections(service: Service, *, department: str | None) -> list[dict[str, Any]]:
    """Every open objection (of ``department``; None: all), as ``GET /v1/objections?status=open``
    lists them (``objections_page``, every page), overdue first, then by ``verify_by`` and
    ``received_on``; each item also has the entry's ``doc_no`` and its subject's
    ``subject_name`` and ``subject_kind``."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = objections_page(
            service, department=department, status="open", cursor=cursor, limit=MAX_LIMIT
        )
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    with service.state.lock:
        state = service.state
        for item in items:
            entry = state.entries.get(item["entry_id"])
            subject = state.subjects.get(item["subject_id"])
            item["doc_no"] = None if entry is None else entry.doc_no
            item["subject_kind"] = None if entry is None else entry.subject_kind.value
            item["subject_name"] = None if subject is None else subject.name
    items.sort(key=lambda i: (not i["overdue"], i["verify_by"] or "", i["received_on"] or ""))
    return items


def objection_counts(service: Service, *, department: str | None = None) -> dict[str, int]:
    """``open`` and ``overdue`` objections (of ``department``; None: all), from
    ``open_objections``."""
    items = open_objections(service, department=department)
    return {"open": len(items), "overdue": sum(1 for item in items if item["overdue"])}
