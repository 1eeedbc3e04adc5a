"""The registry: subjects, and who holds which role in which org (contract/api.md, "Registry").

One core serves ``POST /v1/subjects``, ``POST /v1/relations`` and ``jrp import``: ``plan_*``
validate a batch of raw items (JSON values or CSV rows) against the state and return either
the events to append or every problem with the item's index; ``upsert_subjects`` and
``record_relations`` run them inside ``Service.write``, so a batch is stored whole or not at
all, judged against every event committed before it.

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
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import structlog
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError
from sqlmodel import Session

from engine.checks.evaluation import Via, counterparts, propagates
from engine.entries.registration import entry_view
from engine.errors import InvalidRequest, NotFound
from engine.policy.runtime import PolicyRuntime
from engine.registry.identifiers import china_today, subject_id_problem
from engine.service import Service
from engine.state import Entry, State, Subject
from engine.state.graph import RoleHolding
from engine.store.events import EventType, NewEvent
from engine.store.portable import refuse_nul
from measures.schema import SubjectKind

log = structlog.get_logger(__name__)

MAX_ITEMS = 10_000
"""Items per HTTP request (contract: 1..10000)."""

_ID_NAMES = {SubjectKind.org: "统一社会信用代码", SubjectKind.person: "公民身份号码"}
_OTHER = {SubjectKind.org: SubjectKind.person, SubjectKind.person: SubjectKind.org}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    # The contract's dates are YYYY-MM-DD; pydantic alone would also take Unix timestamps.
    if isinstance(value, dt.datetime):
        raise PydanticCustomError("date_format", "must be a date YYYY-MM-DD, not a time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise PydanticCustomError(
                "date_value", "{value} is not a calendar date", {"value": value.strip()}
            ) from None
    raise PydanticCustomError("date_format", "must be a date YYYY-MM-DD")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
IdText = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(refuse_nul),
]
Region = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=100), AfterValidator(refuse_nul)
]
RoleCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class SubjectIn(BaseModel):
    """One item of ``POST /v1/subjects`` (and one line of ``jrp import subjects``)."""

    model_config = ConfigDict(extra="forbid")

    id: IdText = Field(description="统一社会信用代码 (org) or 公民身份号码 (person); any case")
    kind: Literal["org", "person"]
    name: Name
    region: Region | None = Field(
        default=None, description="free text, e.g. an administrative division code; omitted: none"
    )


class RelationIn(BaseModel):
    """One item of ``POST /v1/relations`` (and one line of ``jrp import relations``)."""

    model_config = ConfigDict(extra="forbid")

    org_id: IdText = Field(description="a stored org's 统一社会信用代码")
    person_id: IdText = Field(description="a stored person's 公民身份号码")
    role: RoleCode = Field(description="a role code of the policy vocabulary")
    start: IsoDate = Field(description="first day the role is held")
    end: IsoDate | None = Field(
        default=None,
        description="last day the role is held (included); null or omitted: still held",
    )


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong with one item of a batch; ``field`` is empty when it is the whole item."""

    index: int
    field: str
    message: str
    same_as: int | None = None
    """For a repeated item: the index of the earlier one (the message has a ``{}`` for it)."""

    def describe(self, ref: Callable[[int], str]) -> str:
        """The message, with the earlier item of a repeat named by ``ref(index)``."""
        return self.message if self.same_as is None else self.message.format(ref(self.same_as))


def item_ref(index: int) -> str:
    """How the HTTP API names an item of an array body: ``items[3]``."""
    return f"items[{index}]"


class Rejected(InvalidRequest):
    """A batch with invalid items: nothing of it was stored; ``problems`` name every bad item."""

    def __init__(self, problems: Sequence[Problem], *, total: int) -> None:
        bad = len({problem.index for problem in problems})
        details = [
            {
                "field": item_ref(p.index) + (f".{p.field}" if p.field else ""),
                "message": p.describe(item_ref),
            }
            for p in problems
        ]
        super().__init__(f"{bad} of {total} items are invalid; nothing was stored", details=details)
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class Counts:
    """What a batch did: new records, changed records, and items identical to what is stored."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    """The events a batch appends and what they count, or the batch's problems."""

    events: list[NewEvent]
    counts: Counts
    problems: list[Problem]


_M = TypeVar("_M", bound=BaseModel)


