"""The stored trees: tiles of complete subtree hashes, a proof reads O(log n) rows.

A tile (``log``, ``level``, ``index``) holds, as concatenated 32-byte hashes, up to
``TILE_WIDTH`` (16) consecutive tree nodes of height ``TILE_HEIGHT · level`` (level 0: leaf
hashes), the ``index``-th group of them. A node of height ``4L + r`` is hashed up from
``2^r`` entries of one level-``L`` tile; a full tile's root is the next level's entry. Only
the last tile of each level is ever rewritten (it grows); a full tile never changes, so the
tree of any earlier size is a prefix of the stored one (what the golang sumdb calls tiles).

A tree of 10 million leaves is about 670 000 rows (n/15), 340 MB of hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.store.dialect import dialect_of
from engine.store.tables import MERKLE_TILE_TABLE
from engine.verifiable.merkle import HASH_SIZE, NODE_PREFIX, NodeSource, node_hash

TILE_HEIGHT = 4
TILE_WIDTH = 1 << TILE_HEIGHT
_TILE_BYTES = TILE_WIDTH * HASH_SIZE
_t = MERKLE_TILE_TABLE.c
_ANY_HASH = bytes(HASH_SIZE)
T = TypeVar("T")


def level_count(size: int, level: int) -> int:
    """How many nodes of height ``TILE_HEIGHT · level`` a tree of ``size`` leaves has."""
    return size >> (TILE_HEIGHT * level)


def _hash_up(data: bytes, position: int, count: int) -> bytes:
    """The root of ``count`` (a power of two) entries of a tile's data from ``position``."""
    hashes = [data[i * HASH_SIZE : (i + 1) * HASH_SIZE] for i in range(position, position + count)]
    if len(hashes[-1]) != HASH_SIZE:
        raise LookupError("the tile does not hold that node")
    while len(hashes) > 1:
        hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]


