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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from engine.checks.explain import Explanation, Reason, first_failure
from engine.checks.standing import graded, standings, subject_reason
from engine.grades.scoring import GradeResult
from engine.policy.runtime import PolicyRuntime
from engine.state import Entry, EntryStatus, State
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
    entry: Entry | None
    """None for a grade hit; a transient entry (never stored) for an absence derivation's."""
    via: Via | None
    until: dt.date | None
    grade: str | None = None
    """The grade that triggered the memorandum (a grade trigger's hit)."""
    derivation: str | None = None
    """The absence derivation the subject stands on the entry's list by (docs/grades.md)."""

    def sort_key(self) -> tuple[int, bool, str, int, int, str]:
        """The documented stable order of hits."""
        return (
            -EFFECT_RANK[self.measure.effect],
            not self.measure.mandatory,
            self.memorandum.id,
            self.position,
            -1 if self.entry is None else self.entry.registered_seq,
            "" if self.via is None else self.via.subject_id,
        )


@dataclass(frozen=True, slots=True)
class Evaluation:
    known_subject: bool
    subject_kind: SubjectKind | None
    hits: tuple[Hit, ...]
    incentives_withheld: bool
    explanation: tuple[Explanation, ...] | None = None
    """With ``explain``: why each entry concerning the subject gives no (other) hit."""
    grade: GradeResult | None = None
    """The grade the answer used (only when a grade trigger could give a hit for the matter)."""

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
    state: State,
    runtime: PolicyRuntime,
    *,
    subject_id: str,
    matter: str,
    day: dt.date,
    explain: bool = False,
) -> Evaluation:
    """Every measure that applies to ``subject_id`` for ``matter`` on ``day`` (hold the lock).

    With ``explain`` the same walk also records, for every entry that concerns the subject,
    each way it gives no hit (``engine.checks.explain``); without it nothing else is done.
    """
    answers = evaluate_matters(
        state, runtime, subject_id=subject_id, matters=(matter,), day=day, explain=explain
    )
    return answers[matter]


def evaluate_matters(
    state: State,
    runtime: PolicyRuntime,
    *,
    subject_id: str,
    matters: Sequence[str],
    day: dt.date,
    explain: bool = False,
) -> dict[str, Evaluation]:
    """``evaluate`` for every one of ``matters`` in one walk of the subject (hold the lock).

    The walk over the subject's entries, its holdings and their memoranda' measures does not
    depend on the matter; each measure's hit is filed under each requested matter it lists.
    ``evaluate`` is this function for one matter, so the two cannot drift apart. ``explain``
    names reasons for one matter only: it needs exactly one.
    """
    if explain and len(matters) != 1:
        raise ValueError("explain needs exactly one matter")
    wanted = dict.fromkeys(matters)
    subject = state.subjects.get(subject_id)
    if subject is None:
        return {
            matter: Evaluation(
                known_subject=False,
                subject_kind=None,
                hits=(),
                incentives_withheld=False,
                explanation=() if explain else None,
            )
            for matter in wanted
        }
    # The one matter that ``explain`` speaks about (never read without ``explain``).
    matter = next(iter(wanted)) if explain else ""
    hits: dict[str, dict[tuple[str, str, str], Hit]] = {m: {} for m in wanted}
    blocked = False
    blocking: list[str] = []
    reasons: list[Explanation] = []

    def why(
        entry: Entry,
        via: Via | None,
        reason: Reason,
        memo: Memorandum | None = None,
        measure: Measure | None = None,
        detail: str | None = None,
    ) -> None:
        reasons.append(Explanation(
            entry.id, entry.list, entry.subject_id, None if via is None else via.to_dict(),
            None if memo is None else memo.id, None if measure is None else measure.id,
            reason, detail,
        ))  # fmt: skip

    def add(memo: Memorandum, measure: Measure, entry: Entry, via: Via | None) -> None:
        """File the hit under each requested matter the measure lists."""
        filed = [m for m in measure.matters if m in hits]
        if not filed:
            return
        if entry.derivation_id is not None and entry.registered_seq < 0:
            # An absence derivation's standing: no stored entry, no end known in advance.
            for m in filed:
                hits[m].setdefault(
                    (entry.id, measure.id, ""),
                    Hit(memo, measure, runtime.position(measure), entry, None, None,
                        derivation=entry.derivation_id),
                )  # fmt: skip
            return
        end = measure_end(measure, entry)
        if end is not None and day >= end:
            if explain:
                why(entry, via, Reason.duration_over, memo, measure, f"ended {end.isoformat()}")
            return
        key = (entry.id, measure.id, "" if via is None else via.subject_id)
        for m in filed:
            if key not in hits[m]:
                until = None if end is None else end - dt.timedelta(days=1)
                hits[m][key] = Hit(memo, measure, runtime.position(measure), entry, via, until)

    for entry in state.entries_of(subject_id):
        if not entry.in_force(day):
            if explain:
                _not_in_force(entry, day, None, why)
            continue
        if runtime.blocks_incentives(entry):
            blocked = True
            blocking.append(entry.id)
        memoranda = runtime.memoranda_for(entry)
        if explain:
            _untriggered(runtime, entry, memoranda, None, why)
        for memo in memoranda:
            for measure in memo.measures:
                if subject.kind in measure.subject_kinds:
                    add(memo, measure, entry, None)
                if not explain:
                    continue
                if matter not in measure.matters:
                    why(entry, None, Reason.matter_not_listed, memo, measure)
                elif subject.kind not in measure.subject_kinds:
                    why(entry, None, Reason.kind_not_covered, memo, measure,
                        f"subject_kinds {', '.join(measure.subject_kinds)}")  # fmt: skip

    for holding, other_id, via in counterparts(state, subject_id, subject.kind):
        for entry in state.entries_of(other_id):
            if not entry.in_force(day):
                if explain:
                    _not_in_force(entry, day, via, why)
                continue
            reaches = False
            memoranda = runtime.memoranda_for(entry)
            if explain:
                _untriggered(runtime, entry, memoranda, via, why)
            for memo in memoranda:
                for measure in memo.measures:
                    if not propagates(measure, via.kind, holding, entry, day):
                        if explain:
                            _not_reached(measure, memo, entry, via, holding, matter, day, why)
                        continue
                    reaches = True
                    add(memo, measure, entry, via)
                    if explain and matter not in measure.matters:
                        why(entry, via, Reason.matter_not_listed, memo, measure)
            if reaches and runtime.blocks_incentives(entry):
                blocked = True
                blocking.append(entry.id)

    # docs/grades.md: a clean record (absence derivations), then the subject's grade.
    standings(state, runtime, subject, day, wanted, explain, add, reasons)
    grade, fired = graded(state, runtime, subject, day, wanted, explain, matter, reasons)
    for memo, measure in fired:
        for m in measure.matters:
            if m in hits:
                hits[m].setdefault(
                    (f"grade:{memo.id}", measure.id, ""),
                    Hit(memo, measure, runtime.position(measure), None, None, None,
                        grade=None if grade is None else grade.grade),
                )  # fmt: skip

    answers: dict[str, Evaluation] = {}
    for m, found in hits.items():
        kept = [h for h in found.values() if not (blocked and h.measure.effect is Effect.incentive)]
        kept.sort(key=Hit.sort_key)
        if explain and blocked:
            detail = "blocked by entries " + ", ".join(dict.fromkeys(blocking))
            for hit in sorted(found.values(), key=Hit.sort_key):
                if hit.measure.effect is not Effect.incentive:
                    continue
                if hit.entry is None or hit.derivation is not None:
                    reasons.append(subject_reason(
                        subject, hit.entry.list if hit.entry else None, Reason.incentive_withheld,
                        hit.memorandum, hit.measure, detail,
                    ))  # fmt: skip
                else:
                    why(hit.entry, hit.via, Reason.incentive_withheld, hit.memorandum,
                        hit.measure, detail)  # fmt: skip
        answers[m] = Evaluation(
            known_subject=True,
            subject_kind=subject.kind,
            hits=tuple(kept),
            incentives_withheld=blocked,
            explanation=tuple(reasons) if explain else None,
            grade=grade if runtime.consults_grade(subject.kind, (m,)) else None,
        )
    return answers


