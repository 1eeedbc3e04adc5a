"""Batches of items validated whole and stored all or nothing, with every problem named.

``POST /v1/subjects``, ``POST /v1/relations`` and ``jrp import`` (subjects, relations,
entries) share this shape: a planner validates raw items (JSON values or CSV rows) against
the state and returns the events to append or every problem with its item's index; the
write runs the planner inside ``Service.write`` (judged against every event committed
before it) and raises ``Rejected`` when anything is wrong, so nothing of a bad batch is
stored. The HTTP API names an item ``items[3]``, the import ``FILE:LINE``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlmodel import Session

from engine.errors import InvalidRequest, validation_details
from engine.state import State
from engine.store.events import NewEvent

if TYPE_CHECKING:
    from engine.service import Service

log = structlog.get_logger(__name__)


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


def parse_item(model: type[_M], raw: Any, index: int, problems: list[Problem]) -> _M | None:
    """``raw`` as a ``model``, or None with its problems appended (fields named)."""
    if not isinstance(raw, Mapping):
        problems.append(Problem(index, "", "must be a JSON object"))
        return None
    try:
        return model.model_validate(raw)
    except PydanticValidationError as exc:
        for detail in validation_details(exc.errors(include_url=False), whole=""):
            problems.append(Problem(index, detail["field"], detail["message"]))
        return None


def problems_of(index: int, error: InvalidRequest) -> list[Problem]:
    """An item's ``InvalidRequest`` as problems of that item (one per detail)."""
    if not error.details:
        return [Problem(index, "", error.message)]
    return [
        Problem(index, str(d.get("field", "")), str(d.get("message", error.message)))
        for d in error.details
    ]


def write_batch(
    service: Service,
    total: int,
    plan: Callable[[State], Plan],
    *,
    dry_run: bool,
    stored: str,
    actor: str | None,
) -> Counts:
    """Append what ``plan`` plans in one transaction, or raise ``Rejected``; ``dry_run``
    only validates. A stored batch is logged as the event ``stored`` with its counts."""
    done: list[Counts] = []

    def build(_session: Session, state: State) -> list[NewEvent]:
        planned = plan(state)
        if planned.problems:
            raise Rejected(planned.problems, total=total)
        done.append(planned.counts)
        return [] if dry_run else planned.events

    service.write(build)
    counts = done[0]
    if not dry_run:
        log.info(
            stored,
            created=counts.created,
            updated=counts.updated,
            unchanged=counts.unchanged,
            actor=actor,
        )
    return counts
