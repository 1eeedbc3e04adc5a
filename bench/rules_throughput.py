"""Trigger evaluation throughput and memory of engine.rules for a few bundle shapes.

    python -m bench.rules_throughput [--scenario NAME] [--seconds S]

Each scenario runs in its own child process (so its resident memory is its own) and prints
one line: compile time, rulesets, RSS after compile and after every ruleset's session exists,
and evaluations per second of CPU time (the machine may be shared; wall time is printed too).
Scenarios: ``shipped`` (memoranda/, ~10 memoranda), ``one-list-2000`` (2,000 triggers on one
list; entries matching none, half and all of them), ``lists-600`` (one trigger on each of 600
lists).
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ("shipped", "one-list-2000", "lists-600")


def rss_mib() -> float:
    """Resident set size of this process in MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def rate(evaluate: Callable[[int], Any], seconds: float) -> tuple[float, float]:
    """Evaluations per CPU second and per wall second, over about ``seconds`` of CPU."""
    count, cpu, wall = 0, time.process_time(), time.perf_counter()
    while time.process_time() - cpu < seconds:
        for n in range(count, count + 50):
            evaluate(n)
        count += 50
    return count / (time.process_time() - cpu), count / (time.perf_counter() - wall)


def run(scenario: str, seconds: float) -> None:
    """Measure one scenario in this process and print its lines."""
    from engine.policy.bundles import load_bundle
    from engine.policy.rules import CompiledPolicy
    from tests.engine.policy.rules.rules_helpers import make_bundle

    cases: dict[str, Callable[[int], Any]] = {}
    if scenario == "shipped":
        bundle = load_bundle(ROOT / "memoranda")
    elif scenario == "one-list-2000":
        bundle = make_bundle(
            [
                {"id": f"m{n:04d}", "triggers": [{"list": "big", "when": _gte("amount", n)}]}
                for n in range(2000)
            ],
            loader=False,
        )
    else:
        bundle = make_bundle(
            [
                {"id": f"m{n:03d}", "triggers": [{"list": f"l{n:03d}", "when": _gte("level", 3)}]}
                for n in range(600)
            ],
            loader=False,
        )
    gc.collect()
    base = rss_mib()
    started = time.process_time()
    policy = CompiledPolicy.compile(bundle)
    compile_seconds = time.process_time() - started
    compiled = rss_mib()

    if scenario == "shipped":
        lists = list(bundle.triggers_by_list)
        categories = ["tax_evasion", "export_rebate_fraud", "facilitation", "other"]

        def shipped(n: int) -> Any:
            attributes = {"category": categories[n % 4], "unpaid_tax_amount": n * 1000}
            kind = "org" if n % 2 else "person"
            return policy.triggered(
                list_code=lists[n % len(lists)], subject_kind=kind, attributes=attributes
            )

        cases["mixed entries (~1 match)"] = shipped
        cases["derivations_met"] = lambda n: policy.derivations_met(
            list_code="administrative_penalty", window_counts={"repeat-penalties": n % 5}
        )
    elif scenario == "one-list-2000":

        def one_list(amount: int) -> Callable[[int], Any]:
            return lambda n: policy.triggered(
                list_code="big", subject_kind="org", attributes={"amount": amount}
            )

        for label, amount in [("match none", -1), ("match 1000", 999), ("match all", 10**9)]:
            cases[label] = one_list(amount)
    else:
        cases["one list of 600 (1 match)"] = lambda n: policy.triggered(
            list_code=f"l{n % 600:03d}", subject_kind="org", attributes={"level": 5}
        )
    for evaluate in cases.values():  # create every session (priming) before measuring
        for n in range(600):
            evaluate(n)
    gc.collect()
    primed = rss_mib()
    print(
        f"{scenario}: {len(policy.rulesets)} rulesets, compile {compile_seconds:.2f} s CPU, "
        f"RSS +{compiled - base:.1f} MiB compiled, +{primed - base:.1f} MiB with sessions"
    )
    for label, evaluate in cases.items():
        per_cpu, per_wall = rate(evaluate, seconds)
        print(f"  {label}: {per_cpu:,.0f}/s CPU ({per_wall:,.0f}/s wall)")
    policy.close()


def _gte(field: str, value: int) -> dict[str, Any]:
    return {"field": field, "op": "gte", "value": value}


def main() -> None:
    """Run one scenario here, or every scenario in a child process each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=SCENARIOS)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    if args.scenario:
        run(args.scenario, args.seconds)
        return
    for scenario in SCENARIOS:
        command = [sys.executable, "-m", "bench.rules_throughput", "--scenario", scenario]
        subprocess.run([*command, "--seconds", str(args.seconds)], check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
