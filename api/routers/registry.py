"""The registry: subjects and role holdings (role ``registrar``), and one subject's page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel

from api.deps import AnyCaller, Registrar, ServiceDep
from engine.registry import service as registry
from engine.registry.schemas import (
    RelationIn,
    RelationsStored,
    SubjectDetail,
    SubjectIn,
    SubjectsStored,
)
from engine.registry.service import MAX_ITEMS
from engine.registry.views import subject_detail

router = APIRouter(prefix="/v1", tags=["registry"])


def _array_body(model: type[BaseModel]) -> dict[str, Any]:
    # The handlers take the raw array so the engine can name every bad item at once (FastAPI
    # would stop at the shape errors); this puts the item schema back into /docs.
    schema = {
        "type": "array",
        "items": model.model_json_schema(),
        "minItems": 1,
        "maxItems": MAX_ITEMS,
    }
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


Items = Annotated[list[Any], Body(min_length=1, max_length=MAX_ITEMS)]


@router.post(
    "/subjects",
    summary="Register or update subjects (all or nothing)",
    openapi_extra=_array_body(SubjectIn),
)
def post_subjects(items: Items, service: ServiceDep, caller: Registrar) -> SubjectsStored:
    """Upsert 1..10000 subjects by id; ids are checked (check characters included) and stored
    upper-case.

    One bad item rejects the whole array: 422 with one detail per problem, naming
    `items[i].id`, `items[i].kind`, ... A kind that does not fit the id, and a change of a stored
    subject's kind, are named on `items[i].kind`; the same id twice is named on the later item.
    An item replaces the stored subject (an omitted `region` clears it). An item identical to
    the stored subject stores nothing and counts as neither created nor updated.
    """
    counts = registry.upsert_subjects(
        service, items, actor=caller.name, department=caller.department
    )
    return SubjectsStored(created=counts.created, updated=counts.updated)


@router.post(
    "/relations",
    summary="Record who holds which role in which org (all or nothing)",
    openapi_extra=_array_body(RelationIn),
)
def post_relations(items: Items, service: ServiceDep, caller: Registrar) -> RelationsStored:
    """Record 1..10000 role holdings; both subjects must be stored, `org_id` an org and
    `person_id` a person, `role` a role of the policy vocabulary, `end` not before `start`.

    A role is held from `start` through `end`, both included; `end` null or omitted: still
    held. A holding is identified by (org_id, person_id, role, start): posting it again with
    another `end` records that end (counted in `updated`); with the same `end` it stores nothing
    and counts in neither. One bad item rejects the whole array (422 naming `items[i].field`).
    """
    counts = registry.record_relations(
        service, items, actor=caller.name, department=caller.department
    )
    return RelationsStored(created=counts.created, updated=counts.updated)


@router.get("/subjects/{id}", summary="A subject, its relations and the entries that concern it")
def get_subject(
    service: ServiceDep,
    caller: AnyCaller,
    subject_id: Annotated[str, Path(alias="id", max_length=64)],
) -> SubjectDetail:
    """Any role. `relations`: every holding of the subject at any date. `entries`: its own
    entries with their status today (China time), in registration order. `reaching_entries`:
    entries of the subjects on the other side of its holdings that reach it through a measure's
    `propagate` (as a check today would judge the holding), whatever their status, each with
    `via`. 404 `unknown_subject` for a well-formed id nobody registered; 422 for a malformed one.

    Persons' ids and names are whole only for `registrar`, `credit_office` and `auditor`;
    other callers get `440106********0115` and `张*` everywhere in the answer. Every answer
    holding a person's data is recorded (`GET /v1/audit/access`).
    """
    detail = subject_detail(
        service,
        subject_id,
        caller=caller.name,
        department=caller.department,
        roles=[role.value for role in caller.roles],
    )
    return SubjectDetail.model_validate(detail)
