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
import os
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.run import (
    OUT,
    PYTHON,
    RoundsSetup,
    Server,
    copy_database,
    jrp_import,
    measure,
    prepare_rounds,
    rounds_parser,
    save_summary,
    say,
)


def ensure_with_entries(args: argparse.Namespace, setup: RoundsSetup) -> None:
    """The base database with the data set's entries imported (``jrp import entries``), made
    once from the base: the checks then find hits as in ``bench.run`` (about one in ten)."""
    marker = OUT / f"entries-{args.scale}-{args.db}.json"
    if marker.exists() and marker.read_text() == setup.base and not args.rebuild_base:
        return
    url = copy_database(args, "base", "entries")
    jrp_import("entries", setup.data / "entries.jsonl", url, setup.logs)
    marker.write_text(setup.base)


def serve(tree: Path, name: str, url: str, callers: Path, logs: Path) -> Server:
    """``jrp serve`` of ``tree``, one worker, run from ``tree``: ``python -m`` puts its
    working directory first on ``sys.path``, before ``PYTHONPATH``, so a server started from
    the project root would run the project's code whatever tree it was meant to run (it did,
    until session 11: every A/B before then compared the project with itself)."""
    tree = tree.resolve()
    runs_tree(tree)
    os.environ["PYTHONPATH"] = str(tree)
    try:
        command = [PYTHON, "-m", "api.cli", "serve", "--db", url, "--callers", str(callers)]
        server = Server(name, command, 1, logs, cwd=tree)
    finally:
        os.environ.pop("PYTHONPATH", None)
    return server


def runs_tree(tree: Path) -> None:
    """Exit unless the interpreter, started as ``serve`` starts it, imports ``tree``'s code."""
    found = subprocess.run(
        [PYTHON, "-c", "import api.cli; print(api.cli.__file__)"],
        cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    module = Path(found.stdout.strip() or "?").resolve()
    if found.returncode != 0 or not module.is_relative_to(tree):
        raise SystemExit(f"{tree} would not run its own code: api.cli is {module}")


def main() -> None:
    parser = rounds_parser(__doc__.split("\n\n")[0], seconds=10, rounds=3)
    parser.add_argument("--a", type=Path, required=True)
    parser.add_argument("--b", type=Path, required=True)
    args = parser.parse_args()
    setup = prepare_rounds(args, "ab")
    ensure_with_entries(args, setup)
    trees = {"A": args.a.resolve(), "B": args.b.resolve()}
    rounds: list[dict[str, Any]] = []
    for number in range(args.rounds):
        order = ["A", "B"] if number % 2 == 0 else ["B", "A"]
        row: dict[str, Any] = {}
        for name in order:
            url = copy_database(args, "entries", "run")
            server = serve(trees[name], f"{name}-{number}", url, setup.callers, setup.logs)
            try:
                server.wait_ready(timeout=600)
                row[name] = measure(server, setup.measured, setup.data / "checks.jsonl", setup.logs)
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
    save_summary("ab", summary)


if __name__ == "__main__":
    main()
