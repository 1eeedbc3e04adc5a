"""Entries as people look at them: counts in force per list, objections open today."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.entries.views import entry_view
from engine.service import Service
from engine.state import EntryStatus


def in_force_by_list(service: Service, day: dt.date) -> list[dict[str, Any]]:
    """Per list of the vocabulary (its order): ``list``, ``name``, ``kind``, ``in_force``
    (active and inside its window on ``day``) and ``under_objection`` (not expired)."""
    service.catch_up()
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


def under_objection(
    service: Service, day: dt.date, *, department: str | None = None
) -> list[dict[str, Any]]:
    """Entries whose status on ``day`` is ``under_objection`` (of ``department`` when given),
    oldest registration first, each with its subject's ``subject_name`` and ``subject_kind``.

    The reason and date of the objection and its ``verify_by`` are not in the state yet.
    """
    service.catch_up()
    with service.state.lock:
        state = service.state
        found = [
            entry
            for entry in state.entries.values()
            if entry.status is EntryStatus.under_objection
            and entry.status_on(day) is EntryStatus.under_objection
            and (department is None or entry.department == department)
        ]
        found.sort(key=lambda entry: entry.registered_seq)
        items = []
        for entry in found:
            subject = state.subjects.get(entry.subject_id)
            items.append(
                {
                    **entry_view(entry, today=day),
                    "subject_kind": entry.subject_kind.value,
                    "subject_name": None if subject is None else subject.name,
                }
            )
    return items
