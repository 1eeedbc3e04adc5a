"""The structural difference between two policy bundles (docs/api.md#policy-impact-and-diff).

Measures are compared as they apply (``ref`` resolved, defaults filled in), so moving a
measure into the catalogue changes nothing, while editing a catalogue measure changes every
measure that refers to it.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from measures.bundle import Bundle, Measure, Memorandum

MEASURE_FIELDS = tuple(
    f.name for f in fields(Measure) if f.name not in ("id", "catalogue_ref", "memorandum_id")
)
"""The keys of a measure whose change is reported (its memorandum id too, as ``memorandum``)."""


def diff_bundles(old: Bundle, new: Bundle) -> dict[str, Any]:
    """``{"memoranda_added", "memoranda_removed", "measures_added", "measures_removed",
    "measures_changed": [{"measure_id", "fields"}]}``, each sorted by id."""
    old_measures, new_measures = old.measures, new.measures
    changed = []
    for measure_id in sorted(old_measures.keys() & new_measures.keys()):
        before, after = old_measures[measure_id], new_measures[measure_id]
        names = [name for name in MEASURE_FIELDS if getattr(before, name) != getattr(after, name)]
        if before.memorandum_id != after.memorandum_id:
            names.insert(0, "memorandum")
        if names:
            changed.append({"measure_id": measure_id, "fields": names})
    return {
        "memoranda_added": sorted(new.memoranda.keys() - old.memoranda.keys()),
        "memoranda_removed": sorted(old.memoranda.keys() - new.memoranda.keys()),
        "measures_added": sorted(new_measures.keys() - old_measures.keys()),
        "measures_removed": sorted(old_measures.keys() - new_measures.keys()),
        "measures_changed": changed,
    }


def changed_memoranda(old: Bundle, new: Bundle) -> list[Memorandum]:
    """Memoranda added, removed or different in any way (triggers included), old and new."""
    found: list[Memorandum] = []
    for memorandum_id in sorted(old.memoranda.keys() | new.memoranda.keys()):
        before, after = old.memoranda.get(memorandum_id), new.memoranda.get(memorandum_id)
        if before is not None and after is not None and _same(before, after):
            continue
        found += [memo for memo in (before, after) if memo is not None]
    return found


def _same(before: Memorandum, after: Memorandum) -> bool:
    # The file it came from is no part of what it does.
    return (before.title, before.doc_no, before.kind, before.issued_on, before.triggers,
            before.grade_triggers, before.measures) == (
        after.title, after.doc_no, after.kind, after.issued_on, after.triggers,
        after.grade_triggers, after.measures)  # fmt: skip
