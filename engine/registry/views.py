"""What the registry shows: a subject with its holdings, entries, and entries reaching it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from engine.checks.evaluation import Via, counterparts, propagates
from engine.commitments.views import commitment_view
from engine.entries.views import entry_view
from engine.errors import NotFound
from engine.policy.runtime import PolicyRuntime
from engine.registry.access import FULL_VIEW_ROLES, mask_id, mask_name, record_access
from engine.registry.identifiers import either_kind_id
from engine.service import Service
from engine.state import Entry, RoleHolding, State, Subject
from engine.timing import china_today
from measures.schema import SubjectKind


def reaching_entries(
    state: State, runtime: PolicyRuntime, subject: Subject, day: dt.date
) -> list[tuple[Entry, Via]]:
    """Entries of the subject's counterparts with a measure that propagates across a holding.

    Judged as a check on ``day`` would (direction, role, and the role held on the entry's
    decision date or on ``day`` as the measure says), whatever the entry's status: the caller
    shows the status. One item per (entry, via); ordered by registration, then via.
    """
    found: dict[tuple[str, str, str, str], tuple[Entry, Via]] = {}
    for holding, other_id, via in counterparts(state, subject.id, subject.kind):
        for entry in state.entries_of(other_id):
            key = (entry.id, via.kind, via.subject_id, via.role)
            if key in found:
                continue
            if any(
                propagates(measure, via.kind, holding, entry, day)
                for memo in runtime.memoranda_for(entry)
                for measure in memo.measures
            ):
                found[key] = (entry, via)
    return sorted(
        found.values(),
        key=lambda pair: (pair[0].registered_seq, pair[1].kind, pair[1].subject_id, pair[1].role),
    )


def _relation_view(holding: RoleHolding, roles: Mapping[str, str]) -> dict[str, Any]:
    return {
        "org_id": holding.org_id,
        "person_id": holding.person_id,
        "role": holding.role,
        "role_name": roles.get(holding.role),
        "start": holding.start.isoformat(),
        "end": None if holding.end is None else holding.end.isoformat(),
    }


def subject_detail(
    service: Service,
    raw_id: str,
    *,
    caller: str | None = None,
    department: str = "",
    roles: Iterable[str] = (),
) -> dict[str, Any]:
    """``GET /v1/subjects/{id}``: the subject, its relations, its entries and those reaching it.

    For a ``caller`` (every HTTP read), persons' ids and names are whole only with one of
    ``FULL_VIEW_ROLES``, masked otherwise, and an answer holding any person's data is recorded
    in the access log (engine/registry/access.py). Without one (the engine's own reads, tools)
    nothing is masked or recorded.
    """
    subject_id = either_kind_id(raw_id, field="id")
    service.catch_up()  # read-your-writes across workers
    today = china_today()
    with service.state.lock:
        state = service.state
        subject = state.subjects.get(subject_id)
        if subject is None:
            raise NotFound("no subject with this id is registered", code="unknown_subject")
        policy = service.policy
        roles_vocabulary = policy.bundle.vocabulary.roles
        reaching = reaching_entries(state, policy.runtime, subject, today)
        relations = state.graph.relations_of(subject.id)
        answer = {
            "id": subject.id,
            "kind": subject.kind.value,
            "name": subject.name,
            "region": subject.region,
            "relations": [_relation_view(h, roles_vocabulary) for h in relations],
            "entries": [entry_view(e, today=today) for e in state.entries_of(subject.id)],
            "reaching_entries": [
                {**entry_view(entry, today=today), "via": via.to_dict()} for entry, via in reaching
            ],
            "commitments": [
                commitment_view(c, today=today, entries=state.entries)
                for c in state.commitments_of(subject.id)
            ],
        }
        persons = _person_ids(state, answer)
    if persons and caller is not None:
        record_access(
            service.engine,
            caller=caller,
            department=department,
            subject_id=subject.id,
            route="/v1/subjects/{id}",
        )
        if not FULL_VIEW_ROLES.intersection(roles):
            _mask(answer, persons)
    return answer


def _person_ids(state: State, answer: dict[str, Any]) -> set[str]:
    """The persons' ids the answer shows."""
    found: set[str] = set()
    if answer["kind"] == SubjectKind.person.value:
        found.add(answer["id"])
    for relation in answer["relations"]:
        found.add(relation["person_id"])
    for item in [*answer["entries"], *answer["reaching_entries"]]:
        subject = state.subjects.get(item["subject_id"])
        if subject is not None and subject.kind is SubjectKind.person:
            found.add(item["subject_id"])
        person = item.get("via", {}).get("person_id")
        if person is not None:
            found.add(person)
    return found


def _mask(answer: dict[str, Any], persons: set[str]) -> None:
    """Mask every person's id and name in the answer, in place."""

    def masked(value: Any) -> Any:
        return mask_id(value) if isinstance(value, str) and value in persons else value

    if answer["kind"] == SubjectKind.person.value:
        answer["id"] = mask_id(answer["id"])
        answer["name"] = mask_name(answer["name"])
    for relation in answer["relations"]:
        relation["person_id"] = masked(relation["person_id"])
    for item in [*answer["entries"], *answer["reaching_entries"], *answer["commitments"]]:
        item["subject_id"] = masked(item["subject_id"])
        via = item.get("via")
        if via is not None and "person_id" in via:
            via["person_id"] = masked(via["person_id"])
