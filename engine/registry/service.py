"""Registering subjects and who holds which role in which org (docs/api.md#registry).

One core serves ``POST /v1/subjects``, ``POST /v1/relations`` and ``jrp import``: ``plan_*``
validate a batch of raw items against the state (``engine.batches``); ``upsert_subjects``
and ``record_relations`` store a batch whole or not at all.

Choices where the contract is silent (copied to the README):

- An item is the whole subject: an omitted ``region`` clears a stored one.
- An item identical to the stored subject appends no event and counts as neither created nor
  updated (``created + updated`` may be less than the number of items).
- The same id twice in one batch is refused (the later item is named): which one should win
  is not clear, so the client must say.
- A relation's identity is (org_id, person_id, role, start). Posting it again with another
  ``end`` records the end of that holding and counts as ``updated``; with the same ``end`` it
  appends nothing and counts as neither. The same identity twice in one batch is refused.
- Relations only name subjects already stored (earlier requests or import batches).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import structlog

from engine.batches import Counts, Plan, Problem, parse_item, write_batch
from engine.registry.identifiers import ID_NAMES, subject_id_problem
from engine.registry.schemas import RelationIn, SubjectIn
from engine.service import Service
from engine.state import RoleHolding, State, Subject
from engine.store.events import EventType, NewEvent
from engine.timing import china_today
from measures.schema import SubjectKind

log = structlog.get_logger(__name__)

MAX_ITEMS = 10_000
"""Items per HTTP request (contract: 1..10000)."""


def _checked_id(kind: SubjectKind, raw: str, today: dt.date) -> tuple[str, str | None, bool]:
    """(normalised id, problem or None, whether the id is a valid id of the other kind)."""
    problem = subject_id_problem(kind, raw, today=today)
    if problem is None:
        return raw.strip().upper(), None, False
    return "", problem, subject_id_problem(_other(kind), raw, today=today) is None


def _other(kind: SubjectKind) -> SubjectKind:
    return SubjectKind.person if kind is SubjectKind.org else SubjectKind.org


# --- subjects --------------------------------------------------------------------------------


def plan_subjects(
    state: State,
    rows: Sequence[Any],
    *,
    today: dt.date,
    actor: str | None = None,
    department: str | None = None,
) -> Plan:
    """Validate subject items against ``state``: one ``subject.upserted`` per new or changed one."""
    problems: list[Problem] = []
    events: list[NewEvent] = []
    created = updated = unchanged = 0
    first_index: dict[str, int] = {}
    for index, raw in enumerate(rows):
        item = parse_item(SubjectIn, raw, index, problems)
        if item is None:
            continue
        kind = SubjectKind(item.kind)
        subject_id, problem, other_kind = _checked_id(kind, item.id, today)
        if problem is not None:
            if other_kind:
                other = _other(kind)
                message = f"the id is a {ID_NAMES[other]}, so kind must be {other.value}"
                problems.append(Problem(index, "kind", message))
            else:
                problems.append(Problem(index, "id", problem))
            continue
        first = first_index.setdefault(subject_id, index)
        if first != index:
            message = "the same subject as {}: give each subject once"
            problems.append(Problem(index, "id", message, same_as=first))
            continue
        stored = state.subjects.get(subject_id)
        if stored is not None and stored.kind is not kind:
            message = (
                f"the subject is registered as {stored.kind.value}; a subject's kind cannot change"
            )
            problems.append(Problem(index, "kind", message))
            continue
        subject = Subject(subject_id, kind, item.name, item.region or None)
        if subject == stored:
            unchanged += 1
            continue
        if stored is None:
            created += 1
        else:
            updated += 1
        payload = {
            "id": subject_id,
            "kind": kind.value,
            "name": subject.name,
            "region": subject.region,
        }
        events.append(
            NewEvent(
                EventType.subject_upserted,
                payload,
                subject_id=subject_id,
                actor=actor,
                department=department,
            )
        )
    if problems:
        return Plan([], Counts(), problems)
    return Plan(events, Counts(created, updated, unchanged), [])


# --- relations -------------------------------------------------------------------------------


def _endpoint(
    state: State,
    raw: str,
    kind: SubjectKind,
    field: str,
    index: int,
    problems: list[Problem],
    today: dt.date,
) -> str | None:
    subject_id, problem, _ = _checked_id(kind, raw, today)
    if problem is not None:
        problems.append(Problem(index, field, problem))
        return None
    stored = state.subjects.get(subject_id)
    if stored is None:
        message = "unknown subject: register it first (POST /v1/subjects or jrp import subjects)"
        problems.append(Problem(index, field, message))
        return None
    if stored.kind is not kind:
        message = f"the subject is registered as {stored.kind.value}, not {kind.value}"
        problems.append(Problem(index, field, message))
        return None
    return subject_id


def _stored_holding(
    state: State, org_id: str, person_id: str, role: str, start: dt.date
) -> RoleHolding | None:
    for holding in state.graph.relations_of(org_id):
        if (holding.org_id, holding.person_id, holding.role, holding.start) == (
            org_id,
            person_id,
            role,
            start,
        ):
            return holding
    return None


def plan_relations(
    state: State,
    rows: Sequence[Any],
    *,
    roles: Mapping[str, str],
    today: dt.date,
    actor: str | None = None,
    department: str | None = None,
) -> Plan:
    """Validate relation items against ``state`` and the vocabulary's ``roles``."""
    problems: list[Problem] = []
    events: list[NewEvent] = []
    created = updated = unchanged = 0
    first_index: dict[tuple[str, str, str, dt.date], int] = {}
    for index, raw in enumerate(rows):
        item = parse_item(RelationIn, raw, index, problems)
        if item is None:
            continue
        before = len(problems)
        org_id = _endpoint(state, item.org_id, SubjectKind.org, "org_id", index, problems, today)
        person_id = _endpoint(
            state, item.person_id, SubjectKind.person, "person_id", index, problems, today
        )
        if item.role not in roles:
            known = ", ".join(sorted(roles)) or "none"
            message = f"unknown role {item.role!r}; the policy's roles: {known}"
            problems.append(Problem(index, "role", message))
        if item.end is not None and item.end < item.start:
            message = f"{item.end.isoformat()} is before start {item.start.isoformat()}"
            problems.append(Problem(index, "end", message))
        if len(problems) > before or org_id is None or person_id is None:
            continue
        key = (org_id, person_id, item.role, item.start)
        first = first_index.setdefault(key, index)
        if first != index:
            message = "the same holding (org_id, person_id, role, start) as {}: give each once"
            problems.append(Problem(index, "", message, same_as=first))
            continue
        stored = _stored_holding(state, *key)
        if stored is not None and stored.end == item.end:
            unchanged += 1
            continue
        if stored is None:
            created += 1
        else:
            updated += 1
        payload = {
            "org_id": org_id,
            "person_id": person_id,
            "role": item.role,
            "start": item.start.isoformat(),
            "end": None if item.end is None else item.end.isoformat(),
        }
        # Filed under the org: a relation is part of the org's register (企业登记).
        events.append(
            NewEvent(
                EventType.relation_recorded,
                payload,
                subject_id=org_id,
                actor=actor,
                department=department,
            )
        )
    if problems:
        return Plan([], Counts(), problems)
    return Plan(events, Counts(created, updated, unchanged), [])


# --- the write path --------------------------------------------------------------------------


def upsert_subjects(
    service: Service,
    rows: Sequence[Any],
    *,
    actor: str | None = None,
    department: str | None = None,
    dry_run: bool = False,
) -> Counts:
    """Store subjects all or nothing, or raise ``Rejected``; ``dry_run`` only validates."""

    def plan(state: State) -> Plan:
        return plan_subjects(state, rows, today=china_today(), actor=actor, department=department)

    return write_batch(
        service, len(rows), plan, dry_run=dry_run, stored="registry.subjects_upserted", actor=actor
    )


def record_relations(
    service: Service,
    rows: Sequence[Any],
    *,
    actor: str | None = None,
    department: str | None = None,
    dry_run: bool = False,
) -> Counts:
    """Store role holdings all or nothing, or raise ``Rejected``; ``dry_run`` only validates."""

    def plan(state: State) -> Plan:
        # The policy at the state's position, under the log lock: the roles a reload left.
        roles = service.policy.bundle.vocabulary.roles
        return plan_relations(
            state, rows, roles=roles, today=china_today(), actor=actor, department=department
        )

    return write_batch(
        service, len(rows), plan, dry_run=dry_run, stored="registry.relations_recorded", actor=actor
    )
