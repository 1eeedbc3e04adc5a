"""Measurements that run inside one process of their own; each prints one JSON object.

    python -m bench.probe startup    --db URL
    python -m bench.probe inprocess  --db URL --checks FILE [--seconds S]
    python -m bench.probe decisions  --db URL --checks FILE --count N [--concurrency C]
    python -m bench.probe replay     --db URL

``bench.run`` starts each in a child process, so that memory (VmRSS, VmHWM) and CPU time are
that measurement's alone.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

from engine import logging as logging_setup


def memory_mib() -> dict[str, int]:
    """VmRSS and VmHWM of this process, MiB."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name.lower() + "_mib"] = int(value.split()[0]) // 1024
    return found


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def _start(db: str) -> tuple[Any, dict[str, Any]]:
    from engine.service import Service
    from engine.settings import Settings

    wall, cpu = time.perf_counter(), cpu_seconds()
    service = Service.start(Settings(db=db))
    return service, {
        "start_s": round(time.perf_counter() - wall, 2),
        "start_cpu_s": round(cpu_seconds() - cpu, 2),
        "events": service.state.seq,
        "subjects": len(service.state.subjects),
        "holdings": len(service.state.graph),
        "entries": len(service.state.entries),
        **memory_mib(),
    }


def startup(args: argparse.Namespace) -> dict[str, Any]:
    """``Service.start`` on the database as it is: snapshot load, catch-up, policy, triggers."""
    from engine.store import snapshot

    service, figures = _start(args.db)
    figures["snapshot_seq"] = snapshot.latest_seq(service.engine)
    service.close()
    return figures


def _requests(path: Path, limit: int | None = None) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return rows[:limit] if limit else rows


def inprocess(args: argparse.Namespace) -> dict[str, Any]:
    """``engine.checks.answer`` on the loaded state: no HTTP, no decision log, one thread."""
    from engine.checks import CheckRequest, answer, normalized_request
    from engine.timing import CHINA

    service, figures = _start(args.db)
    runtime = service.policy.runtime
    matters = runtime.bundle.vocabulary.matters
    now = dt.datetime.now(CHINA)
    raw = [CheckRequest(**row) for row in _requests(args.checks)]
    normalised = [normalized_request(r, vocabulary_matters=matters, now=now) for r in raw]
    state = service.state
    with_hits = [r for r in normalised if answer(state, runtime, r, decision_id="x")["hits"]]

    def rate(requests: list[dict[str, Any]], normalise: bool = False) -> float:
        done, cpu = 0, time.process_time()
        while time.process_time() - cpu < args.seconds:
            for request, source in zip(requests, raw, strict=False):
                if normalise:
                    normalized_request(source, vocabulary_matters=matters, now=now)
                answer(state, runtime, request, decision_id="x")
            done += len(requests)
        return done / (time.process_time() - cpu)

    figures.update(
        checks=len(normalised),
        with_hits=len(with_hits),
        answers_per_cpu_s=round(rate(normalised)),
        answers_with_hits_per_cpu_s=round(rate(with_hits)) if with_hits else None,
        normalise_and_answer_per_cpu_s=round(rate(normalised, normalise=True)),
    )
    service.close()
    return figures


def decisions(args: argparse.Namespace) -> dict[str, Any]:
    """Checks answered and logged in process (``decide_async``, log on), to fill the log."""
    from engine import checks

    service, figures = _start(args.db)
    requests = [checks.CheckRequest(**row) for row in _requests(args.checks)]

    async def run() -> None:
        gate = asyncio.Semaphore(args.concurrency)

        async def one(request: checks.CheckRequest) -> None:
            async with gate:
                await checks.decide_async(service, request, caller="bench", department="finance")

        for start in range(0, args.count, 10_000):
            batch = [
                requests[i % len(requests)] for i in range(start, min(start + 10_000, args.count))
            ]
            await asyncio.gather(*(one(request) for request in batch))

    wall, cpu = time.perf_counter(), cpu_seconds()
    asyncio.run(run())
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    log = service.decisions
    figures.update(
        decisions=args.count,
        decisions_per_s=round(args.count / wall),
        cpu_us_per_decision=round(cpu / args.count * 1e6),
        batches=log.batches_committed,
        largest_batch=log.largest_batch,
    )
    service.close()
    return figures


def replay(args: argparse.Namespace) -> dict[str, Any]:
    """``engine.replay.replay`` of the whole decision log under each recorded policy.

    The rate is of replaying: from the first decision re-answered to the last. Before it,
    replay restores the state at the first decision's position (the newest snapshot it
    allows, then events) and opens the ordered query of decisions: a fixed cost, like a
    start-up, reported apart as ``restore_s``.
    """
    from engine.audit.replay import replay as run_replay
    from engine.store import db

    engine = db.create_db_engine(args.db)
    first: list[float] = []

    def progress(done: int, _total: int) -> None:
        if not first:
            first.append(time.perf_counter())

    wall, cpu = time.perf_counter(), cpu_seconds()
    report = run_replay(engine, progress=progress)
    ended = time.perf_counter()
    wall, cpu = ended - wall, cpu_seconds() - cpu
    engine.dispose()
    replaying = ended - first[0] if first else 0.0
    restore = wall - replaying
    return {
        "replayed": report.replayed,
        "identical": report.identical,
        "changed": len(report.changed),
        "replay_s": round(wall, 1),
        "replay_cpu_s": round(cpu, 1),
        "restore_s": round(restore, 1),
        "decisions_per_s": round((report.replayed - 1) / replaying) if replaying else None,
        "decisions_per_s_with_restore": round(report.replayed / wall) if wall else None,
        **memory_mib(),
    }


COMMANDS = {"startup": startup, "inprocess": inprocess, "decisions": decisions, "replay": replay}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--db", required=True)
    parser.add_argument("--checks", type=Path)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    logging_setup.configure(log_format="json", level="warning")
    print(json.dumps(COMMANDS[args.command](args)), flush=True)


if __name__ == "__main__":
    main()
