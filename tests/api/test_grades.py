"""Credit grades through HTTP (docs/grades.md): the grade route, grade-triggered checks logged
with the grade, replay, explanations, and absence derivations."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Running, auth
from tests.api.test_entries_endpoints import ORG, PERSON, djd
from tests.conftest import CONTRACT_BUNDLE

GRADES = """\
id: test-score
name: 测试积分模型
legal_basis: null
note: 测试用
base: 100
min_score: 0
deductions:
  - {id: black, kinds: [black], points: 40, decay: {steps: [1, 0.5]}}
bonuses:
  - {id: red, kinds: [red], points: 10}
clean_years: {kinds: [black], points_per_year: 1, max_years: 3}
grades:
  - {grade: A, label: 优, min_score: 105}
  - {grade: B, label: 良, min_score: 80}
  - {grade: D, label: 差}
"""
GRADED = """\
id: graded-d
title: D级监管(测试)
doc_no: 无
kind: punishment
issued_on: 2026-01-01
triggers:
  - grade: [D]
measures:
  - {id: graded-d-review, text: 提高抽查比例, effect: review, matters: [administrative_licensing],
     implementing: [market]}
"""
CLEAN = """\
id: clean-incentive
title: 无不良记录激励(测试)
doc_no: 无
kind: incentive
issued_on: 2026-01-01
triggers:
  - {list: clean_record, subject_kinds: [org]}
measures:
  - {id: clean-fast-track, text: 容缺受理, effect: incentive, matters: [bidding],
     implementing: [market]}
