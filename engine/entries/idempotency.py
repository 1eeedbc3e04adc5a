"""``Idempotency-Key`` requests: the digest a stored first answer is matched by.

The answers live in ``engine.store.tables.IdempotencyRecord`` (they survive a restart)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from engine.decisions.canonical import dumps_sorted
from engine.errors import Code, Conflict
from engine.service import Service
from engine.state import State
from engine.store.events import NewEvent
from engine.store.tables import IdempotencyRecord


def request_digest(body: Any) -> str:
    """SHA-256 of a canonical JSON encoding: the same body in any key order is the same request."""
    return hashlib.sha256(dumps_sorted(body).encode("utf-8")).hexdigest()


def stored_answer(session: Session, caller: str, key: str, digest: str) -> dict[str, Any] | None:
    """The first answer to (caller, key), None when there is none; 409 when the key was used
    with another body."""
    record = session.get(IdempotencyRecord, (caller, key))
    if record is None:
        return None
    if record.request_sha256 != digest:
        raise Conflict(
            "this Idempotency-Key was used with another request body",
            code=Code.idempotency_conflict,
            details=[{"field": "Idempotency-Key", "message": "already used with another body"}],
        )
    return dict(record.response)


def idempotent_write(
    service: Service,
    caller_name: str,
    key: str | None,
    request: dict[str, Any],
    build: Callable[[Session, State], tuple[list[NewEvent], dict[str, Any]]],
) -> dict[str, Any]:
    """``service.write`` the events ``build`` returns and answer its body, stored under
    (caller, ``key``) in the same transaction; a repeat of ``key`` with the same ``request``
    returns the first answer and writes nothing, with another request 409."""
    digest = request_digest(request)
    answer: dict[str, Any] = {}

    def write(session: Session, state: State) -> list[NewEvent]:
        if key is not None:
            stored = stored_answer(session, caller_name, key, digest)
            if stored is not None:
                answer.update(stored)
                return []
        new, body = build(session, state)
        answer.update(body)
        if key is not None:
            session.add(
                IdempotencyRecord(caller=caller_name, key=key, request_sha256=digest, response=body)
            )
        return new

    service.write(write)
    return answer
