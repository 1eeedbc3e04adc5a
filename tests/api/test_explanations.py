"""``"explain": true`` on POST /v1/checks: every reason code of the contract, through HTTP."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Running, auth
from tests.api.test_entries_endpoints import ORG, PERSON, djd

AS_OF = "2026-11-22T10:00:00+08:00"


def _entry(running: Running, caller: str = "court", **overrides: Any) -> str:
    response = running.client.post("/v1/entries", json=djd(**overrides), headers=auth(caller))
    assert response.status_code == 201, response.text
    return str(response.json()["entry"]["id"])


def _explain(
    running: Running, subject_id: str = ORG, matter: str = "government_procurement", **body: Any
) -> dict[str, Any]:
    request = {"subject_id": subject_id, "matter": matter, "as_of": AS_OF, "explain": True, **body}
    response = running.client.post("/v1/checks", json=request, headers=auth("finance"))
    assert response.status_code == 200, response.text
    return dict(response.json())


def _reasons(body: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(item["measure_id"], item["reason"]) for item in body["explanation"]]


def _legal_representative(running: Running, start: str = "2020-01-01") -> None:
    people = [{"id": PERSON, "kind": "person", "name": "张示例"}]
    assert running.client.post("/v1/subjects", json=people, headers=auth("registrar")).is_success
    holding = {"org_id": ORG, "person_id": PERSON, "role": "legal_representative",
               "start": start, "end": None}  # fmt: skip
    response = running.client.post("/v1/relations", json=[holding], headers=auth("registrar"))
    assert response.status_code == 200, response.text


def _reload(running: Running, old: str, new: str) -> None:
    path = running.policy_dir / "court" / "dishonest-judgment-debtors.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    assert running.client.post("/v1/policy/reload", headers=auth("admin")).status_code == 200


def test_without_explain_the_answer_has_no_explanation(running: Running) -> None:
    _entry(running, attributes={"amount": 5})
    request = {"subject_id": ORG, "matter": "government_procurement", "as_of": AS_OF}
    body = running.client.post("/v1/checks", json=request, headers=auth("finance")).json()
    assert "explanation" not in body
    logged = running.client.get(f"/v1/decisions/{body['decision_id']}", headers=auth("auditor"))
    assert "explain" not in logged.json()["request"]


def test_entry_status_reasons(running: Running) -> None:
    objected = _entry(running, doc_no="（2025）粤01执1号")
    revoked = _entry(running, doc_no="（2025）粤01执2号")
    repaired = _entry(running, doc_no="（2025）粤01执3号")
    admin, court = auth("admin"), auth("court")
    body = {"reason": "异议"}
    assert running.client.post(
        f"/v1/entries/{objected}/objection", json=body, headers=admin
    ).is_success
    assert running.client.post(f"/v1/entries/{revoked}/revoke", headers=court).is_success
    assert running.client.post(f"/v1/entries/{repaired}/repair", json={}, headers=admin).is_success
    answer = _explain(running)
    assert answer["hits"] == []
    by_entry = {item["entry_id"]: item for item in answer["explanation"]}
    assert by_entry[objected]["reason"] == "under_objection"
    assert by_entry[revoked]["reason"] == "revoked"
    assert by_entry[repaired]["reason"] == "repaired"
    assert by_entry[revoked]["memorandum_id"] is None and by_entry[revoked]["measure_id"] is None
    assert by_entry[revoked]["subject_id"] == ORG and by_entry[revoked]["via"] is None


def test_window_reasons(running: Running) -> None:
    expired = _entry(running, effective_to="2026-01-01", doc_no="1")
    future = _entry(running, effective_from="2027-01-01", doc_no="2")
    by_entry = {item["entry_id"]: item["reason"] for item in _explain(running)["explanation"]}
    assert by_entry == {expired: "expired", future: "not_yet_effective"}


def test_no_memorandum(running: Running) -> None:
    penalty = djd(list="administrative_penalty", doc_no="税罚〔2026〕1号")
    assert running.client.post("/v1/entries", json=penalty, headers=auth("tax")).status_code == 201
    (item,) = _explain(running)["explanation"]
    assert item["reason"] == "no_memorandum" and item["list"] == "administrative_penalty"


def test_condition_false_names_the_failing_comparison(running: Running) -> None:
    _entry(running, attributes={"amount": 500000, "category": "tax_evasion"})
    (item,) = _explain(running)["explanation"]
    assert item["reason"] == "condition_false"
    assert item["memorandum_id"] == "dishonest-judgment-debtors" and item["measure_id"] is None
    assert item["detail"] == "amount gte 1000000: the entry has 500000"
    _entry(running, attributes={"amount": 2000000, "category": "fraud"}, doc_no="2")
    details = [i["detail"] for i in _explain(running)["explanation"]]
    assert "category eq tax_evasion: the entry has fraud" in details


def test_matter_not_listed(running: Running) -> None:
    _entry(running)
    body = _explain(running, matter="bidding")
    assert body["outcome"] == "clear"
    assert _reasons(body) == [
        ("djd-procurement", "matter_not_listed"),
        ("djd-financing", "matter_not_listed"),
    ]


def test_kind_not_covered_and_duration_over(running: Running) -> None:
    _reload(running, "    mandatory: false\n    duration_days: null",
            "    mandatory: false\n    subject_kinds: [person]")  # fmt: skip
    _entry(running)
    assert ("djd-financing", "kind_not_covered") in _reasons(_explain(running, matter="financing"))
    _reload(running, "    subject_kinds: [person]", "    subject_kinds: [org]")
    _entry(running, decided_on="2020-01-01", doc_no="2")  # catalogue duration: 1095 days
    body = _explain(running, matter="financing")
    over = [i for i in body["explanation"] if i["reason"] == "duration_over"]
    assert [i["measure_id"] for i in over] == ["djd-financing"]
    assert over[0]["detail"] == "ended 2022-12-31"


def test_propagation_reasons(running: Running) -> None:
    _entry(running)
    _legal_representative(running)
    body = _explain(running, subject_id=PERSON, matter="financing")
    via = {"org_id": ORG, "role": "legal_representative"}
    (item,) = [i for i in body["explanation"] if i["measure_id"] == "djd-financing"]
    assert item["reason"] == "not_propagated" and item["via"] == via
    assert item["subject_id"] == ORG


def test_role_not_held_on_the_decision_day(running: Running) -> None:
    _entry(running)  # decided 2025-03-01
    _legal_representative(running, start="2026-01-01")
    body = _explain(running, subject_id=PERSON)
    assert body["hits"] == []
    assert ("djd-procurement", "role_not_held") in _reasons(body)


def test_incentive_withheld_names_the_blocking_entries(running: Running) -> None:
    grade = djd(list="a_grade_taxpayer", doc_no="A1", decided_on="2026-06-01", attributes={})
    assert running.client.post("/v1/entries", json=grade, headers=auth("tax")).status_code == 201
    blocking = _entry(running)
    body = _explain(running, matter="bidding")
    assert body["incentives_withheld"] is True and body["hits"] == []
    (item,) = [i for i in body["explanation"] if i["reason"] == "incentive_withheld"]
    assert item["measure_id"] == "atp-bidding-priority"
    assert blocking in item["detail"]


def test_explanation_is_logged_and_replayed(running: Running) -> None:
    _entry(running, attributes={"amount": 5})
    body = _explain(running)
    logged = running.client.get(f"/v1/decisions/{body['decision_id']}", headers=auth("auditor"))
    assert logged.json()["response"] == body
    assert logged.json()["request"]["explain"] is True
    replay = running.client.post("/v1/replay", json={"policy": "recorded"}, headers=auth("auditor"))
    assert replay.status_code == 200, replay.text
    assert replay.json()["identical"] == replay.json()["replayed"] == 1


def test_an_unknown_subject_has_an_empty_explanation(running: Running) -> None:
    body = _explain(running, subject_id=PERSON)
    assert body["known_subject"] is False and body["explanation"] == []
