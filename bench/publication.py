"""Public feed, credit report (JSON, PDF) and relationship map latencies, in process.

``python -m bench.publication [N]``: a SQLite store with N orgs, each with a legal
representative and one judgment-debtor entry (default 20,000), then p50/p95 of each read
through the HTTP app (TestClient). A first measurement, not city scale: docs/performance.md.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import load_callers
from engine import entries
from engine.registry.identifiers import org_code_check_char, ric_check_char, uscc_check_char
from engine.service import Service
from engine.settings import Settings
from tests.api.conftest import auth, write_callers
from tests.conftest import CONTRACT_BUNDLE


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


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
