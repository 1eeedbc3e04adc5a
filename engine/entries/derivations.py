"""Derivations (derivations.yaml): enough entries on one list put the subject on another.

Semantics (README, "Derivations"): when an entry is registered on a derivation's
``from_list``, the qualifying entries are the subject's entries on that list that are active
and in force on the new entry's ``effective_from`` (the new entry always counts), whose
``effective_from`` falls in the ``within_days``-day window ending on the new entry's
``effective_from``, and that no earlier entry of this derivation was derived from. When at
least ``at_least`` qualify — a threshold the rule engine evaluates — one entry is derived
from them on ``derive_list`` (department ``system``), running from the newest qualifying
``effective_from`` for ``duration_days`` (or the list's default). An entry therefore counts
toward at most one derived entry per derivation: the same set never derives twice, and the
(N+1)th entry inside a window derives nothing until N new ones have gathered.

The window is computed here from the state (per subject, rebuilt from the log like
everything else); the engine only sees counts, so no subject's window can mix with another's.
"""

from __future__ import annotations

import uuid

from engine.policy.runtime import PolicyRuntime
from engine.state import Entry, EntryStatus, StateView
from engine.timing import add_days, days_before
from measures.bundle import Bundle
from measures.schema import Derivation

SYSTEM_DEPARTMENT = "system"
MAX_DEPTH = 8
"""A derived entry may itself qualify for another derivation; chains stop at this depth."""


def derive(
    state: StateView, bundle: Bundle, runtime: PolicyRuntime, entry: Entry, *, depth: int = 0
) -> list[Entry]:
    """Entries derived because ``entry`` is registered (not yet in ``state``), recursively."""
    candidates = [d for d in bundle.derivations if d.from_list == entry.list]
    if not candidates or depth >= MAX_DEPTH:
        return []
    qualifying = {d.id: _qualifying(state, d, entry) for d in candidates}
    met = set(runtime.derivations_met(entry.list, {k: len(v) for k, v in qualifying.items()}))
    derived: list[Entry] = []
    for derivation in candidates:
        if derivation.id not in met:
            continue
        sources = qualifying[derivation.id]
        new = _derived_entry(bundle, derivation, entry.subject_id, entry, sources)
        derived.append(new)
        derived.extend(derive(state, bundle, runtime, new, depth=depth + 1))
    return derived


def _qualifying(state: StateView, derivation: Derivation, entry: Entry) -> list[Entry]:
    day = entry.effective_from
    window_start = days_before(day, derivation.within_days - 1)
    used = {
        source
        for other in state.entries_of(entry.subject_id)
        if other.derivation_id == derivation.id and other.status is not EntryStatus.revoked
        for source in other.derived_from
    }
    found = [
        other
        for other in state.entries_of(entry.subject_id)
        if other.list == derivation.from_list
        and other.origin is None  # imported entries derive nothing here (docs/exchange.md)
        and other.id not in used
        and other.in_force(day)
        and window_start <= other.effective_from <= day
    ]
    return [*found, entry]


def _derived_entry(
    bundle: Bundle, derivation: Derivation, subject_id: str, trigger: Entry, sources: list[Entry]
) -> Entry:
    start = max(source.effective_from for source in sources)
    days = (
        derivation.duration_days
        or bundle.vocabulary.lists[derivation.derive_list].default_duration_days
    )
    return Entry(
        id=str(uuid.uuid4()),
        list=derivation.derive_list,
        subject_id=subject_id,
        subject_kind=trigger.subject_kind,
        department=SYSTEM_DEPARTMENT,
        decided_on=start,
        effective_from=start,
        effective_to=None if days is None else add_days(start, days),
        doc_no=f"派生:{derivation.id}",
        reason=f"依据派生规则 {derivation.id}:{len(sources)} 条{derivation.from_list}记录",
        attributes={},
        status=EntryStatus.active,
        registered_seq=0,
        derivation_id=derivation.id,
        derived_from=tuple(sorted(source.id for source in sources)),
    )
