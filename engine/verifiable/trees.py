"""Extending the stored trees from the logs' records, and signing checkpoints of them.

Runs off the check path: a background thread per process (``VerifiableLogs.start``) or a
tool. Each chunk of leaves is hashed outside any lock, then stored in one transaction holding
the log's checkpoint lock (``engine.store.dialect.CHECKPOINT_LOCK_KEYS``) if the stored tree
has not moved meanwhile, so with several workers one extends the tree and writes a checkpoint
while the others find nothing left to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Connection, Engine

from engine.store.dialect import CHECKPOINT_LOCK_KEYS, dialect_of
from engine.store.events import EVENT_TABLE
from engine.store.tables import (
    CHECKPOINT_TABLE,
    DECISION_TABLE,
    MERKLE_TREE_TABLE,
)
from engine.verifiable.checkpoints import Checkpoint, timestamp_now
from engine.verifiable.merkle import leaf_hashes_of_hex, root_hash
from engine.verifiable.tiles import TileBuilder, TileReader, load_open_tiles, write_tiles

LOG_TABLES: dict[str, sa.Table] = {"decisions": DECISION_TABLE, "events": EVENT_TABLE}
CONTIGUOUS = {"decisions": True, "events": False}
"""Decision seqs are 1, 2, 3, … (leaf i is seq i+1); event seqs may skip numbers a rolled-back
PostgreSQL transaction took, so event leaves are the records in seq order."""

CHUNK = 20_000
"""Leaves per transaction: the memory a chunk's hashing takes stays small."""

_tree = MERKLE_TREE_TABLE.c
_cp = CHECKPOINT_TABLE.c


@dataclass(frozen=True, slots=True)
class TreeState:
    """A stored tree's reach."""

    size: int
    last_seq: int
    accepted_checkpoint_id: int


def tree_state(connection: Connection, log: str) -> TreeState:
    """The stored tree of ``log`` (size 0 when none yet)."""
    row = connection.execute(
        sa.select(_tree.size, _tree.last_seq, _tree.accepted_checkpoint_id).where(_tree.log == log)
    ).first()
    return TreeState(0, 0, 0) if row is None else TreeState(int(row[0]), int(row[1]), int(row[2]))


def _save_state(connection: Connection, log: str, state: TreeState) -> None:
    updated = connection.execute(
        sa.update(MERKLE_TREE_TABLE)
        .where(_tree.log == log)
        .values(size=state.size, last_seq=state.last_seq,
                accepted_checkpoint_id=state.accepted_checkpoint_id)
    ).rowcount  # fmt: skip
    if not updated:
        connection.execute(
            sa.insert(MERKLE_TREE_TABLE).values(
                log=log, size=state.size, last_seq=state.last_seq,
                accepted_checkpoint_id=state.accepted_checkpoint_id,
            )
        )  # fmt: skip


def newest_checkpoint_row(connection: Connection, log: str) -> sa.Row[tuple[object, ...]] | None:
    """The newest stored checkpoint of ``log`` (any, even one given up after a truncation)."""
    return connection.execute(
        sa.select(CHECKPOINT_TABLE).where(_cp.log == log).order_by(_cp.id.desc()).limit(1)
    ).first()


@dataclass(frozen=True, slots=True)
class _Extension:
    """Up to a chunk of new leaves hashed into the tree: the tiles to store, and its reach."""

    tiles: dict[tuple[int, int], bytes]
    state: TreeState
    more: bool


