"""The decision log's on/off throughput ratio alone, in alternating rounds (docs/performance.md).

``PYTHONPATH=TREE .venv/bin/python bench/log_onoff.py --db sqlite --rounds 4`` (run from
TREE): the HTTP part of ``bench/run.py`` for the one-worker configurations only, with the
log (``jrp serve``) and without it (``bench.server --no-decision-log``) one after the other,
``--rounds`` times, on a fresh copy of the base database each time; each server gets the
warm-up of ``bench.run.measure`` and one measured run of each endpoint. It imports
``bench.run`` from the tree on ``PYTHONPATH``, so the same script measures an older commit
checked out elsewhere (``git archive COMMIT | tar -x -C DIR``) with the same options.
Prints one line per server and the ratios per round.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.run import (
    PYTHON,
    Server,
    fresh_run_database,
    measure,
    prepare_rounds,
    rounds_parser,
    save_summary,
    say,
)


def main() -> None:
    args = rounds_parser(__doc__.split("\n\n")[0], seconds=5, rounds=4).parse_args()
    setup = prepare_rounds(args, "onoff")
    rounds: list[dict[str, Any]] = []
    for number in range(args.rounds):
        row: dict[str, Any] = {}
        for name, module, extra in (("on", "api.cli", ["serve"]),
                                    ("off", "bench.server", ["--no-decision-log"])):  # fmt: skip
            url = fresh_run_database(args)
            callers = str(setup.callers)
            command = [PYTHON, "-m", module, *(extra if name == "on" else []), "--db", url,
                       "--callers", callers, *(extra if name == "off" else [])]  # fmt: skip
            server = Server(f"{name}-{number}", command, 1, setup.logs)
            try:
                server.wait_ready(timeout=600)
                row[name] = measure(server, setup.measured, setup.data / "checks.jsonl", setup.logs)
            finally:
                server.stop()
            c, t = row[name]["check"], row[name]["trivial"]
            say(f"round {number} log {name}: check {c['rps']:.0f}/s p50 {c['p50_ms']} ms "
                f"p99 {c['p99_ms']} ms ({c['cpu_us_per_request']} µs CPU); trivial "
                f"{t['rps']:.0f}/s p99 {t['p99_ms']} ms; load {c['loadavg_1m']}")  # fmt: skip
        row["ratio"] = round(row["on"]["check"]["rps"] / row["off"]["check"]["rps"], 3)
        say(f"round {number}: on/off {row['ratio']}")
        rounds.append(row)
    ratios = [r["ratio"] for r in rounds]
    summary = {
        "label": args.label,
        "db": args.db,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "ratios": ratios,
        "ratio_median": statistics.median(ratios),
        "on_check_rps": [r["on"]["check"]["rps"] for r in rounds],
        "off_check_rps": [r["off"]["check"]["rps"] for r in rounds],
        "on_check_p99_ms": [r["on"]["check"]["p99_ms"] for r in rounds],
        "off_check_p99_ms": [r["off"]["check"]["p99_ms"] for r in rounds],
        "load": [r["on"]["check"]["loadavg_1m"] for r in rounds],
    }
    save_summary("log_onoff", summary)


if __name__ == "__main__":
    main()
