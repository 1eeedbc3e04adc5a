"""The batch tile builder (``TileBuilder.extend``, level by level) against tiles computed
straight from the definition (tile (L, i) is the nodes of height 4L numbered 16i .. 16i+15,
from ``LeafHashes``), for 1,000 leaves cut into random batches, stored and reloaded between
batches; and the service's chunked build (``checkpoint_log``) over real decision records."""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.decisions import DecisionLog
from engine.store.tables import DECISION_TABLE, MERKLE_TILE_TABLE
from engine.verifiable import trees
from engine.verifiable.merkle import (
    LeafHashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    leaf_hashes_of_hex,
    root_hash,
)
from engine.verifiable.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    TileBuilder,
    TileReader,
    level_count,
    load_open_tiles,
    write_tiles,
)
from engine.verifiable.trees import checkpoint_log, tree_state
from tests.engine.decisions.test_decision_log import make_draft

N = 1000
RECORDS = [hashlib.sha256(i.to_bytes(4, "big")).hexdigest() for i in range(N)]


def expected_tiles(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    """Every tile of the tree of ``leaves``, from the definition, one node at a time."""
    source = LeafHashes(leaves)
    tiles: dict[tuple[int, int], bytes] = {}
    level = 0
    while (count := level_count(len(leaves), level)) > 0:
        for index in range((count + TILE_WIDTH - 1) // TILE_WIDTH):
            first = index * TILE_WIDTH
            tiles[(level, index)] = b"".join(
                source.node(TILE_HEIGHT * level, k)
                for k in range(first, min(first + TILE_WIDTH, count))
            )
        level += 1
    return tiles


def stored_tiles(engine: Engine, log: str = "decisions") -> dict[tuple[int, int], bytes]:
    t = MERKLE_TILE_TABLE.c
    with engine.connect() as connection:
        rows = connection.execute(sa.select(t.level, t.idx, t.data).where(t.log == log)).all()
    return {(int(level), int(idx)): bytes(data) for level, idx, data in rows}


def test_leaf_hashes_of_hex_is_leaf_hash() -> None:
    assert leaf_hashes_of_hex(RECORDS[:40]) == [leaf_hash(bytes.fromhex(r)) for r in RECORDS[:40]]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batches_at_random_boundaries_give_the_definitions_tiles(engine: Engine, seed: int) -> None:
    rng = random.Random(seed)
    leaves = leaf_hashes_of_hex(RECORDS)
    size = 0
    while size < N:
        count = min(N - size, rng.choice([1, 2, 15, 16, 17, rng.randint(1, 300)]))
        with engine.begin() as connection:
            builder = TileBuilder(size, load_open_tiles(connection, "decisions", size))
            builder.extend(leaves[size : size + count])
            write_tiles(connection, "decisions", builder.tiles())
        size += count
        assert root_hash(TileReader(None, "decisions", builder.overlay()), size) == root_hash(
            LeafHashes(leaves[:size]), size
        )
    assert stored_tiles(engine) == expected_tiles(leaves)


def test_one_builder_fed_in_pieces_equals_one_batch() -> None:
    leaves = leaf_hashes_of_hex(RECORDS)
    whole = TileBuilder(0, {})
    whole.extend(leaves)
    pieces = TileBuilder(0, {})
    rng = random.Random(9)
    size = 0
    while size < N:
        count = rng.randint(1, 70)
        pieces.extend(leaves[size : size + count])
        size += count
    assert pieces.tiles() == whole.tiles() == expected_tiles(leaves)


def test_chunked_service_build_over_decisions_stops_at_a_gap(engine: Engine) -> None:
    with DecisionLog(engine) as log:
        for i in range(120):
            log.append(make_draft(i))
    with engine.begin() as connection:
        connection.execute(sa.delete(DECISION_TABLE).where(DECISION_TABLE.c.seq == 101))
        hashes = connection.execute(
            sa.select(DECISION_TABLE.c.hash).order_by(DECISION_TABLE.c.seq)
        ).scalars()
        leaves = leaf_hashes_of_hex(list(hashes)[:100])
    made = checkpoint_log(engine, "decisions", None, chunk=7)
    assert made is not None and made.size == 100  # the tree stops before the missing seq 101
    assert made.root_hash == root_hash(LeafHashes(leaves), 100).hex()
    assert stored_tiles(engine) == expected_tiles(leaves)
    with engine.connect() as connection:
        assert tree_state(connection, "decisions").last_seq == 100


def test_proofs_read_every_tile_in_one_query(engine: Engine) -> None:
    leaves = leaf_hashes_of_hex(RECORDS)
    with engine.begin() as connection:
        builder = TileBuilder(0, {})
        builder.extend(leaves)
        write_tiles(connection, "decisions", builder.tiles())
    rng = random.Random(4)
    with engine.connect() as connection:
        for _ in range(60):
            size = rng.randint(1, N)
            index, first = rng.randrange(size), rng.randint(1, size)
            reader = TileReader(connection, "decisions")
            path, root = reader.read(
                lambda t, i=index, n=size: (inclusion_proof(t, i, n), root_hash(t, n))
            )
            assert reader.reads == 1
            one_by_one = TileReader(connection, "decisions")
            assert path == inclusion_proof(one_by_one, index, size)
            assert root == root_hash(one_by_one, size) == root_hash(LeafHashes(leaves), size)
            reader = TileReader(connection, "decisions")
            proof = reader.read(lambda t, m=first, n=size: consistency_proof(t, m, n))
            assert reader.reads <= 1  # none when first == size (an empty proof)
            assert proof == consistency_proof(LeafHashes(leaves), first, size)


def after_first_hashing(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]) -> None:
    """Run ``action`` once: after ``checkpoint_log`` hashed its first chunk, before it stores it."""
    extension = trees._extension
    done = False

    def hashed_then_act(*args: Any, **kwargs: Any) -> Any:
        nonlocal done
        found = extension(*args, **kwargs)
        if not done:
            done = True
            action()
        return found

    monkeypatch.setattr(trees, "_extension", hashed_then_act)


def test_a_tree_extended_meanwhile_by_another_process_is_not_extended_twice(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with DecisionLog(engine) as log:
        for i in range(30):
            log.append(make_draft(i))
    # Another worker extends the tree and signs before this one stores.
    raced: list[Any] = []
    after_first_hashing(
        monkeypatch, lambda: raced.append(checkpoint_log(engine, "decisions", None))
    )
    assert checkpoint_log(engine, "decisions", None) is None  # found the other's checkpoint
    assert raced[0] is not None and raced[0].size == 30
    with engine.connect() as connection:
        hashes = connection.execute(
            sa.select(DECISION_TABLE.c.hash).order_by(DECISION_TABLE.c.seq)
        ).scalars()
        assert tree_state(connection, "decisions").size == 30
    assert stored_tiles(engine) == expected_tiles(leaf_hashes_of_hex(list(hashes)))


def test_decisions_commit_while_a_checkpoint_hashes_its_leaves(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On SQLite the checkpoint lock is the database's write lock: the hashing must not hold it.
    with DecisionLog(engine) as log:
        for i in range(10):
            log.append(make_draft(i))
        during: list[int] = []

        def append_meanwhile() -> None:
            appended = threading.Thread(
                target=lambda: during.append(log.append(make_draft(99)).seq)
            )
            appended.start()
            appended.join(timeout=10)

        after_first_hashing(monkeypatch, append_meanwhile)
        made = checkpoint_log(engine, "decisions", None)
        assert during == [11]  # committed while the checkpoint was being computed
        assert made is not None and made.size == 10  # as far as it had read
        newer = checkpoint_log(engine, "decisions", None)
    assert newer is not None and newer.size == 11
