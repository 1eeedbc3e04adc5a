"""One policy version made ready for checks: what each entry triggers, cached.

What an entry triggers depends only on its list, subject kind and attributes (the rule engine
sees nothing else), so the rule engine runs once per distinct combination and each entry
keeps its answer by id (until a correction gives it new attributes). ``prepare`` fills the
cache on the write path and at start-up, so checks never wait for the rule engine.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from engine.state import Entry
from measures.bundle import Bundle, Measure, Memorandum
from measures.schema import ListKind, SubjectKind

TriggerFn = Callable[[Entry], Sequence[str]]
"""Memorandum ids an entry triggers under one policy version, in bundle order."""

DerivationsFn = Callable[[str, Mapping[str, int]], Sequence[str]]
"""Ids of the derivations on a list whose threshold the given qualifying counts meet."""


class PolicyRuntime:
    """One policy version ready for checks: triggers cached per entry, measures by matter.

    What an entry triggers depends only on its list, subject kind and attributes (the rule
    engine sees nothing else), so the rule engine runs once per distinct combination, and
    each entry keeps its answer by id. ``prepare`` fills both ahead of checks, on the write
    path and at start-up, so that checks never wait for the rule engine.
    """

    def __init__(
        self, bundle: Bundle, triggered: TriggerFn, derivations_met: DerivationsFn
    ) -> None:
        self.bundle = bundle
        self._triggered = triggered
        self._derivations_met = derivations_met
        self._cache: dict[str, tuple[Mapping[str, Any], tuple[Memorandum, ...]]] = {}
        self._by_content: dict[tuple[str, str, str], tuple[Memorandum, ...]] = {}
        self._lock = threading.Lock()
        self._positions = {
            measure.id: index
            for memo in bundle.memoranda.values()
            for index, measure in enumerate(memo.measures)
        }
        self._blocking_kinds = frozenset(bundle.vocabulary.settings.incentives_blocked_by)
        # Grade triggers (docs/grades.md): per subject kind, each memorandum with the grades
        # that fire it, and the matters its measures could give a hit for.
        self._graded: dict[SubjectKind, list[tuple[Memorandum, tuple[str, ...]]]] = {}
        self._graded_matters: dict[SubjectKind, frozenset[str]] = {}
        for kind in SubjectKind:
            grades: dict[str, dict[str, None]] = {}
            for trigger in bundle.grade_triggers:
                if kind in trigger.subject_kinds:
                    grades.setdefault(trigger.memorandum_id, {}).update(
                        dict.fromkeys(trigger.grades)
                    )
            memoranda = [(bundle.memoranda[m], tuple(g)) for m, g in grades.items()]
            self._graded[kind] = memoranda
            self._graded_matters[kind] = frozenset(
                matter
                for memo, _ in memoranda
                for measure in memo.measures
                if kind in measure.subject_kinds
                for matter in measure.matters
            )
        # Absence derivations: per (derived list, kind), the matters a memorandum watching
        # the list could give a hit for; a check for another matter need not judge the record.
        self._watched: dict[tuple[str, SubjectKind], set[str]] = {}
        for derivation in bundle.absence_derivations:
            for watching in bundle.triggers_by_list.get(derivation.derive_list, ()):
                for kind in watching.subject_kinds:
                    self._watched.setdefault((watching.list, kind), set()).update(
                        matter
                        for measure in bundle.memoranda[watching.memorandum_id].measures
                        if kind in measure.subject_kinds
                        for matter in measure.matters
                    )

    @property
    def version(self) -> str:
        return self.bundle.version

    def memoranda_for(self, entry: Entry) -> tuple[Memorandum, ...]:
        """The memoranda an entry triggers under this version (rule engine once per content)."""
        # Kept with the attributes object it was computed for: a corrected entry (an
        # objection resolved ``corrected``) is a new Entry with new attributes and gets fresh
        # triggers, and a replayed state's entry as it was before the correction gets its own.
        found = self._cache.get(entry.id)
        if found is not None and found[0] is entry.attributes:
            return found[1]
        key = (entry.list, entry.subject_kind.value, _attributes_key(entry.attributes))
        cached = self._by_content.get(key)
        if cached is None:
            with self._lock:
                ids = self._triggered(entry)
            cached = tuple(self.bundle.memoranda[memorandum_id] for memorandum_id in ids)
            self._by_content[key] = cached
        self._cache[entry.id] = (entry.attributes, cached)
        return cached

    def prepare(self, entries: Iterable[Entry]) -> None:
        """Compute what these entries trigger now, so that checks find it cached."""
        for entry in entries:
            self.memoranda_for(entry)

    def derivations_met(self, list_code: str, counts: Mapping[str, int]) -> list[str]:
        """Derivation ids on ``list_code`` whose ``at_least`` the counts meet (rule engine)."""
        with self._lock:
            return list(self._derivations_met(list_code, counts))

    def blocks_incentives(self, entry: Entry) -> bool:
        """Whether an in-force entry on this list withholds incentives."""
        definition = self.bundle.vocabulary.lists.get(entry.list)
        return definition is not None and ListKind(definition.kind) in self._blocking_kinds

    def consults_grade(self, kind: SubjectKind, matters: Iterable[str]) -> bool:
        """Whether a grade trigger could give a subject of this kind a hit for these matters."""
        graded = self._graded_matters[kind]
        return bool(graded) and any(matter in graded for matter in matters)

    def grade_memoranda(self, kind: SubjectKind) -> list[tuple[Memorandum, tuple[str, ...]]]:
        """Memoranda with a grade trigger for this kind, each with the grades that fire it."""
        return self._graded[kind]

    def watched(self, list_code: str, kind: SubjectKind, matters: Iterable[str]) -> bool:
        """Whether a memorandum watching an absence derivation's list could give a subject of
        this kind a hit for one of these matters."""
        found = self._watched.get((list_code, kind), set())
        return any(matter in found for matter in matters)

    def position(self, measure: Measure) -> int:
        return self._positions[measure.id]


def _attributes_key(attributes: Mapping[str, Any]) -> str:
    # Distinct JSON for distinct values (1, 1.0, "1" and true differ), so equal keys mean
    # attributes the rule engine cannot tell apart.
    return json.dumps(attributes, sort_keys=True, default=repr) if attributes else ""
