"""The event log's hash chain: ``hash = sha256(prev_hash + canonical(record))``, as decisions.

``canonical(record)`` is the sorted, space-free JSON (``engine.decisions.canonical``'s
encoder, numbers normalised the same way) of every stored field but ``hash``: ``seq``,
``type``, ``subject_id``, ``payload``, ``actor``, ``department``, ``recorded_at`` (UTC,
microseconds, ``+00:00``) and ``prev_hash``; the genesis ``prev_hash`` is 64 zeros.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from engine.decisions.canonical import (
    GENESIS_HASH,
    canonical_time,
    chain_hash,
    dumps_sorted,
    field_reader,
    normalise_json,
)

__all__ = ["GENESIS_HASH", "canonical_event", "event_hash", "stored_event_hash"]


def canonical_event(
    *,
    seq: int,
    type: str,
    subject_id: str | None,
    payload: Any,
    actor: str | None,
    department: str | None,
    recorded_at: dt.datetime,
    prev_hash: str,
) -> bytes:
    """The bytes an event's hash is computed over."""
    record = {
        "seq": int(seq),
        "type": type,
        "subject_id": subject_id,
        "payload": normalise_json(payload),
        "actor": actor,
        "department": department,
        "recorded_at": canonical_time(recorded_at),
        "prev_hash": prev_hash,
    }
    return dumps_sorted(record).encode("utf-8")


def event_hash(prev_hash: str, **fields: Any) -> str:
    """The hash of one event chained after ``prev_hash`` (fields as ``canonical_event``)."""
    return chain_hash(prev_hash, canonical_event(prev_hash=prev_hash, **fields))


def stored_event_hash(row: Mapping[str, Any] | Any) -> str:
    """An event row's hash recomputed from its stored fields (a mapping or an object)."""
    get = field_reader(row)
    return event_hash(
        get("prev_hash"),
        seq=get("seq"),
        type=get("type"),
        subject_id=get("subject_id"),
        payload=get("payload"),
        actor=get("actor"),
        department=get("department"),
        recorded_at=get("recorded_at"),
    )
