"""What an entry caused, at city scale: ``GET /v1/entries/{id}/decisions`` latency.

```
.venv/bin/python -m bench.entry_decisions      # 200k entries, 500k decisions, PostgreSQL
.venv/bin/python -m bench.entry_decisions --entries 20000 --decisions 50000 --db sqlite
```

Builds a fresh database (PostgreSQL ``jrp_bench_remediation``, or ``bench/out/remediation.db``):
``--entries`` entries appended as events (what ``jrp import entries`` stores), the service
started on them with the shipped bundle, then ``--decisions`` decisions written through the
service's own group-committing writer (``DecisionLog.append_async``, so the decision-hit
index is filled exactly as in production: in the batch's transaction, on PostgreSQL by the
batch's one statement). Each decision hits one entry drawn uniformly, and one in ten also a
"hot" entry (``--hot`` of them, thousands of decisions each). Then it times the engine call
behind the route (``engine.remediation.entry_decisions``: state lookup, one index range scan
joined to the decision rows of one page, the page's feedback) for random and hot entries, and
prints p50/p95/p99 in ms (JSON on stdout, also in ``bench/out/entry_decisions.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine import remediation
from engine.decisions import DecisionDraft
from engine.service import Service
from engine.settings import Settings
from engine.store import db, events
from engine.store.events import EventType, NewEvent

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG = "postgresql+psycopg://postgres@127.0.0.1:5432"


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def fresh_database(kind: str) -> str:
    if kind == "sqlite":
        OUT.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{OUT / 'remediation.db'}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{OUT / 'remediation.db'}"
    admin = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text("DROP DATABASE IF EXISTS jrp_bench_remediation WITH (FORCE)"))
        connection.execute(sa.text("CREATE DATABASE jrp_bench_remediation"))
    admin.dispose()
    return f"{PG}/jrp_bench_remediation"


def entry_events(count: int) -> list[NewEvent]:
    found = []
    for i in range(count):
        entry = {
            "id": f"bench-entry-{i:07d}",
            "list": "administrative_penalty",
            "subject_id": f"BENCH{i:013d}",
            "subject_kind": "org",
            "department": "market_regulation",
            "decided_on": "2026-01-01",
            "effective_from": "2026-01-01",
            "effective_to": None,
            "doc_no": f"罚{i}",
            "reason": None,
            "attributes": {},
            "derivation_id": None,
            "derived_from": [],
        }
        found.append(NewEvent(EventType.entry_registered, {"entry": entry, "triggered": []}))
    return found


def draft(
    rng: random.Random, entries: int, hot: int, event_seq: int, version: str
) -> DecisionDraft:
    target = rng.randrange(entries)
    hits = [{"entry_id": f"bench-entry-{target:07d}", "measure_id": "bench-measure"}]
    if rng.random() < 0.1:
        hits.append(
            {"entry_id": f"bench-entry-{rng.randrange(hot):07d}", "measure_id": "bench-hot"}
        )
    decision_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return DecisionDraft(
        decision_id=decision_id,
        decided_at=dt.datetime.now(dt.UTC),
        caller="bench",
        department="finance",
        subject_id=f"BENCH{target:013d}",
        matter="government_procurement",
        request={"subject_id": f"BENCH{target:013d}", "matter": "government_procurement"},
        response={"decision_id": decision_id, "outcome": "prohibit", "hits": hits},
        policy_version=version,
        event_seq=event_seq,
    )


async def write_decisions(service: Service, args: argparse.Namespace) -> None:
    rng = random.Random(7)
    version = service.policy.bundle.version
    chunk = 4096
    done = 0
    started = time.perf_counter()
    while done < args.decisions:
        size = min(chunk, args.decisions - done)
        drafts = [draft(rng, args.entries, args.hot, service.state.seq, version)
                  for _ in range(size)]  # fmt: skip
        await asyncio.gather(*(service.decisions.append_async(d) for d in drafts))
        done += size
        if done % 100_000 < chunk:
            rate = done / (time.perf_counter() - started)
            say(f"{done} decisions written ({rate:.0f}/s)")


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {
        "p50_ms": round(pick(0.50) * 1000, 3),
        "p95_ms": round(pick(0.95) * 1000, 3),
        "p99_ms": round(pick(0.99) * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


def time_queries(service: Service, ids: list[str]) -> tuple[dict[str, float], int]:
    samples = []
    items = 0
    for entry_id in ids:
        started = time.perf_counter()
        page = remediation.entry_decisions(
            service, entry_id, department="finance", any_department=True, limit=100
        )
        samples.append(time.perf_counter() - started)
        items += len(page["items"])
    return percentiles(samples), items


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--decisions", type=int, default=500_000)
    parser.add_argument("--hot", type=int, default=10)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument(
        "--reuse", action="store_true", help="measure on the database the last run built"
    )
    args = parser.parse_args(argv)

    if args.reuse:
        url = (
            f"sqlite:///{OUT / 'remediation.db'}"
            if args.db == "sqlite"
            else f"{PG}/jrp_bench_remediation"
        )
        engine = db.create_db_engine(url)
    else:
        url = fresh_database(args.db)
        engine = db.create_db_engine(url)
        db.migrate(engine)
        say(f"appending {args.entries} entries to {url}")
        registered = entry_events(args.entries)
        for start in range(0, args.entries, 50_000):
            with db.session_scope(engine) as session:
                events.append(session, registered[start : start + 50_000])
                session.commit()
    started = time.perf_counter()
    service = Service.start(Settings(db=url, policy=ROOT / "memoranda"), engine=engine)
    say(f"service started in {time.perf_counter() - started:.1f}s")
    write_seconds = 0.0
    if not args.reuse:
        started = time.perf_counter()
        asyncio.run(write_decisions(service, args))
        write_seconds = time.perf_counter() - started
        say(f"{args.decisions} decisions in {write_seconds:.1f}s")
    with engine.connect() as connection:
        if args.db == "postgresql":
            connection.execute(sa.text("ANALYZE decision_hit"))
            connection.execute(sa.text("ANALYZE decision"))
            connection.commit()
        index_rows = connection.execute(sa.text("SELECT count(*) FROM decision_hit")).scalar()

    rng = random.Random(11)
    randoms = [f"bench-entry-{rng.randrange(args.hot, args.entries):07d}"
               for _ in range(args.queries)]  # fmt: skip
    hots = [f"bench-entry-{rng.randrange(args.hot):07d}" for _ in range(args.queries // 4)]
    time_queries(service, randoms[:100])  # warm the connection pool and caches
    random_figures, random_items = time_queries(service, randoms)
    hot_figures, hot_items = time_queries(service, hots)
    result: dict[str, Any] = {
        "db": args.db,
        "entries": args.entries,
        "decisions": args.decisions,
        "decision_hit_rows": index_rows,
        "write_seconds": round(write_seconds, 1),
        "decisions_per_second": round(args.decisions / write_seconds) if write_seconds else None,
        "random_entry": {**random_figures, "mean_items": random_items / len(randoms)},
        "hot_entry_first_page": {**hot_figures, "mean_items": hot_items / len(hots)},
    }
    service.close()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "entry_decisions.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