def _extension(connection: Connection, log: str, state: TreeState, limit: int) -> _Extension | None:
    """The tree ``state`` extended by up to ``limit`` records (None when none is new).

    The records' ``seq`` and ``hash`` come as the driver's tuples in one keyset query, the
    leaves are hashed in one comprehension and the tree extended a level at a time
    (``TileBuilder.extend``).
    """
    table = LOG_TABLES[log]
    rows = dialect_of(connection).fetch_tuples(
        connection,
        f"SELECT seq, hash FROM {table.name} WHERE seq > ? ORDER BY seq LIMIT ?",
        (state.last_seq, limit),
    )
    full = len(rows) == limit
    if CONTIGUOUS[log] and rows and rows[-1][0] - state.last_seq != len(rows):
        # A gap (not yet visible, or a deleted record): stop before it. Seqs only increase,
        # so without a gap the last one is last_seq + len(rows).
        expected = state.last_seq + 1
        for kept, row in enumerate(rows):
            if row[0] != expected + kept:
                rows = rows[:kept]
                break
        full = False
    if not rows:
        return None
    builder = TileBuilder(state.size, load_open_tiles(connection, log, state.size))
    builder.extend(leaf_hashes_of_hex([row[1] for row in rows]))
    reach = TreeState(builder.size, int(rows[-1][0]), state.accepted_checkpoint_id)
    return _Extension(builder.tiles(), reach, full)


def checkpoint_log(
    engine: Engine, log: str, key: Ed25519PrivateKey | None, *, chunk: int = CHUNK
) -> Checkpoint | None:
    """Extend ``log``'s tree to its newest record; store and return a new checkpoint when the
    tree grew past the newest one (None when nothing changed).

    The leaves are read and hashed, and the tree extended, before the log's checkpoint lock
    is taken (on SQLite it is the database's write lock, which the decision writer waits
    for: holding it through the hashing stalled decision batches for up to 100 ms,
    docs/performance.md); under the lock only the new tiles, the tree's reach and the
    checkpoint are written, if the stored tree is still the one extended (another process
    may have extended it meanwhile: then the work is done again from its tree).
    """
    dialect = dialect_of(engine)
    while True:
        with engine.connect() as connection:
            state = tree_state(connection, log)
            extension = _extension(connection, log, state, chunk)
        with dialect.locked_transaction(engine, CHECKPOINT_LOCK_KEYS[log]) as connection:
            if tree_state(connection, log) != state:
                continue  # extended by another process meanwhile
            if extension is not None:
                write_tiles(connection, log, extension.tiles)
                _save_state(connection, log, extension.state)
                if extension.more:
                    continue
                state = extension.state
            newest = newest_checkpoint_row(connection, log)
            if state.size == 0 or (
                newest is not None
                and newest.id > state.accepted_checkpoint_id
                and newest.size >= state.size
            ):
                return None
            root = TileReader(connection, log).read(partial(root_hash, size=state.size)).hex()
            last_hash = connection.execute(
                sa.select(LOG_TABLES[log].c.hash).where(LOG_TABLES[log].c.seq == state.last_seq)
            ).scalar_one()
            checkpoint = Checkpoint.sign(log, state.size, root, timestamp_now(), key)
            connection.execute(
                sa.insert(CHECKPOINT_TABLE).values(
                    **checkpoint.to_dict(), last_seq=state.last_seq, last_hash=last_hash
                )
            )
            return checkpoint


def row_checkpoint(row: sa.Row[tuple[object, ...]] | None) -> Checkpoint | None:
    """A stored checkpoint row as a ``Checkpoint``."""
    if row is None:
        return None
    m = row._mapping
    return Checkpoint(
        str(m["log"]), int(m["size"]), str(m["root_hash"]), str(m["timestamp"]),
        m["key_id"], m["signature"],
    )  # fmt: skip


def reset_tree(connection: Connection, log: str) -> int:
    """Give up ``log``'s stored tree and every checkpoint so far (``--accept-truncated-log``).

    The tree is rebuilt from the records as they are; returns the id up to which checkpoints
    are no longer held against the log at start-up.
    """
    from engine.verifiable.tiles import delete_tree

    newest = newest_checkpoint_row(connection, log)
    accepted = int(newest.id) if newest is not None else 0
    delete_tree(connection, log)
    _save_state(connection, log, TreeState(0, 0, accepted))
    return accepted
