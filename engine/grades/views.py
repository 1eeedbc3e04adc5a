"""``GET /v1/subjects/{id}/grade``: a subject's score, grade and breakdown at a date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from engine.errors import Code, NotFound
from engine.grades.scoring import number, subject_grade
from engine.registry.access import FULL_VIEW_ROLES, mask_id, record_access
from engine.registry.identifiers import either_kind_id
from engine.state import State
from engine.timing import CHINA, china_now, in_china
from measures.bundle import Bundle
from measures.schema import SubjectKind

if TYPE_CHECKING:
    from engine.service import Service


def grade_view(state: State, bundle: Bundle, subject_id: str, day: dt.date) -> dict[str, Any]:
    """The grade answer for a subject on ``day`` (caller holds the lock); 404s as documented."""
    subject = state.subjects.get(subject_id)
    if subject is None:
        raise NotFound("no subject with this id is registered", code=Code.unknown_subject)
    model = bundle.grades
    if model is None:
        raise NotFound("the policy in force has no grades model", code=Code.no_grade_model)
    result = subject_grade(state, model, bundle.vocabulary.lists, subject_id, day)
    if result is None:
        raise NotFound(
            f"the grades model {model.id} does not grade {subject.kind.value} subjects",
            code=Code.no_grade_model,
        )
    return {
        "subject_id": subject.id,
        "subject_kind": subject.kind.value,
        "as_of": day.isoformat(),
        "model": model.id,
        "model_name": model.name,
        "policy_version": bundle.version,
        "score": number(result.score),
        "grade": result.grade,
        "label": result.level.label,
        "breakdown": result.breakdown(),
    }


def subject_grade_answer(
    service: Service,
    raw_id: str,
    as_of: dt.datetime | None,
    *,
    caller: str | None = None,
    department: str = "",
    roles: Iterable[str] = (),
) -> dict[str, Any]:
    """The grade of a subject at ``as_of`` (default now; China date), masked as the profile is.

    A person's id is whole only for ``FULL_VIEW_ROLES``; a read of a person's grade by a
    ``caller`` is recorded in the access log.
    """
    subject_id = either_kind_id(raw_id, field="id")
    day = in_china(as_of or china_now(), field="as_of").astimezone(CHINA).date()
    service.catch_up()  # read-your-writes across workers
    with service.state.lock:
        answer = grade_view(service.state, service.policy.bundle, subject_id, day)
    if answer["subject_kind"] == SubjectKind.person.value and caller is not None:
        record_access(
            service.engine,
            caller=caller,
            department=department,
            subject_id=subject_id,
            route="/v1/subjects/{id}/grade",
        )
        if not FULL_VIEW_ROLES.intersection(roles):
            answer["subject_id"] = mask_id(subject_id)
    return answer
