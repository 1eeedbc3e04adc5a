"""What applies to a subject for a matter on a day: the sanction index and check evaluation.

``PolicyRuntime`` is one policy version made ready for checks: its compiled triggers and, per
entry, the memoranda the entry triggers (computed once by the rule engine, then cached; an
entry's list and attributes never change). ``evaluate`` reads ``State`` and a runtime and
never calls the rule engine for an entry it has seen, so a check costs dictionary lookups.

Hit order (stable, documented in the README): strongest effect first, mandatory before
recommended, then memorandum id, the measure's position in its memorandum, the entry's
registration order, and the ``via`` subject id (own hits first).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from engine.state.graph import RoleHolding
from engine.state.projection import Entry, State
from measures.bundle import Bundle, Measure, Memorandum
from measures.schema import EFFECT_RANK, Effect, ListKind, SubjectKind

TriggerFn = Callable[[Entry], Sequence[str]]
"""Memorandum ids an entry triggers under one policy version, in bundle order."""

DerivationsFn = Callable[[str, Mapping[str, int]], Sequence[str]]
"""Ids of the derivations on a list whose threshold the given qualifying counts meet."""


@dataclass(frozen=True, slots=True)
class Via:
    """How a propagated hit reaches the subject: the other side of the role and the role."""

    kind: Literal["org", "person"]
    subject_id: str
    role: str

    def to_dict(self) -> dict[str, str]:
        """``{"org_id", "role"}`` or ``{"person_id", "role"}`` as in the contract."""
        return {f"{self.kind}_id": self.subject_id, "role": self.role}


@dataclass(frozen=True, slots=True)
class Hit:
    memorandum: Memorandum
    measure: Measure
    position: int
    """The measure's position in its memorandum (for the stable order)."""
    entry: Entry
    via: Via | None
    until: dt.date | None

    def sort_key(self) -> tuple[int, bool, str, int, int, str]:
        """The documented stable order of hits."""
        return (
            -EFFECT_RANK[self.measure.effect],
            not self.measure.mandatory,
            self.memorandum.id,
            self.position,
            self.entry.registered_seq,
            "" if self.via is None else self.via.subject_id,
        )


@dataclass(frozen=True, slots=True)
class Evaluation:
    known_subject: bool
    subject_kind: SubjectKind | None
    hits: tuple[Hit, ...]
    incentives_withheld: bool

    @property
    def outcome(self) -> str:
        """The strongest effect among the hits, ``clear`` when none."""
        return _strongest(self.hits)

    @property
    def binding_outcome(self) -> str:
        """The strongest effect among mandatory hits, ``clear`` when none."""
        return _strongest([hit for hit in self.hits if hit.measure.mandatory])


def _strongest(hits: Sequence[Hit]) -> str:
    if not hits:
        return "clear"
    return max((hit.measure.effect for hit in hits), key=EFFECT_RANK.__getitem__).value


def measure_end(measure: Measure, entry: Entry) -> dt.date | None:
    """The first day the measure no longer holds for this entry (None: open-ended)."""
    ends = [entry.effective_to] if entry.effective_to is not None else []
    if measure.duration_days is not None:
        ends.append(entry.effective_from + dt.timedelta(days=measure.duration_days))
    return min(ends) if ends else None


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
        self._cache: dict[str, tuple[Memorandum, ...]] = {}
        self._by_content: dict[tuple[str, str, str], tuple[Memorandum, ...]] = {}
        self._lock = threading.Lock()
        self._positions = {
            measure.id: index
            for memo in bundle.memoranda.values()
            for index, measure in enumerate(memo.measures)
        }
        self._blocking_kinds = frozenset(bundle.vocabulary.settings.incentives_blocked_by)

    @property
    def version(self) -> str:
        return self.bundle.version

    def memoranda_for(self, entry: Entry) -> tuple[Memorandum, ...]:
        """The memoranda an entry triggers under this version (rule engine once per content)."""
        cached = self._cache.get(entry.id)
        if cached is None:
            key = (entry.list, entry.subject_kind.value, _attributes_key(entry.attributes))
            cached = self._by_content.get(key)
            if cached is None:
                with self._lock:
                    ids = self._triggered(entry)
                cached = tuple(self.bundle.memoranda[memorandum_id] for memorandum_id in ids)
                self._by_content[key] = cached
            self._cache[entry.id] = cached
        return cached

    def prepare(self, entries: Iterable[Entry]) -> None:
        """Compute what these entries trigger now, so that checks find it cached."""
        for entry in entries:
            if entry.id not in self._cache:
                self.memoranda_for(entry)

    def derivations_met(self, list_code: str, counts: Mapping[str, int]) -> list[str]:
        """Derivation ids on ``list_code`` whose ``at_least`` the counts meet (rule engine)."""
        with self._lock:
            return list(self._derivations_met(list_code, counts))

    def blocks_incentives(self, entry: Entry) -> bool:
        """Whether an in-force entry on this list withholds incentives."""
        definition = self.bundle.vocabulary.lists.get(entry.list)
        return definition is not None and ListKind(definition.kind) in self._blocking_kinds

    def position(self, measure: Measure) -> int:
        return self._positions[measure.id]


