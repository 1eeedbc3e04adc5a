"""Publication over HTTP (docs/api.md#publication): the public feed without a key, masked
persons that no public route unmasks, the per-address rate limit across workers, and 双公示
timeliness. Run on both databases."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from api.app import create_app
from api.auth import load_callers
from engine.calendar import count_working_days
from engine.publication import ratelimit
from engine.registry.identifiers import ric_check_char
from engine.service import Service
from engine.settings import Settings
from engine.timing import china_today
from tests.api.conftest import Running, auth, write_callers
from tests.api.test_credit_office import djd, org, person, register

FEED = "/public/v1/lists/dishonest_judgment_debtor/entries"


@pytest.fixture
def publicity(policy_dir: Path) -> Path:
    """The contract bundle with a 1000-day publicity period on the judgment-debtor list."""
    path = policy_dir / "vocabulary.yaml"
    vocabulary = yaml.safe_load(path.read_text(encoding="utf-8"))
    vocabulary["lists"]["dishonest_judgment_debtor"]["max_publicity_days"] = 1000
    vocabulary["lists"]["a_grade_taxpayer"]["publish"] = False
    path.write_text(yaml.safe_dump(vocabulary, allow_unicode=True), encoding="utf-8")
    return policy_dir


def twin(someone: str) -> str:
    """Another valid citizen number with the same masked form (region, last 4) as ``someone``."""
    for year in range(1950, 2000):
        body = f"{someone[:6]}{year}0101{someone[14:17]}"
        if body != someone[:17] and ric_check_char(body) == someone[17]:
            return body + someone[17]
    raise AssertionError("no twin found")


def names(page: dict[str, Any]) -> list[str]:
    return [item["subject_name"] for item in page["items"]]


def test_a_published_org_is_found_without_a_key(publicity: Path, running: Running) -> None:
    client = running.client
    company = org(1)
    client.post(
        "/v1/subjects",
        json=[{"id": company, "kind": "org", "name": "广州示例贸易有限公司"}],
        headers=auth("registrar"),
    )
    register(running, djd(company, doc_no="(2025)粤01执1号", reason="拒不履行"))
    old = register(running, djd(org(2), decided_on="2020-01-01", doc_no="(2020)粤01执2号"))
    penalty = {
        "list": "administrative_penalty",
        "subject_id": company,
        "subject_kind": "org",
        "decided_on": "2025-03-01",
        "doc_no": "穗市监罚〔2025〕1号",
    }
    register(running, penalty, who="tax")

    lists = client.get("/public/v1/lists").json()
    assert [(x["list"], x["entries"]) for x in lists] == [
        ("dishonest_judgment_debtor", 1),  # the 2020 entry is past its 1000 days
        ("focus_supervision", 0),
    ]  # a red list kept off by publish: false, a record list by default
    page = client.get(FEED, params={"q": "示例贸易"}).json()
    assert page["items"] == [
        {
            "subject_name": "广州示例贸易有限公司",
            "subject_id": company,
            "subject_kind": "org",
            "department": "court",
            "doc_no": "(2025)粤01执1号",
            "decided_on": "2025-03-01",
            "effective_from": "2025-03-01",
            "effective_to": None,
            "reason": "拒不履行",
        }
    ]
    assert client.get(FEED, params={"q": company.lower()}).json() == page
    assert client.get(FEED, params={"q": old["subject_id"]}).json()["items"] == []
    report = client.get(f"/public/v1/orgs/{company}/report").json()
    assert report["public"] is True
    assert report["subject"] == {"id": company, "kind": "org", "name": "广州示例贸易有限公司"}
    assert [e["doc_no"] for e in report["entries"]] == ["(2025)粤01执1号"]  # not the penalty
    assert len(report["sha256"]) == 64
    pdf = client.get(f"/public/v1/orgs/{company}/report", headers={"Accept": "application/pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    for path in (
        "/public/v1/lists/administrative_penalty/entries",
        "/public/v1/lists/nope/entries",
    ):
        assert client.get(path).json()["error"]["code"] == "unknown_list"


def test_a_masked_person_cannot_be_unmasked(running: Running) -> None:
    client = running.client
    someone, other = person(7), twin(person(7))
    client.post(
        "/v1/subjects",
        json=[
            {"id": someone, "kind": "person", "name": "张示例"},
            {"id": other, "kind": "person", "name": "张另人"},
            {"id": org(3), "kind": "org", "name": "示例科技有限公司"},
        ],
        headers=auth("registrar"),
    )
    client.post(
        "/v1/relations",
        json=[{"org_id": org(3), "person_id": someone, "role": "legal_representative",
               "start": "2020-01-01", "end": None}],
        headers=auth("registrar"),
    )  # fmt: skip
    with capture_logs() as logs:
        register(running, djd(someone, subject_kind="person", doc_no="(2025)粤01执7号"))
        register(running, djd(org(3), doc_no="(2025)粤01执3号"))
        masked = someone[:6] + "********" + someone[14:]
        whole = client.get(FEED).json()
        shown = [i for i in whole["items"] if i["subject_kind"] == "person"]
        assert [(i["subject_id"], i["subject_name"]) for i in shown] == [(masked, "张*")]
        by_id = client.get(FEED, params={"q": someone}).json()
        # A full id finds what its masked form shows, and a twin id the very same answer:
        # the feed does not confirm which citizen number is listed.
        assert by_id == client.get(FEED, params={"q": other}).json()
        assert by_id["items"] == shown
        assert client.get(FEED, params={"q": "张示例"}).json()["items"] == []
        assert client.get(FEED, params={"q": "张"}).json()["items"] == shown
        for path in (f"/public/v1/orgs/{someone}/report", f"/public/v1/orgs/{person(8)}/report"):
            answer = client.get(path)
            assert answer.status_code == 404 and answer.json()["error"]["code"] == "unknown_subject"
        report = client.get(f"/public/v1/orgs/{org(3)}/report")
        texts = [client.get(FEED).text, by_id and str(by_id), report.text, client.get(
            "/public/v1/lists").text]  # fmt: skip
        for text in texts:
            assert someone not in text and "张示例" not in text
        pdf = client.get(f"/public/v1/orgs/{org(3)}/report", headers={"Accept": "application/pdf"})
        assert pdf.status_code == 200
    assert someone not in str(logs)


def test_bad_public_input_is_a_clear_error(running: Running) -> None:
    register(running, djd(org(4), doc_no="(2025)粤01执4号"))
    client = running.client
    for q in ("' OR 1=1 --", "<script>alert(1)</script>", "%", "_", "\\", "😀", " "):
        assert client.get(FEED, params={"q": q}).status_code == 200, q
    for params in ({"q": "a\x00b"}, {"q": "\x00"}):  # NUL in any query: 422 naming it
        refused = client.get(FEED, params=params)
        assert refused.status_code == 422
        assert refused.json()["error"]["details"] == [
            {"field": "q", "message": "must not contain NUL"}
        ]
    for params in ({"q": "x" * 10_000}, {"limit": 0}, {"limit": 101}, {"cursor": "nope"},
                   {"limit": "x"}):  # fmt: skip
        answer = client.get(FEED, params=params)
        assert answer.status_code == 422, params
        assert answer.json()["error"]["code"] == "invalid_request"
        assert next(iter(params)) in str(answer.json()["error"]["details"]), answer.json()
    for path in ("/public/v1/orgs/x%00y/report", "/public/v1/orgs/" + "9" * 60 + "/report",
                 "/public/v1/lists/%00/entries", "/public/v1/orgs/<b>/report"):  # fmt: skip
        assert client.get(path).status_code in (404, 422), path


def test_q_is_compared_folded_and_follows_new_names(running: Running) -> None:
    """NFKC and case folding (full width, case), a rename found by its new name at once."""
    client = running.client
    company = org(20)
    named = {"id": company, "kind": "org", "name": "广州ABC科技有限公司"}
    client.post("/v1/subjects", json=[named], headers=auth("registrar"))
    register(running, djd(company, doc_no="(2025)粤01执20号"))
    for q in ("abc", "ＡＢＣ", "ａｂｃ科技", " Abc "):
        assert names(client.get(FEED, params={"q": q}).json()) == ["广州ABC科技有限公司"], q
    for q in ("abd", "ABC有限", "😀", ".*", "(", "a" * 200):
        assert client.get(FEED, params={"q": q}).json()["items"] == [], q
    renamed = {**named, "name": "广州新名有限公司"}
    client.post("/v1/subjects", json=[renamed], headers=auth("registrar"))
    assert client.get(FEED, params={"q": "ABC"}).json()["items"] == []
    assert names(client.get(FEED, params={"q": "新名"}).json()) == ["广州新名有限公司"]
    assert client.get("/public/v1/lists").json()[0]["entries"] == 1


def test_pages_follow_the_cursor(running: Running) -> None:
    for i in range(5):
        register(running, djd(org(10 + i), doc_no=f"(2025)粤01执{i}号"))
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = running.client.get(FEED, params=params).json()
        seen += [item["doc_no"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"(2025)粤01执{i}号" for i in reversed(range(5))]


@pytest.fixture
def limited(db_url: str, policy_dir: Path, tmp_path: Path) -> Iterator[list[TestClient]]:
    """Two workers (two services, two apps) on one database, 3 public requests a minute."""
    callers = write_callers(tmp_path / "c.yaml")
    settings = Settings(db=db_url, policy=policy_dir, callers=callers, public_rate=3)
    clients = []
    services = [Service.start(settings), Service.start(settings)]
    for service in services:
        registry = load_callers(callers, service.policy.bundle.vocabulary)
        clients.append(TestClient(create_app(service, registry), raise_server_exceptions=False))
    with clients[0], clients[1]:
        yield clients


def test_the_rate_limit_holds_across_workers(
    limited: list[TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The window is the calendar minute: four requests straddling a minute's end would be
    # counted in two windows (seen in CI). Half past this minute, for every request here.
    moment = time.time() // 60 * 60 + 30
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: moment))
    first, second = limited
    statuses = [(first if n % 2 else second).get("/public/v1/lists").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = first.get(FEED)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.headers["Retry-After"] == "30"
    # Keyed routes are not limited.
    assert first.get("/v1/policy", headers=auth("auditor")).status_code == 200


def test_publication_timeliness_per_department_and_month(running: Running) -> None:
    today = china_today()
    long_ago = today - dt.timedelta(days=40)
    register(running, djd(org(30), decided_on=today.isoformat()))
    register(running, djd(org(31), decided_on=long_ago.isoformat()))
    stats = running.client.get("/v1/stats/publication", headers=auth("auditor")).json()
    late_by, _ = count_working_days(long_ago, today)
    (court,) = stats["departments"]
    assert stats["publication_working_days"] == 7
    assert (court["department"], court["registered"], court["late"]) == ("court", 2, 1)
    assert court["median_delay_working_days"] == late_by / 2
    assert court["months"] == [
        {"month": f"{today:%Y-%m}", "registered": 2, "late": 1,
         "median_delay_working_days": late_by / 2}
    ]  # fmt: skip
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    empty = running.client.get(
        "/v1/stats/publication", params={"since": tomorrow}, headers=auth("auditor")
    ).json()
    assert empty["departments"] == []
    assert running.client.get("/v1/stats/publication", headers=auth("finance")).status_code == 403
    bad = running.client.get(
        "/v1/stats/publication", params={"since": tomorrow, "until": "2000-01-01"},
        headers=auth("auditor"),
    )  # fmt: skip
    assert bad.status_code == 422
    assert (
        running.client.get(
            "/v1/stats/publication", params={"since": "2025-13-01"}, headers=auth("auditor")
        ).status_code
        == 422
    )
