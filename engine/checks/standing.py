"""What applies to a subject because of itself, not a stored entry (docs/grades.md).

- ``standings``: absence derivations. A subject with a clean record stands, for this check,
  on the derivation's (red) list; a transient entry (never stored, ``registered_seq`` -1)
  goes through the runtime's triggers like any entry of that list.
- ``graded``: the subject's grade at the check's date and the measures grade triggers fire.

Both also give the subject-level explanation reasons (``entry_id`` None).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from engine.checks.explain import Explanation, Reason
from engine.grades.records import Selector, clean_record
from engine.grades.scoring import GradeResult, subject_grade
from engine.policy.runtime import PolicyRuntime
from engine.state import Entry, EntryStatus, State, Subject
from measures.bundle import Measure, Memorandum

_NO_ATTRIBUTES: dict[str, object] = {}
"""One shared (empty) attributes object, so the runtime keeps a standing's triggers cached."""


def subject_reason(
    subject: Subject,
    list_code: str | None,
    reason: Reason,
    memo: Memorandum | None,
    measure: Measure | None = None,
    detail: str | None = None,
) -> Explanation:
    """A reason about the subject itself (its grade or its record), not a stored entry."""
    return Explanation(
        None, list_code, subject.id, None, None if memo is None else memo.id,
        None if measure is None else measure.id, reason, detail,
    )  # fmt: skip


def standings(
    state: State,
    runtime: PolicyRuntime,
    subject: Subject,
    day: dt.date,
    matters: Mapping[str, None],
    explain: bool,
    add: Callable[[Memorandum, Measure, Entry, Any], None],
    reasons: list[Explanation],
) -> None:
    """Absence derivations: a clean record puts the subject on a (red) list for this check."""
    lists = runtime.bundle.vocabulary.lists
    for derivation in runtime.bundle.absence_derivations:
        if subject.kind not in derivation.subject_kinds:
            continue
        if not runtime.watched(derivation.derive_list, subject.kind, matters):
            continue  # no memorandum would apply for these matters: nothing to judge
        selector = Selector.of(derivation.absent_lists, derivation.absent_kinds)
        clean = clean_record(state.entries_of(subject.id), selector, lists, day)
        if not clean.at_least(derivation.years):
            if explain:
                latest = clean.latest
                assert latest is not None  # not clean: some record exists
                ends = "still runs" if clean.since is None else f"ended {clean.since}"
                reasons.append(subject_reason(
                    subject, derivation.derive_list, Reason.record_not_clean, None, None,
                    f"{derivation.id}: entry {latest.id} ({latest.list}) {ends}; "
                    f"{derivation.years} clean years needed",
                ))  # fmt: skip
            continue
        standing = Entry(
            # One id per derivation and kind: the runtime caches what an entry id triggers.
            id=f"derived:{derivation.id}:{subject.kind.value}", list=derivation.derive_list,
            subject_id=subject.id, subject_kind=subject.kind, department="system",
            decided_on=day, effective_from=day, effective_to=None,
            doc_no=f"派生:{derivation.id}", reason=None,
            attributes=_NO_ATTRIBUTES, status=EntryStatus.active, registered_seq=-1,
            derivation_id=derivation.id,
        )  # fmt: skip
        for memo in runtime.memoranda_for(standing):
            for measure in memo.measures:
                if subject.kind in measure.subject_kinds:
                    add(memo, measure, standing, None)


def graded(
    state: State,
    runtime: PolicyRuntime,
    subject: Subject,
    day: dt.date,
    matters: Mapping[str, None],
    explain: bool,
    matter: str,
    reasons: list[Explanation],
) -> tuple[GradeResult | None, list[tuple[Memorandum, Measure]]]:
    """The subject's grade on ``day`` if a grade trigger could apply to these matters, and the
    (memorandum, measure) pairs the grade fires for the subject's kind."""
    model = runtime.bundle.grades
    if model is None or not runtime.consults_grade(subject.kind, matters):
        return None, []
    grade = subject_grade(state, model, runtime.bundle.vocabulary.lists, subject.id, day)
    if grade is None:
        return None, []
    fired: list[tuple[Memorandum, Measure]] = []
    for memo, grades in runtime.grade_memoranda(subject.kind):
        if grade.grade not in grades:
            if explain:
                reasons.append(subject_reason(
                    subject, None, Reason.grade_not_matched, memo, None,
                    f"grade {grade.grade} (score {grade.summary()['score']}) "
                    f"not in [{', '.join(grades)}]",
                ))  # fmt: skip
            continue
        for measure in memo.measures:
            if subject.kind not in measure.subject_kinds:
                if explain and matter in measure.matters:
                    reasons.append(subject_reason(
                        subject, None, Reason.kind_not_covered, memo, measure,
                        f"subject_kinds {', '.join(measure.subject_kinds)}",
                    ))  # fmt: skip
                continue
            if explain and matter not in measure.matters:
                reasons.append(
                    subject_reason(subject, None, Reason.matter_not_listed, memo, measure)
                )
            fired.append((memo, measure))
    return grade, fired
