"""Checks over HTTP, their decision records, feedback, the audit reads, and the chain under load."""

from __future__ import annotations

import threading
from typing import Any

from engine import decisions
from engine.checks import CheckRequest
from engine.service import Service
from engine.settings import Settings
from tests.api.conftest import Running, auth
from tests.api.test_entries_endpoints import ORG, PERSON, djd
from tests.checking import decide

AS_OF = "2026-11-22T10:00:00+08:00"


def _listed(running: Running) -> str:
    response = running.client.post("/v1/entries", json=djd(), headers=auth("court"))
    assert response.status_code == 201
    return str(response.json()["entry"]["id"])


def _check(running: Running, **body: Any) -> dict[str, Any]:
    request = {"subject_id": ORG, "matter": "government_procurement", "as_of": AS_OF, **body}
    response = running.client.post("/v1/checks", json=request, headers=auth("finance"))
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_check_answer_has_the_contract_shape_and_is_logged(running: Running) -> None:
    entry_id = _listed(running)
    body = _check(running, reference="采购项目 2026-001")
    assert body["outcome"] == body["binding_outcome"] == "prohibit"
    assert body["known_subject"] is True
    assert body["incentives_withheld"] is True  # a black-list entry of its own
    assert body["as_of"] == AS_OF
    assert body["policy_version"] == running.service.policy.bundle.version
    (hit,) = body["hits"]
    assert hit == {
        "memorandum_id": "dishonest-judgment-debtors",
        "memorandum_title": "关于对失信被执行人实施联合惩戒的合作备忘录",
        "doc_no": "发改财金〔2016〕141号",
        "kind": "punishment",
        "measure_id": "djd-procurement",
        "measure_text": "限制参与政府采购活动",
        "effect": "prohibit",
        "mandatory": True,
        "implementing": ["finance"],
        "legal_basis": "《中华人民共和国政府采购法》第二十二条",
        "entry_id": entry_id,
        "list": "dishonest_judgment_debtor",
        "initiating_department": "court",
        "via": None,
        "until": None,
    }
    logged = running.client.get(f"/v1/decisions/{body['decision_id']}", headers=auth("auditor"))
    assert logged.status_code == 200
    item = logged.json()
    assert item["response"] == body
    assert item["request"]["reference"] == "采购项目 2026-001"
    assert item["caller"] == "某市财政局"
    assert item["event_seq"] == running.service.state.seq
    assert item["seq"] == 1
    assert item["prev_hash"] == "0" * 64


def test_unknown_subject_matter_and_malformed_ids(running: Running) -> None:
    unknown = _check(running, subject_id=PERSON)
    assert unknown["known_subject"] is False
    assert unknown["outcome"] == "clear"
    assert unknown["hits"] == []
    for request, field in (
        ({"subject_id": ORG, "matter": "space_travel"}, "matter"),
        ({"subject_id": "91440101000010015P", "matter": "bidding"}, "subject_id"),
        ({"subject_id": ORG}, "matter"),
        ({"subject_id": ORG, "matter": "bidding", "as_of": "yesterday"}, "as_of"),
    ):
        response = running.client.post("/v1/checks", json=request, headers=auth("finance"))
        assert response.status_code == 422, request
        assert field in [d["field"] for d in response.json()["error"]["details"]]
    assert (
        running.client.post(
            "/v1/checks", json={"subject_id": ORG, "matter": "bidding"}, headers=auth("court")
        ).status_code
        == 403
    )


def test_default_as_of_is_now_in_china(running: Running) -> None:
    body = _check(running, as_of=None)
    assert body["as_of"].endswith("+08:00")


def test_feedback_rules_and_stats(running: Running) -> None:
    _listed(running)
    hit = _check(running)
    clear = _check(running, subject_id=PERSON)
    url = f"/v1/decisions/{hit['decision_id']}/feedback"
    ok = running.client.post(
        url,
        json={"measure_id": "djd-procurement", "executed": True, "note": "已拒绝"},
        headers=auth("finance"),
    )
    assert ok.status_code == 201, ok.text
    wrong_measure = running.client.post(
        url, json={"measure_id": "djd-financing", "executed": True}, headers=auth("finance")
    )
    assert wrong_measure.status_code == 422
    assert wrong_measure.json()["error"]["details"][0]["field"] == "measure_id"
    other_department = running.client.post(
        url, json={"measure_id": "djd-procurement", "executed": True}, headers=auth("tax")
    )
    assert other_department.status_code == 403
    missing = running.client.post(
        "/v1/decisions/nope/feedback",
        json={"measure_id": "x", "executed": True},
        headers=auth("finance"),
    )
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_decision"

    stats = running.client.get("/v1/stats/feedback", headers=auth("auditor"))
    assert stats.status_code == 200
    (finance,) = [d for d in stats.json()["departments"] if d["department"] == "finance"]
    assert finance["checks"] == 2
    assert finance["checks_with_hits"] == 1
    assert finance["executed"] == 1
    assert clear["hits"] == []


def test_decision_listing_pages_and_filters(running: Running) -> None:
    _listed(running)
    ids = [_check(running)["decision_id"] for _ in range(5)]
    _check(running, subject_id=PERSON)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"subject_id": ORG.lower(), "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = running.client.get("/v1/decisions", params=params, headers=auth("auditor")).json()
        seen += [item["decision_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    assert running.client.get("/v1/decisions", headers=auth("finance")).status_code == 403
    bad = running.client.get("/v1/decisions", params={"limit": 0}, headers=auth("auditor"))
    assert bad.status_code == 422


def test_verify_endpoint(running: Running) -> None:
    _listed(running)
    for _ in range(3):
        _check(running)
    assert running.client.get("/v1/audit/verify", headers=auth("auditor")).json() == {
        "ok": True,
        "length": 3,
        "first_bad_seq": None,
    }


def test_concurrent_checks_and_writes_on_two_services_keep_one_chain(
    running: Running, db_url: str
) -> None:
    """Two services on one database (as two worker processes) under concurrent writes and checks."""
    other = Service.start(Settings(db=db_url, policy=running.policy_dir))
    services = [running.service, other]
    errors: list[BaseException] = []
    seen_positions: list[tuple[int, int]] = []

    def checker(index: int) -> None:
        service = services[index % 2]
        try:
            for _ in range(15):
                stored = decide(
                    service,
                    CheckRequest(subject_id=ORG, matter="government_procurement", as_of=None),
                    caller="t",
                    department="finance",
                )
                seen_positions.append((stored.event_seq, len(stored.response["hits"])))
        except BaseException as exc:
            errors.append(exc)

    def writer() -> None:
        try:
            for day in range(1, 6):
                running.client.post(
                    "/v1/entries",
                    json=djd(decided_on=f"2025-01-0{day}", doc_no=f"W{day}"),
                    headers=auth("court"),
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=checker, args=(i,)) for i in range(6)]
    threads.append(threading.Thread(target=writer))
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other.close()
    assert not errors
    result = decisions.verify(running.service.engine)
    assert result.ok and result.length == 90
    # A decision's hits match the entries committed up to the position it records.
    registration_seqs = sorted(e.registered_seq for e in running.service.state.entries.values())
    for event_seq, hits in seen_positions:
        assert hits == sum(1 for seq in registration_seqs if seq <= event_seq)


def test_an_id_valid_as_both_kinds_is_checked_not_refused(running: Running) -> None:
    """About 1 in 341 citizen numbers also passes both org-code checks; it is well-formed."""
    ambiguous = "440106198001010537"
    body = _check(running, subject_id=ambiguous)
    assert body["known_subject"] is False
    assert body["outcome"] == "clear"