def _parse(model: type[_M], raw: Any, index: int, problems: list[Problem]) -> _M | None:
    if not isinstance(raw, Mapping):
        problems.append(Problem(index, "", "must be a JSON object"))
        return None
    try:
        return model.model_validate(raw)
    except PydanticValidationError as exc:
        for error in exc.errors(include_url=False):
            field = ".".join(str(part) for part in error["loc"])
            problems.append(Problem(index, field, str(error["msg"])))
        return None


def _checked_id(kind: SubjectKind, raw: str, today: dt.date) -> tuple[str, str | None, bool]:
    """(normalised id, problem or None, whether the id is a valid id of the other kind)."""
    literal: Literal["org", "person"] = "org" if kind is SubjectKind.org else "person"
    problem = subject_id_problem(literal, raw, today=today)
    if problem is None:
        return raw.strip().upper(), None, False
    other: Literal["org", "person"] = "person" if literal == "org" else "org"
    return "", problem, subject_id_problem(other, raw, today=today) is None


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
        item = _parse(SubjectIn, raw, index, problems)
        if item is None:
            continue
        kind = SubjectKind(item.kind)
        subject_id, problem, other_kind = _checked_id(kind, item.id, today)
        if problem is not None:
            if other_kind:
                other = _OTHER[kind]
                message = f"the id is a {_ID_NAMES[other]}, so kind must be {other.value}"
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
        item = _parse(RelationIn, raw, index, problems)
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


def _write(service: Service, total: int, plan: Callable[[State], Plan], *, dry_run: bool) -> Counts:
    done: list[Counts] = []

    def build(_session: Session, state: State) -> list[NewEvent]:
        planned = plan(state)
        if planned.problems:
            raise Rejected(planned.problems, total=total)
        done.append(planned.counts)
        return [] if dry_run else planned.events

    service.write(build)
    return done[0]


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

    counts = _write(service, len(rows), plan, dry_run=dry_run)
    if not dry_run:
        log.info(
            "registry.subjects_upserted",
            created=counts.created,
            updated=counts.updated,
            unchanged=counts.unchanged,
            actor=actor,
        )
    return counts


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

    counts = _write(service, len(rows), plan, dry_run=dry_run)
    if not dry_run:
        log.info(
            "registry.relations_recorded",
            created=counts.created,
            updated=counts.updated,
            unchanged=counts.unchanged,
            actor=actor,
        )
    return counts


# --- reading ---------------------------------------------------------------------------------


def lookup_id(raw: str, *, today: dt.date | None = None) -> str:
    """The id upper-cased, or 422 when it is valid as neither an org code nor a citizen number."""
    day = today or china_today()
    found: list[str] = []
    for kind in (SubjectKind.org, SubjectKind.person):
        subject_id, problem, _ = _checked_id(kind, raw, day)
        if problem is None:
            return subject_id
        found.append(problem)
    org_problem, person_problem = found
    # A wrong length or character reads the same for both kinds: say it once.
    message = (
        org_problem
        if org_problem == person_problem
        else f"as a {_ID_NAMES[SubjectKind.org]}: {org_problem}; "
        f"as a {_ID_NAMES[SubjectKind.person]}: {person_problem}"
    )
    raise InvalidRequest(
        "id is neither a valid 统一社会信用代码 nor a valid 公民身份号码",
        details=[{"field": "id", "message": message}],
    )


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


def subject_detail(service: Service, raw_id: str) -> dict[str, Any]:
    """``GET /v1/subjects/{id}``: the subject, its relations, its entries and those reaching it."""
    subject_id = lookup_id(raw_id)
    service.catch_up()  # read-your-writes across workers
    today = china_today()
    with service.state.lock:
        state = service.state
        subject = state.subjects.get(subject_id)
        if subject is None:
            raise NotFound("no subject with this id is registered", code="unknown_subject")
        policy = service.policy
        roles = policy.bundle.vocabulary.roles
        reaching = reaching_entries(state, policy.runtime, subject, today)
        return {
            "id": subject.id,
            "kind": subject.kind.value,
            "name": subject.name,
            "region": subject.region,
            "relations": [_relation_view(h, roles) for h in state.graph.relations_of(subject.id)],
            "entries": [entry_view(e, today=today) for e in state.entries_of(subject.id)],
            "reaching_entries": [
                {**entry_view(entry, today=today), "via": via.to_dict()} for entry, via in reaching
            ],
        }
