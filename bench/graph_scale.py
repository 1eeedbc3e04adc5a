"""Role-graph scale benchmark: build time, memory and query latency per representation.

    python -m bench.graph_scale [--orgs N --persons N --relations N --seed S --queries Q]
                                [--impl compact|networkx|all]

Defaults are city scale (1.3M orgs, 2M persons, 3M relations). Each representation is
measured in its own child process, so resident memory and its peak (VmRSS, VmHWM from
/proc/self/status) are its own. Ids are generated from their index with valid check
characters, so the data set streams without being stored and is the same on every run.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import networkx as nx

from engine.registry.identifiers import (
    USCC_ALPHABET,
    normalize_subject_id,
    org_code_check_char,
    ric_check_char,
    uscc_check_char,
)
from engine.state.graph import (
    CompactRoleGraph,
    RoleGraph,
    RoleHolding,
    Row,
    check_period,
    holding_order,
    paused_gc,
)

# 天河区 440106 and other Guangzhou districts, plus Beijing 朝阳 and Shanghai 浦东.
REGIONS = ("440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114",
           "440115", "440117", "440118", "110105", "310115")  # fmt: skip
# Registration authority + category, repeated to weight them: mostly enterprises (91),
# some individual businesses (92), cooperatives (93), social orgs (51, 52), public
# institutions (12), organs (11), rural collectives (N2) and "other" (Y1).
ORG_HEADS = ("91", "91", "91", "91", "91", "92", "93", "51", "52", "12", "11", "N2", "Y1")
ROLES = ("legal_representative", "principal", "financial_officer", "director", "supervisor")
QUERY_ROLES = ("legal_representative", "principal")
_BORN_FROM = date(1940, 1, 1).toordinal()
_BORN_DAYS = date(2005, 12, 31).toordinal() - _BORN_FROM + 1
_HELD_FROM = date(1995, 1, 1).toordinal()
_HELD_DAYS = date(2026, 6, 30).toordinal() - _HELD_FROM + 1


def org_id(i: int) -> str:
    """The i-th org's 统一社会信用代码; distinct for distinct i < 10**8."""
    j = (i // 2 * 48_271 + 12_345) % 10**8  # a bijection, so codes look scattered
    if i % 2:
        body = "MA" + "".join(USCC_ALPHABET[j // 31**k % 31] for k in range(6))
    else:
        body = f"{j:08d}"
    head = ORG_HEADS[i % len(ORG_HEADS)] + REGIONS[i // 7 % len(REGIONS)] + body
    head += org_code_check_char(body)
    return head + uscc_check_char(head)


def person_id(i: int) -> str:
    """The i-th person's 公民身份号码; distinct for distinct i < 3 * 10**8."""
    j = i * 1_000_003 % (1000 * _BORN_DAYS * len(REGIONS))
    born = date.fromordinal(_BORN_FROM + j // 1000 % _BORN_DAYS)
    region = REGIONS[j // (1000 * _BORN_DAYS)]
    body = f"{region}{born.year}{born.month:02d}{born.day:02d}{j % 1000:03d}"
    return body + ric_check_char(body)


def relations(orgs: int, persons: int, count: int, seed: int) -> Iterator[Row]:
    """Every org first gets a legal representative, then random roles; ~30% of periods end."""
    rng = random.Random(seed)
    for k in range(count):
        first = k < orgs
        start = date.fromordinal(_HELD_FROM + rng.randrange(_HELD_DAYS))
        end = None if rng.random() < 0.7 else start + timedelta(days=rng.randrange(3650))
        yield (
            org_id(k if first else rng.randrange(orgs)),
            person_id(rng.randrange(persons)),
            ROLES[0] if first else rng.choice(ROLES),
            start,
            end,
        )


class NetworkxRoleGraph:
    """The product owner's first choice: a MultiDiGraph org -> person, edges keyed (role, start).

    networkx dicts change size while a writer adds, so readers take the lock too.
    """

    def __init__(self) -> None:
        self._g = nx.MultiDiGraph()
        self._lock = threading.Lock()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, org_id: str, person_id: str, role: str, start: date, end: date | None) -> bool:
        """Record a holding; True when new, False when it replaced the end of an existing one."""
        check_period(start, end)
        with self._lock:
            new = not self._g.has_edge(org_id, person_id, (role, start))
            self._g.add_edge(org_id, person_id, key=(role, start), end=end)
            self._count += new
            return new

    def _edges(self, adjacency: Any, subject_id: str, outgoing: bool) -> list[RoleHolding]:
        with self._lock:
            if subject_id not in adjacency:
                return []
            return [
                RoleHolding(
                    subject_id if outgoing else other,
                    other if outgoing else subject_id,
                    role,
                    start,
                    data["end"],
                )
                for other, keyed in adjacency[subject_id].items()
                for (role, start), data in keyed.items()
            ]

    def holders(self, org_id: str, roles: Collection[str], on: date) -> list[RoleHolding]:
        """Who held any of ``roles`` in the org on day ``on``."""
        found = self._edges(self._g.succ, org_id, outgoing=True)
        return sorted((h for h in found if h.role in roles and h.held_on(on)), key=holding_order)

    def positions(self, person_id: str, roles: Collection[str], on: date) -> list[RoleHolding]:
        """In which orgs the person held any of ``roles`` on day ``on``."""
        found = self._edges(self._g.pred, person_id, outgoing=False)
        return sorted((h for h in found if h.role in roles and h.held_on(on)), key=holding_order)

    def relations_of(self, subject_id: str) -> list[RoleHolding]:
        """Every holding of the subject, as org or as person, at any date."""
        found = {
            holding_order(h): h
            for h in self._edges(self._g.succ, subject_id, outgoing=True)
            + self._edges(self._g.pred, subject_id, outgoing=False)
        }
        return sorted(found.values(), key=holding_order)


def _build_compact(rows: Iterator[Row]) -> RoleGraph:
    graph = CompactRoleGraph()
    graph.load(rows)
    return graph


def _build_networkx(rows: Iterator[Row]) -> RoleGraph:
    graph = NetworkxRoleGraph()
    with paused_gc():
        for row in rows:
            graph.add(*row)
    return graph


BUILDERS: dict[str, Callable[[Iterator[Row]], RoleGraph]] = {
    "compact": _build_compact,
    "networkx": _build_networkx,
}


def _memory() -> dict[str, int]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) // 1024  # kB -> MiB
    return fields


def _percentiles(samples_ns: list[int]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ns, n=100, method="inclusive")
    return {"p50_us": cuts[49] / 1000, "p99_us": cuts[98] / 1000}


def measure(impl: str, args: argparse.Namespace) -> dict[str, Any]:
    """Build one representation and measure it (run in its own process)."""
    for i in range(0, args.orgs, max(1, args.orgs // 50)):  # the generator makes valid ids
        normalize_subject_id("org", org_id(i))
    for i in range(0, args.persons, max(1, args.persons // 50)):
        normalize_subject_id("person", person_id(i))
    base = _memory()
    began = time.perf_counter()
    for _ in relations(args.orgs, args.persons, args.relations, args.seed):
        pass
    generate_s = time.perf_counter() - began
    began = time.perf_counter()
    graph = BUILDERS[impl](relations(args.orgs, args.persons, args.relations, args.seed))
    build_s = time.perf_counter() - began
    gc.collect()
    built = _memory()
    result: dict[str, Any] = {
        "impl": impl,
        "holdings": len(graph),
        "generate_s": round(generate_s, 1),
        "build_s": round(build_s - generate_s, 1),
        "rss_base_mib": base["VmRSS"],
        "rss_mib": built["VmRSS"],
        "hwm_mib": built["VmHWM"],
    }
    rng = random.Random(args.seed + 1)
    days = [date.fromordinal(_HELD_FROM + rng.randrange(_HELD_DAYS)) for _ in range(args.queries)]
    digest = hashlib.sha256()
    for name, ids, query in (
        ("holders", [org_id(rng.randrange(args.orgs)) for _ in days], graph.holders),
        ("positions", [person_id(rng.randrange(args.persons)) for _ in days], graph.positions),
    ):
        samples, hits = [], 0
        for subject, day in zip(ids, days, strict=True):
            t0 = time.perf_counter_ns()
            found = query(subject, QUERY_ROLES, day)
            samples.append(time.perf_counter_ns() - t0)
            hits += len(found)
            digest.update(repr(found).encode())
        result.update({f"{name}_{k}": round(v, 2) for k, v in _percentiles(samples).items()})
        result[f"{name}_hits"] = hits
    result["answers_sha256"] = digest.hexdigest()[:16]
    result.update(_gc_and_writes(graph, args))
    return result


def _gc_and_writes(graph: RoleGraph, args: argparse.Namespace) -> dict[str, float]:
    began = time.perf_counter()
    gc.collect()
    frozen_ms = (time.perf_counter() - began) * 1000
    gc.unfreeze()
    began = time.perf_counter()
    gc.collect()
    unfrozen_ms = (time.perf_counter() - began) * 1000
    gc.freeze()
    rng = random.Random(args.seed + 2)
    writes = [
        (org_id(rng.randrange(args.orgs)), person_id(rng.randrange(args.persons)), role)
        for role in rng.choices(ROLES, k=20_000)
    ]
    day = date(2026, 7, 1)
    began = time.perf_counter()
    for org, person, role in writes:
        graph.add(org, person, role, day, None)
    add_us = (time.perf_counter() - began) / len(writes) * 1e6
    return {
        "gc_frozen_ms": round(frozen_ms, 1),
        "gc_unfrozen_ms": round(unfrozen_ms, 1),
        "add_us": round(add_us, 1),
    }


COLUMNS = ("impl", "holdings", "generate_s", "build_s", "rss_base_mib", "rss_mib", "hwm_mib",
           "holders_p50_us", "holders_p99_us", "positions_p50_us", "positions_p99_us",
           "add_us", "gc_frozen_ms", "gc_unfrozen_ms", "answers_sha256")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """Measure each representation in a child process and print one table row each."""
    parser = argparse.ArgumentParser(prog="python -m bench.graph_scale", description=__doc__)
    parser.add_argument("--orgs", type=int, default=1_300_000)
    parser.add_argument("--persons", type=int, default=2_000_000)
    parser.add_argument("--relations", type=int, default=3_000_000)
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--queries", type=int, default=100_000)
    parser.add_argument("--impl", choices=[*BUILDERS, "all"], default="all")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.impl, args)))
        return
    sizes = ["--orgs", str(args.orgs), "--persons", str(args.persons)]
    sizes += ["--relations", str(args.relations), "--seed", str(args.seed)]
    sizes += ["--queries", str(args.queries)]
    print(f"orgs={args.orgs:,} persons={args.persons:,} relations={args.relations:,}", flush=True)
    print("| " + " | ".join(COLUMNS) + " |", flush=True)
    print("|" + "---|" * len(COLUMNS), flush=True)
    for impl in BUILDERS if args.impl == "all" else [args.impl]:
        child = subprocess.run(
            [sys.executable, "-m", "bench.graph_scale", "--child", "--impl", impl, *sizes],
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(child.stdout.strip().splitlines()[-1])
        print("| " + " | ".join(str(row[c]) for c in COLUMNS) + " |", flush=True)


if __name__ == "__main__":
    main()
