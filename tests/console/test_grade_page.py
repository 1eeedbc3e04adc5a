"""The subject page shows the credit grade and its breakdown (docs/grades.md)."""

from __future__ import annotations

from tests.api.conftest import Running, auth
from tests.api.test_grades import policy_dir  # noqa: F401  (the bundle with a grades model)
from tests.console.test_pages import ORG, signed_in


def test_subject_page_shows_grade_and_breakdown(running: Running) -> None:
    entry = {
        "list": "dishonest_judgment_debtor", "subject_id": ORG, "subject_kind": "org",
        "subject_name": "某建设有限公司", "decided_on": "2020-03-01", "doc_no": "(2020)粤01执1号",
    }  # fmt: skip
    registered = running.client.post("/v1/entries", json=entry, headers=auth("court"))
    assert registered.status_code == 201, registered.text
    page = signed_in(running, "finance").get(f"/console/subjects/{ORG}")
    assert page.status_code == 200, page.text[:500]
    text = page.text
    assert 'id="grade-breakdown"' in text
    # Decided six years ago: the stepped deduction weighs nothing, the entry runs on.
    assert "失信扣分" not in text and "积分 <b>100</b>" in text and "良" in text
    assert "连续无不良记录" in text


def test_subject_page_without_a_grades_model_shows_none(running: Running) -> None:
    (running.policy_dir / "grades.yaml").unlink()
    for name in ("graded-d.yaml",):
        (running.policy_dir / name).unlink()
    reloaded = running.client.post("/v1/policy/reload", headers=auth("admin"))
    assert reloaded.status_code == 200, reloaded.text
    people = [{"id": ORG, "kind": "org", "name": "某公司"}]
    assert running.client.post("/v1/subjects", json=people, headers=auth("registrar")).is_success
    page = signed_in(running, "finance").get(f"/console/subjects/{ORG}").text
    assert 'id="grade-breakdown"' not in page


def test_memorandum_page_shows_a_grade_trigger(running: Running) -> None:
    page = signed_in(running, "finance").get("/console/memoranda/graded-d")
    assert page.status_code == 200
    assert "信用等级 D" in page.text and "graded-d-review" in page.text


def test_decision_and_check_pages_show_grade_hits_and_reasons(running: Running) -> None:
    entry = {
        "list": "dishonest_judgment_debtor", "subject_id": ORG, "subject_kind": "org",
        "decided_on": "2026-03-01", "doc_no": "(2026)粤01执1号",
    }  # fmt: skip
    assert running.client.post("/v1/entries", json=entry, headers=auth("court")).is_success
    decided = []
    for matter in ("administrative_licensing", "bidding"):
        body = {"subject_id": ORG, "matter": matter, "explain": True}
        answer = running.client.post("/v1/checks", json=body, headers=auth("finance"))
        assert answer.status_code == 200, answer.text
        decided.append(answer.json())
    assert decided[0]["hits"][0]["grade"] == "D"
    assert [e["reason"] for e in decided[1]["explanation"] if e["entry_id"] is None] == [
        "record_not_clean"
    ]
    auditor = signed_in(running, "auditor")
    for answer in decided:
        page = auditor.get(f"/console/decisions/{answer['decision_id']}")
        assert page.status_code == 200, page.text[:500]
    assert "信用等级 D" in auditor.get(f"/console/decisions/{decided[0]['decision_id']}").text
    page = auditor.get(f"/console/decisions/{decided[1]['decision_id']}").text
    assert "record_not_clean" in page and "近年有不良信用记录" in page
