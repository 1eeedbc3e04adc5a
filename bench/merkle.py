"""Merkle tree build and proof latency (docs/performance.md#verifiable-logs).

``python -m bench.merkle [--leaves N] [--db sqlite|postgresql|URL] [--source S]``

``--source decisions`` (the default) fills the decision table with N synthetic decisions
(compact rows: every column filled, short constant JSON, ``hash`` the SHA-256 of the row
number) without timing it, then times ``checkpoint_log`` building the decision log's tree
from scratch exactly as the service's background thread does (reading the records, hashing,
writing tiles, signing one checkpoint), checks the root against an independent in-memory
computation (``--check``), and times inclusion proofs through the service's own
``decision_proof`` (a pooled connection, the decision and checkpoint lookups, the tiles)
and consistency proofs through ``consistency``.

``--source memory`` builds the tiles of N in-memory leaf hashes (no records read).

SQLite runs in a temporary directory (or ``--dir``); PostgreSQL in the database
``jrp_bench_merkle`` on 127.0.0.1 (dropped and created again).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import os
import pstats
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engine.store import db
from engine.verifiable.merkle import Frontier, leaf_hash, leaf_hashes_of_hex, root_hash
from engine.verifiable.service import VerifiableLogs
from engine.verifiable.tiles import TileBuilder, TileReader, load_open_tiles, write_tiles
from engine.verifiable.trees import CHUNK, checkpoint_log

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgresql+psycopg://postgres@127.0.0.1:5432/jrp_bench_merkle"
FILL_BATCH = 200_000


def _record_hash(i: int) -> str:
    return hashlib.sha256(i.to_bytes(8, "big")).hexdigest()


def _rows(start: int, end: int) -> Iterator[tuple[Any, ...]]:
    prev = _record_hash(start - 1) if start else "0" * 64
    for i in range(start, end):
        h = _record_hash(i)
        yield (
            i + 1, f"d{i:015d}", "2026-01-01 00:00:00.000000", "bench", "dept", f"s{i % 9973}",
            "m", '{"subject_id": "s"}', '{"hits": []}', "v1", 0, prev, h,
        )  # fmt: skip
        prev = h


_COLUMNS = (
    "seq, decision_id, decided_at, caller, department, subject_id, matter, request, response, "
    "policy_version, event_seq, prev_hash, hash"
)


def fill_decisions(engine: sa.Engine, n: int) -> None:
    """N synthetic decision rows, inserted with the driver directly (not timed)."""
    raw: Any = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            marks = ", ".join("?" * 13)
            for start in range(0, n, FILL_BATCH):
                cursor.executemany(
                    f"INSERT INTO decision ({_COLUMNS}) VALUES ({marks})",
                    _rows(start, min(n, start + FILL_BATCH)),
                )
                raw.commit()
        else:
            for start in range(0, n, FILL_BATCH):
                with cursor.copy(f"COPY decision ({_COLUMNS}) FROM STDIN") as copy:
                    for row in _rows(start, min(n, start + FILL_BATCH)):
                        copy.write_row(row)
                raw.commit()
    finally:
        raw.close()
    settle(engine)


def settle(engine: sa.Engine) -> None:
    """On PostgreSQL, bring the filled table to the state of one in service (not timed).

    A table in service has been vacuumed by autovacuum; a freshly COPYed one has not, and the
    first read of each page sets its hint bits and writes the page again, WAL and all, inside
    the timed build. VACUUM (FREEZE, ANALYZE) does that work here, and a CHECKPOINT flushes
    the fill's WAL so that the build does not pay for it either.
    """
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (FREEZE, ANALYZE) decision")
        connection.exec_driver_sql("CHECKPOINT")


def build_in_memory(engine: sa.Engine, n: int) -> None:
    size = 0
    while size < n:
        count = min(CHUNK * 5, n - size)
        with engine.begin() as connection:
            builder = TileBuilder(size, load_open_tiles(connection, "decisions", size))
            builder.extend(leaf_hashes_of_hex(_record_hash(i) for i in range(size, size + count)))
            write_tiles(connection, "decisions", builder.tiles())
        size += count


def _quantiles(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100)
    return (
        f"p50 {statistics.median(samples) * 1e3:.2f} ms, p95 {q[94] * 1e3:.2f} ms, "
        f"p99 {q[98] * 1e3:.2f} ms, max {max(samples) * 1e3:.2f} ms"
    )


def time_proofs(engine: sa.Engine, n: int, count: int, service: bool) -> None:
    rng = random.Random(7)
    gcs: list[int] = []
    gc.callbacks.append(lambda phase, info: gcs.append(1) if phase == "start" else None)
    logs = VerifiableLogs(engine)
    inclusion, consistency, cpu = [], [], []
    for _ in range(count):
        index = rng.randrange(n)
        size = rng.randint(index + 1, n)
        c0 = time.thread_time()
        t0 = time.perf_counter()
        if service:
            logs.decision_proof(f"d{index:015d}", size=size, department=None, auditor=True)
        else:
            with engine.connect() as connection:
                reader = TileReader(connection, "decisions")
                from engine.verifiable.merkle import inclusion_proof

                inclusion_proof(reader, index, size)
                root_hash(reader, size)
        inclusion.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    for _ in range(count if service else 0):
        second = rng.randint(2, n)
        first = rng.randint(1, second)
        t0 = time.perf_counter()
        logs.consistency("decisions", first, second)
        consistency.append(time.perf_counter() - t0)
    what = "decision_proof (service)" if service else "inclusion proof + root, a query per tile"
    print(f"{what}, {count} random: {_quantiles(inclusion)}")
    print(f"  its CPU time (thread_time): {_quantiles(cpu)}; load {os.getloadavg()[0]:.1f}")
    if consistency:
        print(f"consistency (service), {count} random: {_quantiles(consistency)}")
    print(f"garbage collections during the proofs: {len(gcs)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--db", default="sqlite")
    parser.add_argument("--dir", default=None, help="where the SQLite file goes")
    parser.add_argument("--source", choices=["decisions", "memory"], default="decisions")
    parser.add_argument("--proofs", type=int, default=2000)
    parser.add_argument("--check", action="store_true", help="compare the root in memory")
    parser.add_argument("--profile", default=None, help="write cProfile stats of the build")
    parser.add_argument("--reuse", action="store_true", help="keep the filled records")
    parser.add_argument("--fill-only", action="store_true")
    args = parser.parse_args()
    if args.db == "sqlite":
        path = Path(args.dir or tempfile.mkdtemp()) / "merkle.db"
        if path.exists() and not args.reuse:
            for p in path.parent.glob("merkle.db*"):
                p.unlink()
        url = f"sqlite:///{path}"
    elif args.db == "postgresql":
        url = PG_BENCH
        if not args.reuse:
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.exec_driver_sql("DROP DATABASE IF EXISTS jrp_bench_merkle")
                connection.exec_driver_sql("CREATE DATABASE jrp_bench_merkle")
            admin.dispose()
    else:
        url = args.db
    engine = db.create_db_engine(url)
    db.migrate(engine)
    n = args.leaves
    with engine.connect() as connection:
        have = connection.execute(sa.text("SELECT count(*) FROM decision")).scalar_one()
    if args.source == "decisions" and have != n:
        t0 = time.perf_counter()
        fill_decisions(engine, n)
        print(f"filled {n} synthetic decisions in {time.perf_counter() - t0:.1f} s (not timed)")
    if args.fill_only:
        return
    if have == n:  # a --reuse run rebuilds from scratch; TRUNCATE leaves no dead rows behind
        clear = "TRUNCATE" if engine.dialect.name == "postgresql" else "DELETE FROM"
        with engine.begin() as connection:
            for table in ("merkle_tile", "merkle_tree", "checkpoint"):
                connection.exec_driver_sql(f"{clear} {table}")
        settle(engine)
    profile = cProfile.Profile() if args.profile else None
    started, cpu_started = time.perf_counter(), time.process_time()
    if profile:
        profile.enable()
    if args.source == "decisions":
        checkpoint = checkpoint_log(engine, "decisions", Ed25519PrivateKey.generate())
        assert checkpoint is not None and checkpoint.size == n, checkpoint
    else:
        build_in_memory(engine, n)
    built, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if profile:
        profile.disable()
        profile.dump_stats(args.profile)
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(15)
    print(f"{engine.dialect.name}: built {n} leaves ({args.source}) in {built:.1f} s "
          f"({built / n * 1e6:.2f} µs/leaf); this process's CPU {cpu:.1f} s "
          f"({cpu / n * 1e6:.2f} µs/leaf); load {os.getloadavg()[0]:.1f}")  # fmt: skip
    if args.check:
        frontier = Frontier()
        for i in range(n):
            frontier.append(leaf_hash(bytes.fromhex(_record_hash(i))))
        with engine.connect() as connection:
            stored = root_hash(TileReader(connection, "decisions"), n)
        assert stored == frontier.root(), "stored root differs from the in-memory one"
        print("root checked against an in-memory Frontier")
    if args.source == "decisions":
        time_proofs(engine, n, args.proofs, service=True)
    time_proofs(engine, n, args.proofs, service=False)


if __name__ == "__main__":
    main()
