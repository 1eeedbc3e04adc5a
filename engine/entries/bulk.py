"""``jrp import entries``: list entries in atomic batches, as ``POST /v1/entries`` registers them.

A batch is validated whole against the state and the policy in force, and its events
(subjects registered with their first entry, entries with what they trigger, derived entries)
are appended in one ``Service.write``: stored whole or not at all. Entries earlier in the
batch count for the later ones (a subject's third penalty in one batch derives like the third
penalty in three requests).

Choices (copied to the README by the lead):

- The initiating department is ``--department`` for every line, or, without it, each line's
  ``department`` field (a credit platform importing for many departments). Either way it must
  own the line's list, as for ``POST /v1/entries``.
- An entry's id is derived from (list, subject, department, doc_no, decided_on), so importing
  a file again (after an interruption, say) registers nothing twice: a line whose entry is
  stored already counts as ``unchanged``; the same key with other content is a problem, since
  an import never changes a stored entry. The same key twice in one batch is refused.
"""

from __future__ import annotations

import json
import uuid
from collections import ChainMap
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import structlog

from engine.batches import Counts, Plan, Problem, parse_item, problems_of, write_batch
from engine.entries.registration import build_entry, registration_events, same_entry
from engine.entries.schemas import EntryCreate
from engine.errors import InvalidRequest
from engine.service import Service
from engine.state import Entry, State, Subject
from engine.store.events import EventType, NewEvent
from measures.schema import SubjectKind

log = structlog.get_logger(__name__)

ENTRY_ID_NAMESPACE = uuid.UUID("6f1c9f4e-8f0a-4f55-9a47-6a7270656e74")
"""uuid5 namespace of imported entries' ids (fixed forever: ids must stay the same)."""


class EntryLine(EntryCreate):
    """One line of ``jrp import entries``: a ``POST /v1/entries`` body, plus its department."""

    department: str | None = None


def imported_entry_id(line: EntryLine, *, subject_id: str, department: str) -> str:
    """The id an imported line's entry gets: the same line always gives the same id."""
    key = "\x1f".join((line.list, subject_id, department, line.doc_no, line.decided_on.isoformat()))
    return str(uuid.uuid5(ENTRY_ID_NAMESPACE, key))


class _BatchView:
    """The state as it will be once the batch's earlier events are applied (nothing is, yet)."""

    def __init__(self, state: State) -> None:
        self._state = state
        self.subjects: ChainMap[str, Subject] = ChainMap({}, state.subjects)
        self._entries: dict[str, list[Entry]] = {}

    def entries_of(self, subject_id: str) -> list[Entry]:
        return [*self._state.entries_of(subject_id), *self._entries.get(subject_id, ())]

    def add(self, events: Sequence[NewEvent]) -> None:
        for event in events:
            payload = event.payload
            if event.type is EventType.subject_upserted:
                self.subjects[payload["id"]] = Subject(
                    payload["id"], SubjectKind(payload["kind"]), payload.get("name"), None
                )
            elif event.type is EventType.entry_registered:
                entry = Entry.from_payload(payload["entry"], seq=0)
                self._entries.setdefault(entry.subject_id, []).append(entry)


def import_rows(
    service: Service,
    rows: Sequence[Any],
    *,
    actor: str | None = None,
    department: str | None = None,
    dry_run: bool = False,
) -> Counts:
    """Register entries all or nothing, or raise ``Rejected``; ``dry_run`` only validates."""

    def plan(state: State) -> Plan:
        return _plan(service, state, rows, department=department, actor=actor)

    return write_batch(
        service, len(rows), plan, dry_run=dry_run, stored="entries.imported", actor=actor
    )


def _plan(
    service: Service,
    state: State,
    rows: Sequence[Any],
    *,
    department: str | None,
    actor: str | None,
) -> Plan:
    policy = service.policy
    bundle, runtime = policy.bundle, policy.runtime
    view = _BatchView(state)
    problems: list[Problem] = []
    events: list[NewEvent] = []
    created = unchanged = 0
    first_index: dict[str, int] = {}
    for index, raw in enumerate(rows):
        line = _parse(raw, index, problems)
        if line is None:
            continue
        owner = department or line.department
        if owner is None:
            problems.append(Problem(index, "department", "give --department or a department"))
            continue
        if department is not None and line.department not in (None, department):
            message = f"the line says {line.department}, --department says {department}"
            problems.append(Problem(index, "department", message))
            continue
        definition = bundle.vocabulary.lists.get(line.list)
        if definition is not None and owner not in definition.owners:
            message = f"department {owner} does not own the list {line.list}"
            problems.append(Problem(index, "department", message))
            continue
        try:
            entry = build_entry(line, bundle=bundle, department=owner, entry_id="-")
            entry_id = imported_entry_id(line, subject_id=entry.subject_id, department=owner)
            entry = replace(entry, id=entry_id)
        except InvalidRequest as exc:
            problems.extend(problems_of(index, exc))
            continue
        first = first_index.setdefault(entry.id, index)
        if first != index:
            message = "the same entry (list, subject, department, doc_no, decided_on) as {}"
            problems.append(Problem(index, "", message, same_as=first))
            continue
        # By id (an earlier import), or by key (the entry registered over HTTP, another id).
        stored = state.entries.get(entry.id) or same_entry(state, entry)
        if stored is not None:
            if _differs(stored, entry):
                message = f"entry {entry.id} is stored with other content; imports never change it"
                problems.append(Problem(index, "", message))
            else:
                unchanged += 1
            continue
        try:
            new = registration_events(view, bundle, runtime, entry, subject_name=line.subject_name)
        except InvalidRequest as exc:
            problems.extend(problems_of(index, exc))
            continue
        view.add(new)
        events.extend(new)
        created += 1
    if problems:
        return Plan([], Counts(), problems)
    if actor is not None:
        events = [
            NewEvent(e.type, e.payload, e.subject_id, actor=actor, department=e.department)
            for e in events
        ]
    return Plan(events, Counts(created=created, unchanged=unchanged), [])


def _parse(raw: Any, index: int, problems: list[Problem]) -> EntryLine | None:
    attributes = raw.get("attributes") if isinstance(raw, Mapping) else None
    if isinstance(attributes, str):  # a CSV cell holding a JSON object
        try:
            raw = {**raw, "attributes": json.loads(attributes)}
        except json.JSONDecodeError as exc:
            problems.append(Problem(index, "attributes", f"not a JSON object: {exc.msg}"))
            return None
    return parse_item(EntryLine, raw, index, problems)


def _differs(stored: Entry, entry: Entry) -> bool:
    mine = entry.to_payload()
    theirs = stored.to_payload()
    return any(mine[key] != theirs[key] for key in mine if key not in ("id",))
