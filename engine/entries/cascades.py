"""Cascades: a derived entry ends with the entries it was derived from (docs/api.md#cascades).

A derived entry (``derived_from``, engine/entries/derivations.py) stands on its qualifying set.
When a source entry is revoked, repaired or its objection upheld, the sources still standing
(stored status ``active`` or ``under_objection``) are counted again; when fewer than the
derivation's ``at_least`` remain, the derived entry is revoked in the same transaction, by
department ``system``, with a ``reason`` naming the source. A revoked derived entry may itself
be the source of another derived entry, so the cascade goes on (on the same subject: a
derivation never crosses subjects). A derivation no longer in the policy counts its
``derived_from`` as the threshold (every source must stand).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from engine.entries.derivations import SYSTEM_DEPARTMENT
from engine.state import Entry, EntryStatus, State
from engine.store.events import EventType, NewEvent
from measures.bundle import Bundle

_STANDING = (EntryStatus.active, EntryStatus.under_objection)

ENDED_BY = {
    "revoked": "撤销",
    "repaired": "信用修复",
    "objection_upheld": "异议成立",
}


def cascade_events(
    state: State,
    bundle: Bundle,
    source: Entry,
    how: str,
    *,
    on: dt.date,
    actor: str | None,
) -> list[NewEvent]:
    """``entry.revoked`` events of the derived entries that fall with ``source`` (which is
    ending as ``how``: a key of ``ENDED_BY``), in cascade order."""
    thresholds = {d.id: d.at_least for d in bundle.derivations}
    ended: set[str] = {source.id}
    events: list[NewEvent] = []
    queue = [source]
    while queue:
        fallen = queue.pop(0)
        for derived in _derived_from(state.entries_of(fallen.subject_id), fallen.id):
            if derived.id in ended or derived.status not in _STANDING:
                continue
            standing = sum(
                1
                for source_id in derived.derived_from
                if source_id not in ended
                and (other := state.entries.get(source_id)) is not None
                and other.status in _STANDING
            )
            need = thresholds.get(derived.derivation_id or "", len(derived.derived_from))
            if standing >= need:
                continue
            ended.add(derived.id)
            queue.append(derived)
            what = ENDED_BY[how] if fallen is source else "撤销(连带)"
            events.append(
                NewEvent(
                    EventType.entry_revoked,
                    {
                        "entry_id": derived.id,
                        "on": on.isoformat(),
                        "reason": f"派生来源条目 {fallen.id} 已{what},"
                        f"符合条件的来源条目不足 {need} 条",
                        "source_entry_id": fallen.id,
                    },
                    subject_id=derived.subject_id,
                    actor=actor,
                    department=SYSTEM_DEPARTMENT,
                )
            )
    return events


def _derived_from(entries: Iterable[Entry], source_id: str) -> list[Entry]:
    return [entry for entry in entries if source_id in entry.derived_from]
