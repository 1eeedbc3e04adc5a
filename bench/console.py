"""How fast each console page answers, against a database this script builds.

    python -m bench.console [--scale small|city] [--decisions N] [--requests N] [--db URL]

Builds (once; reused while ``bench/out/console-<scale>.db`` exists) a SQLite database from
``bench.dataset`` with ``jrp import subjects|relations|entries``, fills the decision log
with ``--decisions`` checks of the data set's workload (group-committed, as the service
does) and feedback on every tenth, starts ``jrp serve`` on it, signs in through the login
form, and requests every console page ``--requests`` times, one at a time. Prints p50/p95
per page (Markdown) and writes ``bench/out/console.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from bench import dataset
from tests.console.helpers import csrf_of
from tests.serving import ServeProcess

OUT = Path(__file__).resolve().parent / "out"
PYTHON = sys.executable
KEY = "bench-console"


def _jrp(*args: str) -> None:
    subprocess.run([PYTHON, "-m", "api.cli", *args], check=True)


def build(scale: str, url: str, decisions: int) -> None:
    files = OUT / f"dataset-{scale}"
    if not (files / "manifest.json").exists():
        dataset.generate(scale, files)
    for kind in ("subjects", "relations", "entries"):
        suffix = "jsonl" if kind == "entries" else "csv"
        print(f"== jrp import {kind}", flush=True)
        _jrp("import", kind, str(files / f"{kind}.{suffix}"), "--db", url)
    print(f"== {decisions} decisions", flush=True)
    asyncio.run(_decide(url, files / "checks.jsonl", decisions))


async def _decide(url: str, workload: Path, count: int) -> None:
    from engine import checks, decisions
    from engine.service import Service
    from engine.settings import Settings

    service = Service.open(Settings(db=url))
    requests = [json.loads(line) for line in workload.read_text().splitlines()]
    departments = ["finance", "housing_construction", "tax", "market_regulation"]
    done = 0
    try:
        while done < count:
            batch = []
            for i in range(done, min(done + 500, count)):
                item = requests[i % len(requests)]
                request = checks.CheckRequest(subject_id=item["subject_id"], matter=item["matter"])
                department = departments[i % len(departments)]
                draft = checks.draft(service, request, caller="bench", department=department)
                batch.append(service.decisions.append_async(draft))
            stored = await asyncio.gather(*batch)
            for position, decision in enumerate(stored):
                hits = decision.response["hits"]
                if hits and position % 10 == 0:
                    decisions.report_feedback(
                        service.engine,
                        decision.decision_id,
                        measure_id=hits[0]["measure_id"],
                        executed=position % 20 == 0,
                        note=None,
                        caller="bench",
                        department=decision.department,
                    )
            done += len(batch)
    finally:
        service.close()


def measure(url: str, requests: int) -> dict[str, dict[str, float]]:
    callers = OUT / "console-callers.yaml"
    digest = hashlib.sha256(KEY.encode()).hexdigest()
    callers.write_text(
        yaml.safe_dump(
            {"callers": [{"name": "bench", "department": "finance", "key_sha256": digest,
                          "roles": ["auditor", "implementer", "credit_office", "policy_admin"]}]},
            allow_unicode=True,
        )
    )  # fmt: skip
    command = [PYTHON, "-m", "api.cli", "serve", "--db", url, "--callers", str(callers)]
    results: dict[str, dict[str, float]] = {}
    with ServeProcess(command, OUT / "console-serve.log") as server:
        server.wait_ready(1800)
        with httpx.Client(base_url=server.base, timeout=120) as client:
            form = client.get("/console/login")
            client.post("/console/login", data={"key": KEY, "csrf": csrf_of(form.text)})
            log = client.get("/console/decisions").text
            decision = log.split('href="/console/decisions/', 1)[1].split('"', 1)[0]
            subject = log.split('href="/console/subjects/', 1)[1].split('"', 1)[0]
            versions = client.get("/console/policy").text
            version = versions.split('<option value="', 1)[1].split('"', 1)[0]
            pages = {
                "/console/": "/console/",
                "/console/memoranda": "/console/memoranda",
                "/console/memoranda/{id}": "/console/memoranda/dishonest-judgment-debtors",
                "/console/policy": "/console/policy",
                "/console/policy (diff)": f"/console/policy?from={version}&to={version}",
                "/console/decisions": "/console/decisions",
                "/console/decisions (filtered)": "/console/decisions?department=tax&outcome=clear",
                "/console/decisions/{id}": f"/console/decisions/{decision}",
                "/console/subjects/{id}": f"/console/subjects/{subject}",
                "/console/objections": "/console/objections",
                "/console/stats": "/console/stats",
                "/console/check": "/console/check",
            }
            for name, path in pages.items():
                times = []
                for _ in range(requests):
                    started = time.perf_counter()
                    answer = client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, (path, answer.status_code)
                times.sort()
                results[name] = {
                    "p50_ms": round(statistics.median(times), 1),
                    "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
                }
            started = time.perf_counter()
            client.get(f"/console/decisions/{decision}?replay=1")
            results["/console/decisions/{id}?replay=1 (once)"] = {
                "p50_ms": round((time.perf_counter() - started) * 1000, 1),
                "p95_ms": float("nan"),
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["small", "city"], default="small")
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    url = args.db or f"sqlite:///{OUT / f'console-{args.scale}-{args.decisions}.db'}"
    if args.db is None and not Path(url.removeprefix("sqlite:///")).exists():
        build(args.scale, url, args.decisions)
    results = measure(url, args.requests)
    (OUT / "console.json").write_text(json.dumps(results, indent=2))
    print("| page | p50 ms | p95 ms |\n|---|---:|---:|")
    for name, figures in results.items():
        print(f"| `{name}` | {figures['p50_ms']} | {figures['p95_ms']} |")


if __name__ == "__main__":
    main()
