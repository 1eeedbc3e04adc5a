"""Verify the decision chain: every record re-hashed, every link and position checked."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from engine.decisions.canonical import GENESIS_HASH, record_hash
from engine.store.tables import DECISION_TABLE

_seq = DECISION_TABLE.c.seq  # lower case: a column, and ruff takes upper case for a literal


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Whether the chain is intact, how many records it holds, and where it first breaks."""

    ok: bool
    length: int
    first_bad_seq: int | None

    def to_dict(self) -> dict[str, Any]:
        """``GET /v1/audit/verify``'s body."""
        return {"ok": self.ok, "length": self.length, "first_bad_seq": self.first_bad_seq}


@dataclass(frozen=True, slots=True)
class _Unreadable:
    """A row the database holds but its column types cannot decode (written by hand)."""

    seq: int


def verify(engine: Engine, *, batch_size: int = 1000) -> VerifyResult:
    """Stream the chain in seq order and check it; ``first_bad_seq`` is the first broken position.

    Position p (1-based) is bad when no record has seq p there (deleted, or a gap), or the
    record's ``prev_hash`` is not the hash of position p-1 (genesis: 64 zeros), or its
    ``hash`` is not the hash recomputed from its fields. That catches a modified field
    (at that record), a deleted middle record (at its position), an inserted one (at it, or at
    the record after it when the forger hashed it correctly) and swapped contents (the seq is
    hashed). What a chain alone cannot catch: deleting the last records, or appending
    well-formed ones at the end; guarding the head needs the head hash kept elsewhere
    (e.g. published or anchored periodically). ``length`` counts every record present.
    """
    expected, prev_hash, length = 1, GENESIS_HASH, 0
    first_bad: int | None = None
    with engine.connect() as connection:
        for row in _rows(connection, batch_size):
            length += 1
            if first_bad is not None:
                continue
            if row.seq != expected:
                first_bad = expected
            elif isinstance(row, _Unreadable) or not _intact(row, prev_hash):
                first_bad = row.seq
            else:
                prev_hash = row.hash
                expected += 1
    return VerifyResult(ok=first_bad is None, length=length, first_bad_seq=first_bad)


def _intact(row: Any, prev_hash: str) -> bool:
    if row.prev_hash != prev_hash:
        return False
    try:
        return bool(record_hash(row) == row.hash)
    except (ValueError, TypeError, AttributeError):
        return False  # a value the service could never have written


def _rows(connection: Connection, batch_size: int) -> Iterator[Any]:
    """Every row in seq order, fetched in keyset batches, each batch its own short transaction."""
    after: int | None = None  # no lower bound at first: a hand-inserted seq 0 must be seen
    while True:
        batch = _batch(connection, after, batch_size)
        connection.rollback()  # end the read transaction: SQLite checkpoints wait for readers
        if not batch:
            return
        yield from batch
        after = batch[-1].seq
        if len(batch) < batch_size:
            return


def _batch(connection: Connection, after: int | None, size: int) -> list[Any]:
    query = sa.select(DECISION_TABLE).order_by(_seq).limit(size)
    if after is not None:
        query = query.where(_seq > after)
    try:
        return list(connection.execute(query).all())
    except (ValueError, TypeError):
        # Some row does not decode (e.g. a hand-edited SQLite text). Read that batch row by
        # row so the bad one is reported instead of the whole verification crashing.
        connection.rollback()
        seqs = (
            connection.execute(
                sa.select(_seq)
                .where(_seq > after if after is not None else sa.true())
                .order_by(_seq)
                .limit(size)
            )
            .scalars()
            .all()
        )
        return [_one(connection, int(seq)) for seq in seqs]


def _one(connection: Connection, seq: int) -> Any:
    try:
        return connection.execute(sa.select(DECISION_TABLE).where(_seq == seq)).one()
    except (ValueError, TypeError):
        connection.rollback()
        return _Unreadable(seq)