Why = Callable[..., None]


def _not_in_force(entry: Entry, day: dt.date, via: Via | None, why: Why) -> None:
    """Entry-level reasons: its status, or ``day`` outside its window."""
    if entry.status is not EntryStatus.active:
        why(entry, via, Reason(entry.status.value))
    elif day < entry.effective_from:
        why(entry, via, Reason.not_yet_effective, detail=f"from {entry.effective_from}")
    else:
        why(entry, via, Reason.expired, detail=f"ended {entry.effective_to}")


def _untriggered(
    runtime: PolicyRuntime,
    entry: Entry,
    memoranda: Sequence[Memorandum],
    via: Via | None,
    why: Why,
) -> None:
    """No memorandum watches this list for this kind, or the rule engine found ``when`` false."""
    triggered = {memo.id for memo in memoranda}
    watching = [
        trigger
        for trigger in runtime.bundle.triggers_by_list.get(entry.list, ())
        if entry.subject_kind in trigger.subject_kinds
    ]
    if not watching:
        why(entry, via, Reason.no_memorandum)
        return
    for memorandum_id in dict.fromkeys(trigger.memorandum_id for trigger in watching):
        if memorandum_id in triggered:
            continue
        # The rule engine said no: name the first failing comparison of the first trigger.
        first = next(t for t in watching if t.memorandum_id == memorandum_id)
        memo = runtime.bundle.memoranda[memorandum_id]
        why(entry, via, Reason.condition_false, memo,
            detail=first_failure(first.when, entry.attributes))  # fmt: skip


def _not_reached(
    measure: Measure,
    memo: Memorandum,
    entry: Entry,
    via: Via,
    holding: RoleHolding,
    matter: str,
    day: dt.date,
    why: Why,
) -> None:
    """Why a triggered measure does not cross this holding."""
    if matter not in measure.matters:
        why(entry, via, Reason.matter_not_listed, memo, measure)
        return
    direction = "persons" if via.kind == "org" else "orgs"
    rules = [r for r in measure.propagate if r.to == direction and holding.role in r.roles]
    if not rules:
        why(entry, via, Reason.not_propagated, memo, measure, f"role {holding.role}")
        return
    days = [entry.decided_on if rule.role_held_at == "decision" else day for rule in rules]
    shown = ", ".join(str(d) for d in dict.fromkeys(days))
    why(entry, via, Reason.role_not_held, memo, measure, f"role {holding.role} not held on {shown}")


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
