"""Stored answers to ``Idempotency-Key`` requests, so a retry is recognised even after a restart."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.store.tables import JsonColumn, UtcDateTime, utcnow


class IdempotencyRecord(SQLModel, table=True):
    """The first answer given to (caller, key), with a digest of the request body."""

    __tablename__ = "idempotency_key"

    caller: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
    key: str = Field(sa_column=sa.Column(sa.String(200), primary_key=True))
    request_sha256: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    response: dict[str, Any] = Field(sa_column=sa.Column(JsonColumn, nullable=False))
    created_at: dt.datetime = Field(
        default_factory=utcnow, sa_column=sa.Column(UtcDateTime(), nullable=False)
    )


def request_digest(body: Any) -> str:
    """SHA-256 of a canonical JSON encoding: the same body in any key order is the same request."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
