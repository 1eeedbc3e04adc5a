"""Public feed, credit report (JSON, PDF) and relationship map latencies, in process.

``python -m bench.publication [N]``: a SQLite store with N orgs, each with a legal
representative and one judgment-debtor entry (default 20,000), then p50/p95 of each read
through the HTTP app (TestClient). A quick look.

``python -m bench.publication --db URL [--data bench/out/data-city]``: city scale, on a
database loaded from ``bench.dataset`` with ``jrp import subjects|relations|entries`` (the
shipped bundle, the demo callers). Times the feed index's build, then every read of issue 15
over many different subjects and searches (names, ids, dense and sparse substrings, single
characters, deep pages), and a feed read right after each of a run of writes. Prints Markdown
rows for docs/performance.md, with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import load_callers
from api.demo import DEMO_CALLERS
from engine import entries, publication
from engine import logging as logging_setup
from engine.registry.identifiers import org_code_check_char, ric_check_char, uscc_check_char
from engine.service import Service
from engine.settings import Settings
from engine.timing import china_today
from tests.api.conftest import auth, write_callers
from tests.conftest import CONTRACT_BUNDLE

ROOT = Path(__file__).resolve().parent.parent


def org(i: int) -> str:
    body = f"{i:08d}"
    head = "91440106" + body + org_code_check_char(body)
    return head + uscc_check_char(head)


def timed(client: TestClient, url: str, headers: dict[str, str], n: int = 50) -> str:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        answer = client.get(url, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.text[:300]
    samples.sort()
    p95 = samples[int(len(samples) * 0.95) - 1]
    return f"p50 {statistics.median(samples):.1f} ms, p95 {p95:.1f} ms"


def main(n: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    shutil.copytree(CONTRACT_BUNDLE, tmp / "b")
    settings = Settings(
        db=f"sqlite:///{tmp}/p.db", policy=tmp / "b", callers=write_callers(tmp / "c.yaml"),
        public_rate=1_000_000,
    )  # fmt: skip
    service = Service.start(settings)
    rows = [
        {"list": "dishonest_judgment_debtor", "subject_id": org(i), "subject_kind": "org",
         "subject_name": f"示例公司{i}", "decided_on": "2025-03-01", "doc_no": f"(2025)执{i}号",
         "attributes": {"amount": 2000000, "category": "tax_evasion"}}
        for i in range(n)
    ]  # fmt: skip
    started = time.perf_counter()
    entries.import_rows(service, rows, department="court")
    print(f"{n} entries imported in {time.perf_counter() - started:.1f} s")
    assert settings.callers is not None
    app = create_app(service, load_callers(settings.callers, service.policy.bundle.vocabulary))
    with TestClient(app) as client:
        body = f"44010619800101{0:03d}"
        boss = body + ric_check_char(body)
        client.post("/v1/subjects", json=[{"id": boss, "kind": "person", "name": "张示例"}],
                    headers=auth("registrar"))  # fmt: skip
        client.post(
            "/v1/relations",
            json=[{"org_id": org(i), "person_id": boss, "role": "legal_representative",
                   "start": "2020-01-01", "end": None} for i in range(50)],
            headers=auth("registrar"),
        )  # fmt: skip
        feed = "/public/v1/lists/dishonest_judgment_debtor/entries"
        print("feed page      ", timed(client, feed, {}))
        print("feed q=name    ", timed(client, feed + "?q=示例公司1234", {}))
        report = f"/v1/subjects/{org(7)}/report"
        print("report JSON    ", timed(client, report, auth("auditor")))
        pdf = {"Accept": "application/pdf", **auth("auditor")}
        print("report PDF     ", timed(client, report, pdf, n=10))
        print("graph depth 2  ", timed(client, f"/v1/subjects/{org(7)}/graph?depth=2",
                                       auth("auditor")))  # fmt: skip
    service.close()


def figures(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    return f"{len(samples)} | {statistics.median(samples):.1f} | {p95:.1f} | {samples[-1]:.1f}"


def sweep(client: TestClient, requests: list[tuple[str, dict[str, Any], dict[str, str]]],
          check: Callable[[Any], None] | None = None) -> list[float]:  # fmt: skip
    """Each (url, params, headers) once, in order; milliseconds each (every answer 200)."""
    samples = []
    for url, params, headers in requests:
        started = time.perf_counter()
        answer = client.get(url, params=params, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (url, params, answer.text[:300])
        if check is not None:
            check(answer)
    return samples


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def city(db: str, data: Path, samples: int, seed: int, renames: int) -> None:
    """Every issue-15 read at city scale (see the module's docstring)."""
    rng = random.Random(seed)
    logging_setup.configure(log_format="console", level="warning")
    print(f"load average before: {load()}")
    listed: dict[str, list[dict[str, Any]]] = {}
    with (data / "entries.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            listed.setdefault(row["list"], []).append(row)
    today = china_today().isoformat()
    djd = [  # shown today (the list has no max_publicity_days: while in force)
        row
        for row in listed["dishonest_judgment_debtor"]
        if row.get("effective_from", row["decided_on"]) <= today
        and (row.get("effective_to") is None or today < row["effective_to"])
    ]
    picked = rng.sample(djd, samples)
    wanted = {row["subject_id"] for row in picked}
    names: dict[str, str] = {}
    with (data / "subjects.csv").open(encoding="utf-8") as handle:
        for line in handle:
            subject_id, _kind, name, _region = line.rstrip("\n").split(",")
            if subject_id in wanted:
                names[subject_id] = name

    started = time.perf_counter()
    settings = Settings(db=db, policy=ROOT / "memoranda", callers=DEMO_CALLERS,
                        public_rate=1_000_000)  # fmt: skip
    service = Service.start(settings)
    print(f"service start (snapshot + catch-up): {time.perf_counter() - started:.1f} s, "
          f"{len(service.state.entries):,} entries, RSS {rss_mib():.0f} MiB")  # fmt: skip
    before = rss_mib()
    started = time.perf_counter()
    publication.warm(service)
    print(f"feed index build (what the app does at start, in the background): "
          f"{time.perf_counter() - started:.1f} s, RSS +{rss_mib() - before:.0f} MiB")  # fmt: skip
    app = create_app(service, load_callers(DEMO_CALLERS, service.policy.bundle.vocabulary))
    auditor = {"Authorization": "Bearer demo-auditor"}
    feed = "/public/v1/lists/{}/entries"
    print("| read | n | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|")
    with TestClient(app) as client:
        # Settle first: on a first start the verifiable logs are built from the whole event log
        # (engine/verifiable) and hold SQLite's write lock in turns, which every public request
        # (its rate-limit upsert) waits for. Timed apart: it is no cost of the feed.
        started = time.perf_counter()
        while True:
            began = time.perf_counter()
            client.get("/public/v1/lists")
            if time.perf_counter() - began < 0.05:
                break
        print(f"settling after start (first public answers): {time.perf_counter() - started:.1f} s")
        lists = [row["list"] for row in client.get("/public/v1/lists").json()]
        counts = {row["list"]: row["entries"] for row in client.get("/public/v1/lists").json()}
        print(f"<!-- published lists and rows shown today: {counts} -->")
        orgs = [row["subject_id"] for row in picked if row["subject_kind"] == "org"]
        persons = [row["subject_id"] for row in picked if row["subject_kind"] == "person"]

        def one(code: str, **params: Any) -> tuple[str, dict[str, Any], dict[str, str]]:
            return feed.format(code), params, {}

        def nonempty(answer: Any) -> None:
            assert answer.json()["items"], answer.request.url

        rows = {
            "feed page, no q (each published list in turn)":
                ([one(lists[i % len(lists)]) for i in range(samples)], None),
            "feed page 1-10 deep, no q (following next_cursor)": (None, None),
            "feed q = whole name of a listed org (finds it)":
                ([one("dishonest_judgment_debtor", q=names[s]) for s in orgs if s in names],
                 nonempty),
            "feed q = part of a listed org's name (its 4 middle characters)":
                ([one("dishonest_judgment_debtor", q=names[s][5:9]) for s in orgs if s in names],
                 nonempty),
            "feed q = whole org id": ([one("dishonest_judgment_debtor", q=s) for s in orgs],
                                      nonempty),
            "feed q = whole citizen number (masked match)":
                ([one("dishonest_judgment_debtor", q=s) for s in persons], nonempty),
            "feed q = 有限公司 (dense: most rows)":
                ([one(lists[i % len(lists)], q="有限公司") for i in range(samples)], None),
            "feed q = one character (王)":
                ([one(lists[i % len(lists)], q="王") for i in range(samples)], None),
            "feed q = 7 digits (sparse: pairs common, whole rare)":
                ([one("dishonest_judgment_debtor", q=f"{rng.randrange(10**7):07d}")
                  for _ in range(samples)], None),
            "feed q = no match (没有此名)":
                ([one(lists[i % len(lists)], q="没有此名") for i in range(samples)], None),
        }  # fmt: skip
        for label, (requests, check) in rows.items():
            if requests is None:
                pages = []
                cursor = None
                for _ in range(10):
                    params = {"cursor": cursor} if cursor else {}
                    pages.append((feed.format("dishonest_judgment_debtor"), params, {}))
                    cursor = client.get(pages[-1][0], params=params).json()["next_cursor"]
                requests = pages * max(1, samples // 10)
            print(f"| {label} | {figures(sweep(client, requests, check))} |")
        report = "/v1/subjects/{}/report"
        print(
            f"| credit report JSON (listed orgs) | "
            f"{figures(sweep(client, [(report.format(s), {}, auditor) for s in orgs]))} |"
        )
        pdf = {"Accept": "application/pdf", **auditor}
        print(
            f"| credit report PDF (listed orgs) | "
            f"{figures(sweep(client, [(report.format(s), {}, pdf) for s in orgs[:20]]))} |"
        )
        public = "/public/v1/orgs/{}/report"
        print(
            f"| public report JSON (listed orgs) | "
            f"{figures(sweep(client, [(public.format(s), {}, {}) for s in orgs]))} |"
        )
        graph = "/v1/subjects/{}/graph"
        maps = [(graph.format(s), {"depth": 2}, auditor) for s in orgs + persons]
        print(
            f"| relationship map, depth 2 (listed orgs and persons) | "
            f"{figures(sweep(client, maps))} |"
        )
        # A write, then the feed: the index applies the change instead of a pass.
        registrar = {"Authorization": "Bearer demo-registrar"}
        after: list[float] = []
        writes: list[float] = []
        token = time.strftime("%H%M%S")
        for i, subject_id in enumerate(orgs[:renames]):
            renamed = f"{names.get(subject_id, '示例')}(更名{token}-{i})"  # new every run
            began = time.perf_counter()
            answer = client.post("/v1/subjects", headers=registrar, json=[
                {"id": subject_id, "kind": "org", "name": renamed}])  # fmt: skip
            assert answer.status_code == 200, answer.text[:300]
            writes.append((time.perf_counter() - began) * 1000)
            assert answer.json()["updated"] == 1, answer.text
            after += sweep(client, [one("dishonest_judgment_debtor", q=renamed)], nonempty)
        print(f"| the rename itself (`POST /v1/subjects`, one org) | {figures(writes)} |")
        print(f"| feed q = new name, right after each rename (a write) | {figures(after)} |")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=20_000, help="synthetic store size")
    parser.add_argument("--db", help="a city-scale database (bench.dataset, jrp import)")
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "out" / "data-city")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--renames", type=int, default=50, help="writes, each then a feed read")
    args = parser.parse_args()
    if args.db:
        city(args.db, args.data, args.samples, args.seed, args.renames)
    else:
        main(args.n)
