"""Records and clean years: which entries count against a clean record, and since when.

Shared by the grades model's ``clean_years`` bonus and by absence derivations
(docs/grades.md#how-the-score-is-computed-at-a-day-d-china-date-of-as_of). A *record* is an
entry of the selected lists (or list kinds) that is not revoked (revoked entries were wrong);
it runs from ``effective_from`` to the earliest of ``effective_to`` and its repair day, and one
with neither runs on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from engine.state import Entry, EntryStatus
from engine.timing import whole_years
from measures.schema import ListDefinition, ListKind


@dataclass(frozen=True, slots=True)
class Selector:
    """Lists named outright, or every list of these kinds."""

    lists: frozenset[str]
    kinds: frozenset[ListKind]

    @classmethod
    def of(cls, lists: Collection[str] | None, kinds: Collection[ListKind] | None) -> Selector:
        return cls(frozenset(lists or ()), frozenset(kinds or ()))

    def matches(self, entry: Entry, vocabulary: Mapping[str, ListDefinition]) -> bool:
        if entry.list in self.lists:
            return True
        definition = vocabulary.get(entry.list)
        return definition is not None and definition.kind in self.kinds


@dataclass(frozen=True, slots=True)
class Clean:
    """How clean a subject's record is on a day."""

    years: int | None
    """Whole years since the latest record ended; None when it has no record at all."""
    latest: Entry | None
    """The record that ended last (or still runs)."""
    since: dt.date | None
    """The day that record ended (None: none, or it still runs)."""

    def at_least(self, years: int) -> bool:
        return self.years is None or self.years >= years


def record_end(entry: Entry) -> dt.date | None:
    """The first day a record no longer runs (None: it runs on)."""
    ends = [entry.effective_to] if entry.effective_to is not None else []
    if entry.status is EntryStatus.repaired and entry.ended_on is not None:
        ends.append(entry.ended_on)
    return min(ends) if ends else None


def clean_record(
    entries: Iterable[Entry],
    selector: Selector,
    vocabulary: Mapping[str, ListDefinition],
    day: dt.date,
) -> Clean:
    """Whole years on ``day`` since the subject's latest record of ``selector`` ended."""
    latest: Entry | None = None
    latest_end: dt.date | None = None
    for entry in entries:
        if entry.status is EntryStatus.revoked or entry.effective_from > day:
            continue
        if not selector.matches(entry, vocabulary):
            continue
        end = record_end(entry)
        if end is None or end > day:
            return Clean(0, entry, None)  # a record covers the day
        if latest_end is None or end > latest_end:
            latest, latest_end = entry, end
    if latest is None or latest_end is None:
        return Clean(None, None, None)
    return Clean(whole_years(latest_end, day), latest, latest_end)
