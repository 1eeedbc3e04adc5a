"""Merkle tree build and proof latency (docs/performance.md#verifiable-logs).

``python -m bench.merkle [--leaves N] [--db URL]``: builds the stored tiles of N synthetic
leaves from scratch in chunks as the checkpoint thread does (one transaction per chunk),
then times inclusion and consistency proofs read from the database. Reading the records'
hashes is measured separately by the service's own builder in tests; here leaves are made
in memory so the figure is the tree's own cost.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import tempfile
import time
from pathlib import Path

from engine.store import db
from engine.verifiable.merkle import consistency_proof, inclusion_proof, leaf_hash, root_hash
from engine.verifiable.tiles import TileBuilder, TileReader, load_open_tiles, write_tiles
from engine.verifiable.trees import CHUNK


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    url = args.db or f"sqlite:///{Path(tempfile.mkdtemp()) / 'merkle.db'}"
    engine = db.create_db_engine(url)
    db.migrate(engine)
    size, started = 0, time.perf_counter()
    while size < args.leaves:
        count = min(CHUNK * 5, args.leaves - size)
        with engine.begin() as connection:
            builder = TileBuilder(size, load_open_tiles(connection, "decisions", size))
            builder.extend(
                leaf_hash(hashlib.sha256(i.to_bytes(8, "big")).digest())
                for i in range(size, size + count)
            )
            write_tiles(connection, "decisions", builder.tiles())
        size += count
    built = time.perf_counter() - started
    print(f"built {size} leaves in {built:.1f} s ({built / size * 1e6:.2f} µs/leaf)")
    times, reads = [], []
    with engine.connect() as connection:
        for _ in range(200):
            reader = TileReader(connection, "decisions")
            n = random.randint(size // 2, size)
            t0 = time.perf_counter()
            inclusion_proof(reader, random.randrange(n), n)
            root_hash(reader, n)
            times.append(time.perf_counter() - t0)
            reads.append(reader.reads)
        ctimes = []
        for _ in range(200):
            reader = TileReader(connection, "decisions")
            second = random.randint(2, size)
            t0 = time.perf_counter()
            consistency_proof(reader, random.randint(1, second), second)
            ctimes.append(time.perf_counter() - t0)
    q = statistics.quantiles
    print(
        f"inclusion proof + root: median {statistics.median(times) * 1e3:.2f} ms, "
        f"p99 {q(times, n=100)[98] * 1e3:.2f} ms, tiles read median {statistics.median(reads)}"
    )
    print(
        f"consistency proof: median {statistics.median(ctimes) * 1e3:.2f} ms, "
        f"p99 {q(ctimes, n=100)[98] * 1e3:.2f} ms"
    )


if __name__ == "__main__":
    main()
