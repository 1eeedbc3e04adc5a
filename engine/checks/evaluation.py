"""What applies to a subject for a matter on a day: the sanction index and check evaluation.

``evaluate`` reads ``State`` and a ``PolicyRuntime`` (``engine.policy.runtime``: per entry, the
memoranda it triggers, computed once by the rule engine) and never calls the rule engine for
an entry it has seen, so a check costs dictionary lookups.

Hit order (stable, documented in the README): strongest effect first, mandatory before
recommended, then memorandum id, the measure's position in its memorandum, the entry's
registration order, and the ``via`` subject id (own hits first).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from engine.policy.runtime import PolicyRuntime
from engine.state import Entry, State
from engine.state.graph import RoleHolding
from engine.timing import add_days
from measures.bundle import Measure, Memorandum
from measures.schema import EFFECT_RANK, Effect, SubjectKind


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
        end = add_days(entry.effective_from, measure.duration_days)
        if end is not None:
            ends.append(end)
    return min(ends) if ends else None


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