def _attributes_key(attributes: Mapping[str, Any]) -> str:
    # Distinct JSON for distinct values (1, 1.0, "1" and true differ), so equal keys mean
    # attributes the rule engine cannot tell apart.
    return json.dumps(attributes, sort_keys=True, default=repr) if attributes else ""


def evaluate(
    state: State, runtime: PolicyRuntime, *, subject_id: str, matter: str, day: dt.date
) -> Evaluation:
    """Every measure that applies to ``subject_id`` for ``matter`` on ``day`` (hold the lock)."""
    subject = state.subjects.get(subject_id)
    if subject is None:
        return Evaluation(
            known_subject=False, subject_kind=None, hits=(), incentives_withheld=False
        )
    hits: dict[tuple[str, str, str], Hit] = {}
    blocked = False

    def add(memo: Memorandum, measure: Measure, entry: Entry, via: Via | None) -> None:
        end = measure_end(measure, entry)
        if end is not None and day >= end:
            return
        key = (entry.id, measure.id, "" if via is None else via.subject_id)
        if key not in hits:
            until = None if end is None else end - dt.timedelta(days=1)
            hits[key] = Hit(memo, measure, runtime.position(measure), entry, via, until)

    for entry in state.entries_of(subject_id):
        if not entry.in_force(day):
            continue
        blocked = blocked or runtime.blocks_incentives(entry)
        for memo in runtime.memoranda_for(entry):
            for measure in memo.measures:
                if matter in measure.matters and subject.kind in measure.subject_kinds:
                    add(memo, measure, entry, None)

    for holding, other_id, via in counterparts(state, subject_id, subject.kind):
        for entry in state.entries_of(other_id):
            if not entry.in_force(day):
                continue
            reaches = False
            for memo in runtime.memoranda_for(entry):
                for measure in memo.measures:
                    if not propagates(measure, via.kind, holding, entry, day):
                        continue
                    reaches = True
                    if matter in measure.matters:
                        add(memo, measure, entry, via)
            blocked = blocked or (reaches and runtime.blocks_incentives(entry))

    kept = [
        hit for hit in hits.values() if not (blocked and hit.measure.effect is Effect.incentive)
    ]
    kept.sort(key=Hit.sort_key)
    return Evaluation(
        known_subject=True,
        subject_kind=subject.kind,
        hits=tuple(kept),
        incentives_withheld=blocked,
    )


def counterparts(
    state: State, subject_id: str, kind: SubjectKind
) -> list[tuple[RoleHolding, str, Via]]:
    """(holding, the listed subject on the other side, via) for every holding of the subject."""
    found = []
    for holding in state.graph.relations_of(subject_id):
        if kind is SubjectKind.person and holding.person_id == subject_id:
            found.append((holding, holding.org_id, Via("org", holding.org_id, holding.role)))
        elif kind is SubjectKind.org and holding.org_id == subject_id:
            found.append(
                (holding, holding.person_id, Via("person", holding.person_id, holding.role))
            )
    return found


def propagates(
    measure: Measure, via_kind: str, holding: RoleHolding, entry: Entry, day: dt.date
) -> bool:
    """Whether the measure reaches across this holding: direction, role, and when it was held.

    ``via_kind`` "org": the checked person holds a role in a listed org (``to: persons``);
    "person": a listed person holds a role in the checked org (``to: orgs``).
    """
    direction = "persons" if via_kind == "org" else "orgs"
    for rule in measure.propagate:
        if rule.to != direction or holding.role not in rule.roles:
            continue
        held_on = entry.decided_on if rule.role_held_at == "decision" else day
        if holding.held_on(held_on):
            return True
    return False
