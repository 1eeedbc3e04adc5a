"""``GET /v1/exchange/events``: this instance's entry events as a paged feed, each page proven
against a signed checkpoint of the event log (docs/exchange.md#the-feed-get-v1exchangeevents).

Every record of the page's range is served with its chain hashes, so the receiver sees that
none is missing, and one range proof shows them all to be the leaves of the signed tree
(``engine.exchange.range_proof``); only the entry events of exportable lists carry their
content.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.decisions.canonical import canonical_time
from engine.errors import Code, NotFound
from engine.exchange.range_proof import range_proof
from engine.service import Service
from engine.state import State
from engine.store.events import EVENT_TABLE, EventType
from engine.store.tables import CHECKPOINT_TABLE
from engine.verifiable.merkle import consistency_proof
from engine.verifiable.tiles import TileReader

MAX_LIMIT = 1000
DEFAULT_LIMIT = 500

ENTRY_STEPS = frozenset(
    {
        EventType.entry_revoked.value,
        EventType.objection_raised.value,
        EventType.objection_resolved.value,
        EventType.entry_repaired.value,
    }
)
"""The lifecycle steps of an entry that travel (with ``entry.registered``)."""

_E = EVENT_TABLE.c
_cp = CHECKPOINT_TABLE.c


def exported_list(state: State, event_type: str, payload: dict[str, Any]) -> str | None:
    """The list of the entry an event registers or changes; None for any other event."""
    if event_type == EventType.entry_registered.value:
        return str(payload["entry"]["list"])
    if event_type in ENTRY_STEPS:
        entry = state.entries.get(payload["entry_id"])
        return None if entry is None or entry.origin is not None else entry.list
    return None


def feed_page(
    service: Service, *, after: int, limit: int, known_size: int, region: str | None
) -> dict[str, Any]:
    """One page of the feed (docs/exchange.md); 404 ``no_signing_key`` when unsigned."""
    verifiable = service.verifiable
    if not verifiable.signing:
        raise NotFound(
            "this service signs no checkpoints, so its exchange feed cannot be verified: "
            "start it with --signing-key",
            code=Code.no_signing_key,
        )
    verifiable.checkpoint_now()  # a page is never older than the request
    # After the checkpoint: the state then knows every entry the page's events name (a
    # step of an entry registered after an earlier catch-up would pass for another event).
    service.catch_up()
    exchange = service.policy.bundle.exchange
    exports = sorted(set(exchange.exports)) if exchange is not None else []
    with service.engine.connect() as connection:
        checkpoint = connection.execute(
            sa.select(CHECKPOINT_TABLE).where(_cp.log == "events").order_by(_cp.id.desc()).limit(1)
        ).first()
        if checkpoint is None:
            raise NotFound("no checkpoint of the events log yet", code=Code.no_checkpoint)
        size, covered = int(checkpoint.size), int(checkpoint.last_seq)
        first_index = int(
            connection.execute(
                sa.select(sa.func.count()).select_from(EVENT_TABLE).where(_E.seq <= after)
            ).scalar_one()
        )
        rows = connection.execute(
            sa.select(_E.seq, _E.type, _E.subject_id, _E.payload, _E.actor, _E.department,
                      _E.recorded_at, _E.prev_hash, _E.hash)
            .where(_E.seq > after, _E.seq <= covered)
            .order_by(_E.seq)
            .limit(limit)
        ).all()  # fmt: skip
        records = _records(service.state, rows, set(exports))
        proven, consistent = _proofs(connection, first_index, len(records), size, known_size)
    more = bool(rows) and int(rows[-1].seq) < covered
    return {
        "instance": {"key_id": verifiable.key_id, "region": region},
        "after": after,
        "first_index": first_index,
        "upto": int(rows[-1].seq) if rows else after,
        "more": more,
        "checkpoint": {
            "log": checkpoint.log,
            "size": size,
            "root_hash": checkpoint.root_hash,
            "timestamp": checkpoint.timestamp,
            "key_id": checkpoint.key_id,
            "signature": checkpoint.signature,
        },
        "consistency": consistent,
        "range_proof": proven,
        "exports": exports,
        "records": records,
    }


def _records(state: State, rows: Sequence[Any], exports: set[str]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    with state.lock:
        for row in rows:
            record: dict[str, Any] = {
                "seq": int(row.seq),
                "prev_hash": row.prev_hash,
                "hash": row.hash,
            }
            list_code = exported_list(state, row.type, row.payload)
            if list_code in exports:
                record["list"] = list_code  # for the receiver's mapping; not hashed
                record["event"] = {
                    "type": row.type,
                    "subject_id": row.subject_id,
                    "payload": row.payload,
                    "actor": row.actor,
                    "department": row.department,
                    "recorded_at": canonical_time(row.recorded_at),
                }
            records.append(record)
    return records


def _proofs(
    connection: Connection, first_index: int, count: int, size: int, known_size: int
) -> tuple[list[str], list[str]]:
    """The range proof of the page's records; the consistency proof from ``known_size``."""

    def compute(tiles: Any) -> tuple[list[bytes], list[bytes]]:
        proven = range_proof(tiles, first_index, first_index + count, size) if count else []
        consistent = consistency_proof(tiles, known_size, size) if 0 < known_size < size else []
        return proven, consistent

    proven, consistent = TileReader(connection, "events").read(compute)
    return [node.hex() for node in proven], [node.hex() for node in consistent]
