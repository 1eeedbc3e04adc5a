"""The resolved policy bundle: what the engine consumes once a directory has been loaded and linted.

``ref`` measures are resolved against the catalogue, defaults are filled in, and lookups
the write and read paths need (triggers by list, measures by id) are precomputed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

from measures.schema import (
    AbsenceDerivation,
    Condition,
    Derivation,
    Effect,
    ExchangeFile,
    GradesFile,
    MemorandumKind,
    Propagation,
    SubjectKind,
    Vocabulary,
)


@dataclass(frozen=True, slots=True)
class Measure:
    """One measure as it applies: every key resolved, the owning memorandum named."""

    id: str
    memorandum_id: str
    text: str
    effect: Effect
    mandatory: bool
    matters: tuple[str, ...]
    implementing: tuple[str, ...]
    legal_basis: str | None
    subject_kinds: tuple[SubjectKind, ...]
    duration_days: int | None
    propagate: tuple[Propagation, ...]
    catalogue_ref: str | None = None
    note: str | None = None
    """The measure's ``note`` (for a ``ref``: its own, else the catalogue measure's)."""


@dataclass(frozen=True, slots=True)
class BundleTrigger:
    """One trigger of one memorandum; ``index`` is its position in the memorandum's list."""

    memorandum_id: str
    index: int
    list: str
    subject_kinds: tuple[SubjectKind, ...]
    when: Condition | None


@dataclass(frozen=True, slots=True)
class BundleGradeTrigger:
    """A grade trigger of one memorandum: fires at check time for these grades and kinds."""

    memorandum_id: str
    index: int
    grades: tuple[str, ...]
    subject_kinds: tuple[SubjectKind, ...]


@dataclass(frozen=True, slots=True)
class Memorandum:
    id: str
    title: str
    doc_no: str
    kind: MemorandumKind
    issued_on: dt.date
    triggers: tuple[BundleTrigger, ...]
    measures: tuple[Measure, ...]
    path: str
    """The file it came from, relative to the bundle directory."""
    grade_triggers: tuple[BundleGradeTrigger, ...] = ()
    """Triggers on the subject's grade (docs/grades.md); ``triggers`` holds the list ones."""


@dataclass(frozen=True)
class Bundle:
    """A loaded, valid policy bundle and its content version."""

    version: str
    vocabulary: Vocabulary
    memoranda: dict[str, Memorandum]
    derivations: tuple[Derivation, ...]
    files: dict[str, bytes] = field(repr=False)
    """Relative POSIX path -> the file's bytes, exactly as read."""
    grades: GradesFile | None = None
    """The grades model (``grades.yaml``), if the bundle has one."""
    absence_derivations: tuple[AbsenceDerivation, ...] = ()
    """Clean-record derivations, judged at each check's date (docs/grades.md)."""
    exchange: ExchangeFile | None = None
    """What is exchanged with peers (``exchange.yaml``, docs/exchange.md), if anything."""

    @cached_property
    def grade_triggers(self) -> tuple[BundleGradeTrigger, ...]:
        """Every grade trigger, in memorandum order."""
        return tuple(t for memo in self.memoranda.values() for t in memo.grade_triggers)

    @cached_property
    def measures(self) -> dict[str, Measure]:
        """Every measure of every memorandum, by id."""
        return {m.id: m for memo in self.memoranda.values() for m in memo.measures}

    @cached_property
    def triggers_by_list(self) -> dict[str, tuple[BundleTrigger, ...]]:
        """Triggers grouped by the list they watch, in memorandum then trigger order."""
        grouped: dict[str, list[BundleTrigger]] = {}
        for memo in self.memoranda.values():
            for trigger in memo.triggers:
                grouped.setdefault(trigger.list, []).append(trigger)
        return {code: tuple(triggers) for code, triggers in grouped.items()}