"""
AS_OF = "2026-06-01T10:00:00+08:00"


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """The contract example bundle with a grades model, a grade trigger and a clean record."""
    target = tmp_path / "bundle"
    shutil.copytree(CONTRACT_BUNDLE, target)
    (target / "grades.yaml").write_text(GRADES, encoding="utf-8")
    (target / "graded-d.yaml").write_text(GRADED, encoding="utf-8")
    (target / "clean-incentive.yaml").write_text(CLEAN, encoding="utf-8")
    person = CLEAN.replace("clean-incentive", "clean-person").replace("[org]", "[person]")
    (target / "clean-person.yaml").write_text(
        person.replace("clean-fast-track", "clean-person-fast-track"), encoding="utf-8"
    )
    vocabulary = target / "vocabulary.yaml"
    text = vocabulary.read_text(encoding="utf-8").replace(
        "matters:",
        "  clean_record:\n    name: 无不良记录\n    kind: red\n    owners: [ndrc]\nmatters:",
        1,
    )
    vocabulary.write_text(text, encoding="utf-8")
    derivations = target / "derivations.yaml"
    derivations.write_text(
        derivations.read_text(encoding="utf-8")
        + "  - {id: clean-2y, absent_kinds: [black], years: 2, derive_list: clean_record}\n",
        encoding="utf-8",
    )
    return target


def _check(running: Running, matter: str, **body: Any) -> dict[str, Any]:
    request = {"subject_id": ORG, "matter": matter, "as_of": AS_OF, **body}
    response = running.client.post("/v1/checks", json=request, headers=auth("finance"))
    assert response.status_code == 200, response.text
    return dict(response.json())


def _listed(running: Running) -> str:
    body = djd(decided_on="2026-03-01")
    response = running.client.post("/v1/entries", json=body, headers=auth("court"))
    assert response.status_code == 201, response.text
    return str(response.json()["entry"]["id"])


def test_grade_route_gives_score_grade_and_breakdown(running: Running) -> None:
    entry_id = _listed(running)
    response = running.client.get(
        f"/v1/subjects/{ORG.lower()}/grade", params={"as_of": "2026-06-01"}, headers=auth("tax")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["grade"], body["score"], body["label"]) == ("D", 60, "差")
    assert body["breakdown"]["deductions"] == [
        {"rule": "black", "entry_id": entry_id, "list": "dishonest_judgment_debtor",
         "decided_on": "2026-03-01", "points": 40, "factor": 1, "applied": -40}
    ]  # fmt: skip
    assert body["breakdown"]["clean_years"]["applied"] == 0
    # A year after the decision the deduction has halved: 100 - 20 = 80 -> B.
    later = running.client.get(
        f"/v1/subjects/{ORG}/grade?as_of=2027-03-01", headers=auth("auditor")
    ).json()
    assert (later["score"], later["grade"]) == (80, "B")


def test_grade_route_errors_name_the_field(running: Running) -> None:
    unknown = running.client.get("/v1/subjects/91110000600037341L/grade", headers=auth("tax"))
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_subject")
    _listed(running)
    bad = running.client.get(f"/v1/subjects/{ORG}/grade?as_of=yesterday", headers=auth("tax"))
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "as_of"
    far = running.client.get(f"/v1/subjects/{ORG}/grade?as_of=0800-01-01", headers=auth("tax"))
    assert far.status_code == 422 and "as_of" in far.text
    malformed = running.client.get("/v1/subjects/123/grade", headers=auth("tax"))
    assert malformed.status_code == 422
    assert running.client.get(f"/v1/subjects/{ORG}/grade").status_code == 401


def test_a_persons_grade_is_masked_for_other_roles(running: Running) -> None:
    people = [{"id": PERSON, "kind": "person", "name": "张示例"}]
    assert running.client.post("/v1/subjects", json=people, headers=auth("registrar")).is_success
    masked = running.client.get(f"/v1/subjects/{PERSON}/grade", headers=auth("finance")).json()
    assert masked["subject_id"] == "440106********0115"
    whole = running.client.get(f"/v1/subjects/{PERSON}/grade", headers=auth("auditor")).json()
    assert whole["subject_id"] == PERSON
    reads = running.client.get(
        f"/v1/audit/access?subject_id={PERSON}", headers=auth("auditor")
    ).json()
    assert {item["route"] for item in reads["items"]} == {"/v1/subjects/{id}/grade"}


def test_grade_trigger_hits_and_the_grade_is_logged_and_replays(running: Running) -> None:
    _listed(running)
    body = _check(running, "administrative_licensing")
    assert body["grade"] == {"model": "test-score", "score": 60, "grade": "D", "label": "差"}
    assert [(h["measure_id"], h["entry_id"], h["grade"]) for h in body["hits"]] == [
        ("graded-d-review", None, "D")
    ]
    assert body["outcome"] == "review"
    logged = running.client.get(
        f"/v1/decisions/{body['decision_id']}", headers=auth("auditor")
    ).json()
    assert logged["response"]["grade"]["grade"] == "D"
    # A matter no grade trigger bites on carries no grade: such answers keep their shape.
    assert "grade" not in _check(running, "government_procurement")
    replay = running.client.post(
        "/v1/replay", json={"policy": "recorded"}, headers=auth("auditor")
    ).json()
    assert replay["replayed"] == replay["identical"] == 2


def test_a_false_grade_trigger_is_explained(running: Running) -> None:
    people = [{"id": ORG, "kind": "org", "name": "某公司"}]
    assert running.client.post("/v1/subjects", json=people, headers=auth("registrar")).is_success
    body = _check(running, "administrative_licensing", explain=True)
    assert body["hits"] == [] and body["grade"]["grade"] == "B"
    assert body["explanation"] == [
        {"entry_id": None, "list": None, "subject_id": ORG, "via": None,
         "memorandum_id": "graded-d", "measure_id": None, "reason": "grade_not_matched",
         "detail": "grade B (score 103) not in [D]"}
    ]  # fmt: skip


def test_a_clean_record_triggers_the_incentive_until_a_record_appears(running: Running) -> None:
    people = [{"id": ORG, "kind": "org", "name": "某公司"}]
    assert running.client.post("/v1/subjects", json=people, headers=auth("registrar")).is_success
    clean = _check(running, "bidding")
    hits = [(h["measure_id"], h["entry_id"], h["list"], h["derivation_id"]) for h in clean["hits"]]
    assert hits == [("clean-fast-track", None, "clean_record", "clean-2y")]
    _listed(running)
    listed = _check(running, "bidding", explain=True)
    assert listed["hits"] == [] and listed["outcome"] == "clear"
    reasons = [(e["list"], e["reason"]) for e in listed["explanation"] if e["entry_id"] is None]
    assert reasons == [("clean_record", "record_not_clean")]


def test_a_clean_record_applies_only_to_the_kinds_its_trigger_names(running: Running) -> None:
    subjects = [{"id": ORG, "kind": "org", "name": "某公司"},
                {"id": PERSON, "kind": "person", "name": "张示例"}]  # fmt: skip
    assert running.client.post("/v1/subjects", json=subjects, headers=auth("registrar")).is_success
    assert [h["measure_id"] for h in _check(running, "bidding")["hits"]] == ["clean-fast-track"]
    # The same derivation for a person triggers the memorandum for persons only (what a
    # standing triggers is cached per derivation and kind).
    person = _check(running, "bidding", subject_id=PERSON)
    assert [h["measure_id"] for h in person["hits"]] == ["clean-person-fast-track"]
