"""The decision-hit index: one row per (entry, decision) that had a hit from the entry.

Rows are written by the decision writer in the same transaction as their batch (SQLite and
the locking path: ``hit_rows`` here, one executemany; PostgreSQL's one-statement batch: the
same rows computed by the server in ``engine.store.pg_append``). ``rebuild`` recomputes the
whole index from the decision log (the log is the source; the index is a cache of it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection

from engine.store.dialect import dialect_of
from engine.store.tables import DECISION_HIT_TABLE, DECISION_TABLE

log = structlog.get_logger(__name__)

_D = DECISION_TABLE.c


def hit_rows(seq: int, department: str, response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The index rows of one decision: per entry with hits, its distinct measure ids (sorted)."""
    by_entry: dict[str, set[str]] = {}
    hits = response.get("hits")
    if not isinstance(hits, list):
        return []
    for hit in hits:
        if isinstance(hit, Mapping) and isinstance(hit.get("entry_id"), str):
            by_entry.setdefault(hit["entry_id"], set()).add(str(hit.get("measure_id")))
    return [
        {
            "entry_id": entry_id,
            "decision_seq": seq,
            "department": department,
            "measure_ids": sorted(measures),
        }
        for entry_id, measures in by_entry.items()
    ]


def insert_hits(connection: Connection, rows: Iterable[dict[str, Any]]) -> int:
    """Insert index rows (one executemany); how many."""
    batch = list(rows)
    if batch:
        dialect_of(connection).insert_rows(connection, DECISION_HIT_TABLE, batch)
    return len(batch)


def rebuild(connection: Connection, *, chunk: int = 5000) -> int:
    """Recompute the whole index from the decision log in ``connection``'s transaction;
    returns the number of index rows."""
    connection.execute(DECISION_HIT_TABLE.delete())
    after = 0
    total = 0
    while True:
        rows = connection.execute(
            sa.select(_D.seq, _D.department, _D.response)
            .where(_D.seq > after)
            .order_by(_D.seq)
            .limit(chunk)
        ).all()
        if not rows:
            break
        total += insert_hits(
            connection,
            (
                hit
                for seq, department, response in rows
                for hit in hit_rows(seq, department, response)
            ),
        )
        after = int(rows[-1][0])
    log.info("decision_hit.rebuilt", rows=total)
    return total