class TileReader:
    """A ``NodeSource`` over one log's stored tiles (cached per reader; ``overlay`` first)."""

    def __init__(
        self,
        connection: Connection | None,
        log: str,
        overlay: Mapping[tuple[int, int], bytes] | None = None,
    ) -> None:
        self._connection = connection
        self._log = log
        self._cache: dict[tuple[int, int], bytes] = dict(overlay or {})
        self.reads = 0

    def tile(self, level: int, index: int) -> bytes:
        """One tile's data (b"" when not stored)."""
        key = (level, index)
        found = self._cache.get(key)
        if found is None:
            if self._connection is None:
                raise LookupError(f"tile {key} not in memory")
            self.reads += 1
            found = self._connection.execute(
                sa.select(_t.data).where(_t.log == self._log, _t.level == level, _t.idx == index)
            ).scalar()
            found = bytes(found) if found is not None else b""
            self._cache[key] = found
        return found

    def node(self, height: int, index: int) -> bytes:
        level, rest = divmod(height, TILE_HEIGHT)
        first = index << rest
        data = self.tile(level, first // TILE_WIDTH)
        return _hash_up(data, first % TILE_WIDTH, 1 << rest)

    def prefetch(self, keys: Iterable[tuple[int, int]]) -> None:
        """Read the tiles ``keys`` (level, index) not cached yet, all in one query."""
        missing = sorted(set(keys) - self._cache.keys())
        if not missing or self._connection is None:
            return
        self.reads += 1
        self._cache.update(dict.fromkeys(missing, b""))
        self._cache.update(_read_tiles(self._connection, self._log, missing))

    def read(self, compute: Callable[[NodeSource], T]) -> T:
        """``compute(self)`` with every tile it reads fetched first in one query.

        Which nodes a root or proof reads depends on the sizes and indexes only, never on
        the hashes: a first run against a ``TilePlan`` (any hash for every node) lists them.
        """
        plan = TilePlan()
        compute(plan)
        self.prefetch(plan.tiles)
        return compute(self)


class TilePlan:
    """A ``NodeSource`` that answers any hash and records the tiles a computation reads."""

    def __init__(self) -> None:
        self.tiles: set[tuple[int, int]] = set()

    def node(self, height: int, index: int) -> bytes:
        level, rest = divmod(height, TILE_HEIGHT)
        self.tiles.add((level, (index << rest) // TILE_WIDTH))
        return _ANY_HASH


class TileBuilder:
    """Extends a stored tree by leaves; ``changed`` are the tiles to write back.

    Holds only the last tile of each level (loaded once). ``extend`` works a batch at a time,
    bottom-up, one level of the batch per list comprehension: the level-0 entries (the open
    tile's, then the new leaf hashes) cut into full tiles of 16 and a new open tail; each
    full tile hashed up four rounds (pairs of the whole level at once) gives the next level's
    entries. Cost per leaf: about one node hash (a leaf hash is the caller's), a few hundred
    nanoseconds of Python each; nothing per leaf but the comprehensions.
    """

    def __init__(self, size: int, last_tiles: Mapping[int, bytes]) -> None:
        self.size = size
        self._open: dict[int, bytes] = {}
        for level in range(_levels(size)):
            count = level_count(size, level)
            if count % TILE_WIDTH:
                data = last_tiles.get(level, b"")
                if len(data) != (count % TILE_WIDTH) * HASH_SIZE:
                    raise ValueError(f"stored tile at level {level} does not match size {size}")
                self._open[level] = bytes(data)
        self.changed: dict[tuple[int, int], bytes] = {}

    @staticmethod
    def open_tiles(size: int) -> list[tuple[int, int]]:
        """The (level, index) of the partial tiles a tree of ``size`` ends with."""
        return [
            (level, level_count(size, level) // TILE_WIDTH)
            for level in range(_levels(size))
            if level_count(size, level) % TILE_WIDTH
        ]

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append leaf hashes (``merkle.leaf_hash`` of each record hash)."""
        entries = leaf_hashes if isinstance(leaf_hashes, list) else list(leaf_hashes)
        added = len(entries)
        level, before = 0, self.size
        sha256, prefix, join, changed = hashlib.sha256, NODE_PREFIX, b"".join, self.changed
        while entries:
            index = (before >> (TILE_HEIGHT * level)) // TILE_WIDTH  # the open tile's index
            held = self._open.pop(level, b"")
            if held:
                entries = [held[i : i + HASH_SIZE] for i in range(0, len(held), HASH_SIZE)] + (
                    entries
                )
            full = len(entries) // TILE_WIDTH
            cut = full * TILE_WIDTH
            for t in range(full):
                changed[(level, index + t)] = join(entries[t * TILE_WIDTH : (t + 1) * TILE_WIDTH])
            if cut < len(entries):
                self._open[level] = join(entries[cut:])
                changed[(level, index + full)] = b""  # partial: its final bytes written at the end
            nodes = entries[:cut]
            for _ in range(TILE_HEIGHT):
                pairs = iter(nodes)
                nodes = [sha256(prefix + a + b).digest() for a, b in zip(pairs, pairs, strict=True)]
            entries = nodes
            level += 1
        self.size += added

    def take_full(self) -> dict[tuple[int, int], bytes]:
        """The tiles completed since the last call (and forget them: bounded memory)."""
        full = {key: data for key, data in self.changed.items() if len(data) == _TILE_BYTES}
        self.changed = {key: data for key, data in self.changed.items() if key not in full}
        return full

    def tiles(self) -> dict[tuple[int, int], bytes]:
        """Every tile changed since the start, with its current data."""
        out = dict(self.changed)
        for level, data in self._open.items():
            out[(level, level_count(self.size, level) // TILE_WIDTH)] = data
        return {key: data for key, data in out.items() if data}

    def overlay(self) -> dict[tuple[int, int], bytes]:
        """The open tiles (enough to compute the root of the current size)."""
        return {
            (level, level_count(self.size, level) // TILE_WIDTH): data
            for level, data in self._open.items()
        }


def _levels(size: int) -> int:
    levels = 0
    while level_count(size, levels) > 0:
        levels += 1
    return levels


def _read_tiles(
    connection: Connection, log: str, keys: list[tuple[int, int]]
) -> Iterator[tuple[tuple[int, int], bytes]]:
    """The stored ones of the tiles ``keys``, in one query.

    Each term names the whole primary key (``log`` repeated): with ``log = ?`` outside the
    ``OR``, SQLite scans every tile of the log (50 ms at a million leaves) instead of one
    index search per tile (µs).
    """
    terms = " OR ".join(["(log = ? AND level = ? AND idx = ?)"] * len(keys))
    params: list[object] = []
    for level, index in keys:
        params += (log, level, index)
    rows = dialect_of(connection).fetch_tuples(
        connection, f"SELECT level, idx, data FROM {MERKLE_TILE_TABLE.name} WHERE {terms}", params
    )
    return (((int(level), int(idx)), bytes(data)) for level, idx, data in rows)


def load_open_tiles(connection: Connection, log: str, size: int) -> dict[int, bytes]:
    """The partial last tile of each level of the stored tree of ``size`` (one query)."""
    wanted = TileBuilder.open_tiles(size)
    found: dict[int, bytes] = dict.fromkeys((level for level, _ in wanted), b"")
    if wanted:
        found.update((level, data) for (level, _), data in _read_tiles(connection, log, wanted))
    return found


def write_tiles(connection: Connection, log: str, tiles: Mapping[tuple[int, int], bytes]) -> None:
    """Replace the given tiles (delete then insert: portable, and only tails are rewritten).

    The rows go in through the driver (``Dialect.insert_tuples``: ``COPY`` on PostgreSQL,
    ``executemany`` on SQLite), about n/15 of them for n leaves.
    """
    if not tiles:
        return
    lowest: dict[int, int] = {}
    for level, index in tiles:
        lowest[level] = min(index, lowest.get(level, index))
    for level, index in lowest.items():
        connection.execute(
            sa.delete(MERKLE_TILE_TABLE).where(_t.log == log, _t.level == level, _t.idx >= index)
        )
    dialect_of(connection).insert_tuples(
        connection,
        MERKLE_TILE_TABLE,
        ("log", "level", "idx", "data"),
        ((log, level, index, data) for (level, index), data in sorted(tiles.items())),
    )


def delete_tree(connection: Connection, log: str) -> None:
    """Forget a log's stored tree (rebuilt from its records afterwards)."""
    connection.execute(sa.delete(MERKLE_TILE_TABLE).where(_t.log == log))
