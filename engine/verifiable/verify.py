"""``jrp verify``: both chains, both stored trees, stored and supplied checkpoints.

One pass per log over its records for the chain (``engine.decisions.verify`` for decisions),
one over ``(seq, hash)`` for the trees: the stored tiles are rebuilt in memory a batch at a
time and compared as they complete, and the root at every checkpoint's size is taken on the
way (the batches are cut at those sizes; the builder's open tiles hold the root). A
checkpoint holds when the log still has ``size`` records, the root of the first ``size`` is
``root_hash``, and the signature holds under the key it names.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Connection, Engine

from engine.decisions import verify as verify_decision_chain
from engine.store.dialect import dialect_of
from engine.store.tables import CHECKPOINT_TABLE, MERKLE_TILE_TABLE, SIGNING_KEY_TABLE
from engine.verifiable import keys
from engine.verifiable.checkpoints import LOGS, Checkpoint
from engine.verifiable.event_chain import GENESIS_HASH, stored_event_hash
from engine.verifiable.merkle import HASH_SIZE, leaf_hash, leaf_hashes_of_hex, root_hash
from engine.verifiable.tiles import TILE_HEIGHT, TILE_WIDTH, TileBuilder, TileReader, level_count
from engine.verifiable.trees import LOG_TABLES, row_checkpoint, tree_state

_BATCH = 5000
_TREE_BATCH = 20_000
"""Records per keyset query of the tree pass (each its own short transaction)."""


@dataclass(slots=True)
class LogReport:
    """What ``verify_logs`` found in one log."""

    log: str
    length: int = 0
    first_bad_seq: int | None = None
    problems: list[str] = field(default_factory=list)
    checkpoints_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_logs(
    engine: Engine,
    checkpoints: Sequence[Checkpoint] = (),
    public_key: Ed25519PublicKey | None = None,
) -> list[LogReport]:
    """Check both logs; ``checkpoints`` (e.g. files an auditor kept) are held against them.

    Signatures are checked with ``public_key`` when given (a checkpoint naming another key
    fails), else with the key the database recorded under the checkpoint's ``key_id`` (its
    SHA-256 checked against the id).
    """
    reports = []
    for log in LOGS:
        report = LogReport(log)
        if log == "decisions":
            chain = verify_decision_chain(engine)
            report.length, report.first_bad_seq = chain.length, chain.first_bad_seq
        else:
            report.length, report.first_bad_seq = _verify_event_chain(engine)
        if report.first_bad_seq is not None:
            noun = "decision" if log == "decisions" else "event"
            report.problems.append(
                f"{noun} log: first bad seq {report.first_bad_seq} "
                f"({report.length} {noun}s present)"
            )
        mine = [c for c in checkpoints if c.log == log]
        _verify_tree(engine, report, mine, public_key)
        reports.append(report)
    return reports


def _verify_event_chain(engine: Engine) -> tuple[int, int | None]:
    table = LOG_TABLES["events"]
    prev, length, first_bad = GENESIS_HASH, 0, None
    with engine.connect() as connection:
        for row in _stream(connection, table, list(table.c)):
            length += 1
            if first_bad is not None:
                continue
            try:
                intact = row.prev_hash == prev and stored_event_hash(row) == row.hash
            except (ValueError, TypeError, AttributeError):
                intact = False
            if not intact:
                first_bad = int(row.seq)
            prev = row.hash
    return length, first_bad


def _stream(connection: Connection, table: sa.Table, columns: list[Any]) -> Iterator[Any]:
    after: int | None = None
    while True:
        query = sa.select(*columns).order_by(table.c.seq).limit(_BATCH)
        if after is not None:
            query = query.where(table.c.seq > after)
        rows = connection.execute(query).all()
        connection.rollback()
        yield from rows
        if len(rows) < _BATCH:
            return
        after = rows[-1].seq


def _verify_tree(
    engine: Engine,
    report: LogReport,
    supplied: Sequence[Checkpoint],
    public_key: Ed25519PublicKey | None,
) -> None:
    log = report.log
    with engine.connect() as connection:
        state = tree_state(connection, log)
        stored = [
            (row_checkpoint(row), "stored ")
            for row in connection.execute(
                sa.select(CHECKPOINT_TABLE)
                .where(CHECKPOINT_TABLE.c.log == log,
                       CHECKPOINT_TABLE.c.id > state.accepted_checkpoint_id)
                .order_by(CHECKPOINT_TABLE.c.id)
            ).all()
        ]  # fmt: skip
        known_keys = {
            row.key_id: row.public_key_pem
            for row in connection.execute(sa.select(SIGNING_KEY_TABLE)).all()
        }
        connection.rollback()
        wanted = [(c, origin) for c, origin in stored if c is not None]
        wanted += [(c, "") for c in supplied]
        roots, length, tile_problem = _rebuild(
            connection, log, state.size, {c.size for c, _ in wanted}
        )
        if length < state.size:
            tile_problem = (
                f"{log} tree: {state.size} leaves stored but the log holds {length} records"
            )
        if tile_problem is not None:
            report.problems.append(tile_problem)
        for checkpoint, origin in wanted:
            report.checkpoints_checked += 1
            problem = _checkpoint_problem(
                checkpoint, roots, length, None if origin else public_key, known_keys
            )
            if problem is not None:
                report.problems.append(
                    f"{origin}{checkpoint.describe()} no longer holds: {problem}"
                )


def _rebuild(
    connection: Connection, log: str, stored_size: int, sizes: set[int]
) -> tuple[dict[int, bytes], int, str | None]:
    """One pass over the log's ``(seq, hash)``: the tree rebuilt in memory a batch at a time
    and compared with the stored tiles as they complete (the first difference found), and the
    root at each of ``sizes`` the log reaches (the batches are cut there). Returns the roots,
    the number of records and the difference (None when every stored tile matches)."""
    builder = TileBuilder(0, {})
    roots: dict[int, bytes] = {}
    problem: str | None = None
    cuts = sorted(sizes, reverse=True)  # the smallest last

    def take_roots() -> None:  # the roots of the sizes reached, the ones passed dropped
        while cuts and cuts[-1] <= builder.size:
            if cuts.pop() == builder.size:
                overlay = TileReader(None, log, builder.overlay())
                roots[builder.size] = root_hash(overlay, builder.size)

    take_roots()
    for rows in _seq_hash_batches(connection, LOG_TABLES[log].name):
        leaves = _leaves([row[1] for row in rows])
        done = 0
        while done < len(leaves):
            take = (
                len(leaves) - done if not cuts else min(len(leaves) - done, cuts[-1] - builder.size)
            )
            builder.extend(leaves[done : done + take])
            done += take
            take_roots()
        if problem is None:
            problem = _compare(connection, log, builder.take_full(), stored_size)
    if problem is None:
        problem = _compare(connection, log, builder.tiles(), stored_size)
    return roots, builder.size, problem


def _seq_hash_batches(connection: Connection, table: str) -> Iterator[list[tuple[Any, ...]]]:
    """``(seq, hash)`` of every record in seq order, as the driver's tuples, in keyset batches
    (the first with no lower bound: a hand-inserted seq 0 or below is seen)."""
    fetch = dialect_of(connection).fetch_tuples
    rows = fetch(connection, f"SELECT seq, hash FROM {table} ORDER BY seq LIMIT ?", (_TREE_BATCH,))
    while rows:
        connection.rollback()
        yield rows
        if len(rows) < _TREE_BATCH:
            return
        rows = fetch(
            connection,
            f"SELECT seq, hash FROM {table} WHERE seq > ? ORDER BY seq LIMIT ?",
            (rows[-1][0], _TREE_BATCH),
        )
    connection.rollback()


def _leaves(hashes: list[Any]) -> list[bytes]:
    """The leaf hashes of records' hex hashes; a value that is not a hash gets a leaf no root
    it is part of can hold."""
    try:
        return leaf_hashes_of_hex(hashes)
    except (ValueError, TypeError):
        leaves = []
        for value in hashes:
            try:
                leaves.append(leaf_hash(bytes.fromhex(value)))
            except (ValueError, TypeError):
                leaves.append(b"\xff" * HASH_SIZE)
        return leaves


def _compare(
    connection: Connection,
    log: str,
    rebuilt: dict[tuple[int, int], bytes],
    stored_size: int,
) -> str | None:
    """The first of the ``rebuilt`` tiles (in level, index order) whose stored counterpart
    differs in the part the stored tree of ``stored_size`` holds, described; the stored
    tiles are read in one range query per level."""
    keys = sorted(key for key in rebuilt if level_count(stored_size, key[0]) > TILE_WIDTH * key[1])
    by_level: dict[int, list[int]] = {}
    for level, index in keys:
        by_level.setdefault(level, []).append(index)
    stored: dict[tuple[int, int], bytes] = {}
    fetch = dialect_of(connection).fetch_tuples
    for level, indexes in by_level.items():
        rows = fetch(
            connection,
            f"SELECT idx, data FROM {MERKLE_TILE_TABLE.name} "
            "WHERE log = ? AND level = ? AND idx >= ? AND idx <= ?",
            (log, level, indexes[0], indexes[-1]),
        )
        stored.update(((level, int(index)), bytes(data)) for index, data in rows)
    connection.rollback()
    for level, index in keys:
        count = min(TILE_WIDTH, level_count(stored_size, level) - TILE_WIDTH * index)
        found = stored.get((level, index), b"")
        expected = rebuilt[(level, index)][: count * HASH_SIZE]
        if found == expected:
            continue
        span = 1 << (TILE_HEIGHT * (level + 1))
        first = index * span
        for position in range(count):
            if (
                found[position * HASH_SIZE : (position + 1) * HASH_SIZE]
                != expected[position * HASH_SIZE : (position + 1) * HASH_SIZE]
            ):
                first += position * (span // TILE_WIDTH)
                break
        return (
            f"{log} tree: stored node (level {level}, tile {index}) differs from the records "
            f"from {_seq_at(connection, log, first)} on"
        )
    return None


def _seq_at(connection: Connection, log: str, position: int) -> str:
    """The record at leaf ``position`` (0-based, in seq order), named for a report."""
    seq = connection.execute(
        sa.select(LOG_TABLES[log].c.seq).order_by(LOG_TABLES[log].c.seq).offset(position).limit(1)
    ).scalar()
    connection.rollback()
    return f"leaf {position}" if seq is None else f"seq {seq}"


def _checkpoint_problem(
    checkpoint: Checkpoint,
    roots: dict[int, bytes],
    length: int,
    public_key: Ed25519PublicKey | None,
    known_keys: dict[str, str],
) -> str | None:
    if checkpoint.size > length:
        return f"the log holds only {length} records"
    if roots.get(checkpoint.size, b"").hex() != checkpoint.root_hash:
        return f"the root of the first {checkpoint.size} records is not {checkpoint.root_hash}"
    if checkpoint.signature is None:
        return None if public_key is None else "it is unsigned"
    key = public_key
    if key is None:
        pem = known_keys.get(checkpoint.key_id or "")
        if pem is None:
            return f"no public key {checkpoint.key_id} (pass --public-key)"
        try:
            key = keys.public_from_pem(pem)
        except ValueError:
            return f"the stored public key {checkpoint.key_id} is unreadable"
        if keys.key_id(key) != checkpoint.key_id:
            return f"the stored public key does not hash to {checkpoint.key_id}"
    return checkpoint.signature_problem(key)
