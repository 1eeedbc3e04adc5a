"""Credit reports (JSON and PDF) and the relationship map over HTTP (docs/api.md#credit-report).
Run on both databases."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess
import time
from pathlib import Path

import networkx as nx
import pypdf

from engine import entries
from engine.graphmap import MAX_NODES
from engine.registry.identifiers import ric_check_char, subject_id_problem
from measures.schema import SubjectKind
from tests.api.conftest import Running, auth
from tests.api.test_credit_office import djd, objection, org, person, register, resolve

PDF = {"Accept": "application/pdf"}


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def seed(running: Running) -> tuple[str, str, list[dict[str, str]]]:
    company, boss = org(40), person(40)
    running.client.post(
        "/v1/subjects",
        json=[
            {"id": company, "kind": "org", "name": "广州示例建设工程有限公司"},
            {"id": boss, "kind": "person", "name": "张示例"},
        ],
        headers=auth("registrar"),
    )
    running.client.post(
        "/v1/relations",
        json=[{"org_id": company, "person_id": boss, "role": "legal_representative",
               "start": "2020-01-01", "end": None}],
        headers=auth("registrar"),
    )  # fmt: skip
    first = register(running, djd(company, doc_no="(2025)粤01执40号"))
    second = register(running, djd(company, doc_no="(2025)粤01执41号", decided_on="2025-04-01"))
    assert objection(running, second["id"], reason="已履行完毕").status_code == 200
    assert resolve(running, second["id"], outcome="upheld", note="核实属实").status_code == 200
    return company, boss, [first, second]


def test_the_report_as_json_and_as_pdf(running: Running, tmp_path: Path) -> None:
    company, boss, (first, second) = seed(running)
    report = running.client.get(f"/v1/subjects/{company}/report", headers=auth("auditor")).json()
    assert report["subject"]["name"] == "广州示例建设工程有限公司"
    assert [e["doc_no"] for e in report["entries"]] == [first["doc_no"], second["doc_no"]]
    steps = [(s["step"], s["detail"]) for s in report["entries"][1]["history"]]
    assert steps == [("registered", None), ("objection", "已履行完毕"), ("resolution", "upheld")]
    assert report["entries"][1]["status"] == "revoked"
    procurement = next(m for m in report["in_force"] if m["matter"] == "government_procurement")
    assert procurement["outcome"] == "prohibit" and procurement["measure_ids"]
    assert report["holdings"][0]["person_id"] == boss
    assert (report["entries_total"], report["next_cursor"], len(report["sha256"])) == (2, None, 64)

    answer = running.client.get(f"/v1/subjects/{company}/report", headers={**PDF, **auth("admin")})
    assert answer.headers["content-type"] == "application/pdf"
    text = pdf_text(answer.content)
    for expected in ("广州示例建设工程有限公司", first["doc_no"], second["doc_no"], "信用报告"):
        assert expected in text, expected
    sha = text.split("SHA-256:")[1].split()[0]
    assert len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)
    # The first page renders (poppler-utils, scripts/install-browser).
    pdf_path = tmp_path / "r.pdf"
    pdf_path.write_bytes(answer.content)
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm is not None, "scripts/install-browser installs poppler-utils"
    subprocess.run([pdftoppm, "-png", "-r", "40", "-f", "1", "-l", "1", pdf_path,
                    tmp_path / "p"], check=True)  # fmt: skip
    assert (tmp_path / "p-1.png").stat().st_size > 1000

    person_report = running.client.get(f"/v1/subjects/{boss}/report", headers=auth("registrar"))
    assert person_report.json()["subject"]["name"] == "张示例"
    for who, status in (("finance", 403), ("court", 403)):
        assert (
            running.client.get(f"/v1/subjects/{company}/report", headers=auth(who)).status_code
            == status
        )
    access = running.client.get(f"/v1/audit/access?subject_id={boss}", headers=auth("auditor"))
    assert [a["route"] for a in access.json()["items"]] == ["/v1/subjects/{id}/report"]


def test_a_report_of_thousands_of_entries_comes_in_pages(running: Running) -> None:
    company = org(41)
    rows = [djd(company, doc_no=f"(2025)粤01执{i}号") for i in range(1200)]
    entries.import_rows(running.service, rows, department="court")
    url = f"/v1/subjects/{company}/report"
    page = running.client.get(url, headers=auth("auditor")).json()
    assert (len(page["entries"]), page["entries_total"]) == (100, 1200)
    after = running.client.get(
        url, params={"cursor": page["next_cursor"], "limit": 500}, headers=auth("auditor")
    ).json()
    assert after["entries"][0]["doc_no"] == "(2025)粤01执100号"
    started = time.perf_counter()
    pdf = running.client.get(url, params={"limit": 500}, headers={**PDF, **auth("auditor")})
    assert time.perf_counter() - started < 10
    text = pdf_text(pdf.content)
    assert "(2025)粤01执499号" in text and "共 1200 条" in text
    for params in ({"limit": 0}, {"limit": 501}, {"cursor": "x\x00"}):
        assert running.client.get(url, params=params, headers=auth("auditor")).status_code == 422
    for bad in ("x%00y", org(42), "<b>"):
        status = running.client.get(f"/v1/subjects/{bad}/report", headers=auth("auditor"))
        assert status.status_code in (404, 422), bad


def test_the_relationship_map(running: Running) -> None:
    company, boss, _ = seed(running)
    other = org(43)
    running.client.post(
        "/v1/subjects", json=[{"id": other, "kind": "org", "name": "另一公司"}],
        headers=auth("registrar"),
    )  # fmt: skip
    running.client.post(
        "/v1/relations",
        json=[{"org_id": other, "person_id": boss, "role": "principal",
               "start": "2021-01-01", "end": "2023-12-31"}],
        headers=auth("registrar"),
    )  # fmt: skip
    url = f"/v1/subjects/{boss}/graph"
    one = running.client.get(url, headers=auth("auditor")).json()
    assert {n["id"] for n in one["nodes"]} == {boss, company, other}
    listed = {n["id"]: n["listed"] for n in one["nodes"]}
    assert listed == {boss: False, company: True, other: False}
    assert one["paths"][0]["path"] == [company, boss]
    two = running.client.get(f"/v1/subjects/{other}/graph?depth=2", headers=auth("admin")).json()
    assert {n["id"] for n in two["nodes"]} == {other, boss, company}
    assert {(e["org_id"], e["role"]) for e in two["edges"]} == {
        (other, "principal"), (company, "legal_representative")}  # fmt: skip
    graphml = running.client.get(
        url, headers={"Accept": "application/graphml+xml", **auth("auditor")}
    )
    assert graphml.headers["content-type"].startswith("application/graphml+xml")
    graph = nx.read_graphml(io.BytesIO(graphml.content))
    assert set(graph.nodes) == {boss, company, other}
    assert graph.nodes[company]["name"] == "广州示例建设工程有限公司"
    for params, status in (({"depth": 0}, 422), ({"depth": 4}, 422), ({"depth": "x"}, 422)):
        assert running.client.get(url, params=params, headers=auth("auditor")).status_code == status
    assert (
        running.client.get(f"/v1/subjects/{org(44)}/graph", headers=auth("auditor")).status_code
        == 404
    )
    assert running.client.get(url, headers=auth("registrar")).status_code == 403


def test_a_map_of_ten_thousand_holdings_is_bounded(running: Running) -> None:
    hub = org(50)
    first = dt.date(1950, 1, 1)
    persons = []
    n = 0
    while len(persons) < 10_000:  # citizen numbers that are not also valid org codes
        body = f"440106{first + dt.timedelta(days=n):%Y%m%d}011"
        n += 1
        if subject_id_problem(SubjectKind.org, body + ric_check_char(body)) is not None:
            persons.append(body + ric_check_char(body))
    subjects = [{"id": hub, "kind": "org", "name": "枢纽公司"}] + [
        {"id": p, "kind": "person", "name": f"员工{i}"} for i, p in enumerate(persons[:9_999])
    ]
    stored = running.client.post("/v1/subjects", json=subjects, headers=auth("registrar"))
    assert stored.status_code == 200, stored.text[:500]
    relations = [
        {"org_id": hub, "person_id": p, "role": "principal", "start": "2020-01-01", "end": None}
        for p in persons[:9_999]
    ]
    assert (
        running.client.post("/v1/relations", json=relations, headers=auth("registrar")).status_code
        == 200
    )
    last = [{"id": persons[9_999], "kind": "person", "name": "法人"}]
    running.client.post("/v1/subjects", json=last, headers=auth("registrar"))
    running.client.post(
        "/v1/relations",
        json=[{"org_id": hub, "person_id": persons[9_999], "role": "legal_representative",
               "start": "2020-01-01", "end": None}],
        headers=auth("registrar"),
    )  # fmt: skip
    assert len(running.service.state.graph.relations_of(hub)) == 10_000
    started = time.perf_counter()
    answer = running.client.get(f"/v1/subjects/{hub}/graph?depth=3", headers=auth("auditor"))
    assert time.perf_counter() - started < 1.0
    body = answer.json()
    assert body["truncated"] is True and "截断" in body["note"]
    assert len(body["nodes"]) == MAX_NODES
