"""Checks against the trivial endpoint, two code trees in alternating rounds (A/B).

    .venv/bin/python -m bench.ab --a DIR_A --b DIR_B [--db sqlite|postgresql] [--rounds 3]
                                 [--seconds 10] [--scale small]

Each tree is a checkout of the project (``git worktree add`` or ``git archive COMMIT | tar
-x -C DIR``); its ``jrp serve`` runs with ``PYTHONPATH=DIR`` from DIR, one worker, decision
log on, on a fresh copy of ``bench.run``'s base database with the data set's entries
imported (made once) for each server. Each round starts
A's server, measures it as ``bench.run.measure`` does (a warm-up of each endpoint, then the
trivial ``GET /healthz`` and ``POST /v1/checks`` once each), stops it, then does the same for
B (the order alternates between rounds, so neither tree always runs on a warmer machine).
Prints one line per server and, per round, each tree's throughput and p99 ratios, the load
average beside them; appends a summary line to ``bench/out/ab.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from bench import dataset, loadgen
from bench.run import (
    OUT,
    PYTHON,
    Server,
    database_url,
    ensure_base,
    jrp_import,
    measure,
    pg_copy,
    say,
    write_callers,
)


def ensure_with_entries(args: argparse.Namespace, base: str, data: Path, logs: Path) -> str:
    """The base database with the data set's entries imported (``jrp import entries``), made
    once from ``base``: the checks then find hits as in ``bench.run`` (about one in ten)."""
    url = database_url(args.db, args.scale, "entries", args.pg_url)
    marker = OUT / f"entries-{args.scale}-{args.db}.json"
    if marker.exists() and marker.read_text() == base and not args.rebuild_base:
        return url
    if args.db == "sqlite":
        target = OUT / f"{args.scale}-entries.db"
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(OUT / f"{args.scale}-base.db", target)
    else:
        pg_copy(args.pg_url, f"jrp_bench_{args.scale}_entries", f"jrp_bench_{args.scale}_base")
    jrp_import("entries", data / "entries.jsonl", url, logs)
    marker.write_text(base)
    return url


def fresh_copy(args: argparse.Namespace) -> str:
    """A copy of the database with entries, for one server's writes."""
    url = database_url(args.db, args.scale, "run", args.pg_url)
    if args.db == "sqlite":
        source, target = OUT / f"{args.scale}-entries.db", OUT / f"{args.scale}-run.db"
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(source, target)
        return url
    pg_copy(args.pg_url, f"jrp_bench_{args.scale}_run", f"jrp_bench_{args.scale}_entries")
    return url


def serve(tree: Path, name: str, url: str, callers: Path, logs: Path) -> Server:
    """``jrp serve`` of ``tree`` (its modules first on the path), one worker."""
    os.environ["PYTHONPATH"] = str(tree)
    try:
        command = [PYTHON, "-m", "api.cli", "serve", "--db", url, "--callers", str(callers)]
        server = Server(name, command, 1, logs)
    finally:
        os.environ.pop("PYTHONPATH", None)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", type=Path, required=True)
    parser.add_argument("--b", type=Path, required=True)
    parser.add_argument("--scale", default="small", choices=sorted(dataset.SCALES))
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rebuild-base", action="store_true")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    logs = OUT / f"logs-ab-{args.scale}-{args.db}"
    logs.mkdir(exist_ok=True)
    loadgen.ensure_wrk()
    data = OUT / f"data-{args.scale}"
    manifest = dataset.generate(args.scale, data)
    base, _ = ensure_base(args, manifest, data, logs)
    ensure_with_entries(args, base, data, logs)
    callers = write_callers(OUT / "bench-callers.yaml")
    measured = argparse.Namespace(**{**vars(args), "rounds": 1})
    trees = {"A": args.a.resolve(), "B": args.b.resolve()}
    rounds: list[dict[str, Any]] = []
    for number in range(args.rounds):
        order = ["A", "B"] if number % 2 == 0 else ["B", "A"]
        row: dict[str, Any] = {}
        for name in order:
            url = fresh_copy(args)
            server = serve(trees[name], f"{name}-{number}", url, callers, logs)
            try:
                server.wait_ready(timeout=600)
                row[name] = measure(server, measured, data / "checks.jsonl", logs)
            finally:
                server.stop()
            c, t = row[name]["check"], row[name]["trivial"]
            say(f"round {number} {name}: check {c['rps']:.0f}/s p50 {c['p50_ms']} p99 "
                f"{c['p99_ms']} ms ({c['cpu_us_per_request']} µs CPU); trivial {t['rps']:.0f}/s "
                f"p99 {t['p99_ms']} ms ({t['cpu_us_per_request']} µs CPU); ratios "
                f"{row[name]['throughput_ratio']} / {row[name]['p99_ratio']}; load "
                f"{c['loadavg_1m']}")  # fmt: skip
        rounds.append(row)

    def figures(name: str) -> dict[str, Any]:
        return {
            "throughput_ratio": [r[name]["throughput_ratio"] for r in rounds],
            "p99_ratio": [r[name]["p99_ratio"] for r in rounds],
            "check_rps": [r[name]["check"]["rps"] for r in rounds],
            "check_p99_ms": [r[name]["check"]["p99_ms"] for r in rounds],
            "check_cpu_us": [r[name]["check"]["cpu_us_per_request"] for r in rounds],
            "trivial_rps": [r[name]["trivial"]["rps"] for r in rounds],
            "trivial_p99_ms": [r[name]["trivial"]["p99_ms"] for r in rounds],
            "trivial_cpu_us": [r[name]["trivial"]["cpu_us_per_request"] for r in rounds],
            "throughput_ratio_median": statistics.median(
                r[name]["throughput_ratio"] for r in rounds
            ),
            "p99_ratio_median": statistics.median(r[name]["p99_ratio"] for r in rounds),
        }

    summary = {
        "label": args.label,
        "db": args.db,
        "scale": args.scale,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "a": str(trees["A"]),
        "b": str(trees["B"]),
        "A": figures("A"),
        "B": figures("B"),
        "load": [r["A"]["check"]["loadavg_1m"] for r in rounds],
    }
    print(json.dumps(summary))
    with (OUT / "ab.jsonl").open("a") as out:
        out.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
