"""``Idempotency-Key`` requests: the digest a stored first answer is matched by.

The answers live in ``engine.store.tables.IdempotencyRecord`` (they survive a restart)."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlmodel import Session

from engine.decisions.canonical import dumps_sorted
from engine.errors import Code, Conflict
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
