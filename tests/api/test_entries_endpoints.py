"""List entries over HTTP: defaults, ownership, idempotency across a restart, lifecycle codes."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.service import Service
from engine.settings import Settings
from tests.api.conftest import Running, auth

ORG = "91440101000010014P"
PERSON = "440106198001010115"


def djd(**overrides: Any) -> dict[str, Any]:
    body = {
        "list": "dishonest_judgment_debtor",
        "subject_id": ORG.lower(),
        "subject_kind": "org",
        "subject_name": "某建设有限公司",
        "decided_on": "2025-03-01",
        "doc_no": "(2025)粤01执100号",
        "attributes": {"amount": 2000000, "category": "tax_evasion"},
    }
    body.update(overrides)
    return body


def test_register_fills_defaults_registers_the_subject_and_lists_triggers(running: Running) -> None:
    response = running.client.post("/v1/entries", json=djd(), headers=auth("court"))
    assert response.status_code == 201, response.text
    body = response.json()
    entry = body["entry"]
    assert entry["subject_id"] == ORG  # stored upper-case
    assert entry["department"] == "court"
    assert entry["effective_from"] == "2025-03-01"
    assert entry["effective_to"] is None  # the list's default_duration_days is null
    assert entry["status"] == "active"
    assert set(entry) == {
        "id",
        "list",
        "subject_id",
        "department",
        "decided_on",
        "effective_from",
        "effective_to",
        "doc_no",
        "reason",
        "attributes",
        "status",
        "objection",
        "derived_from",
    }
    assert body["triggered"] == [
        {
            "memorandum_id": "dishonest-judgment-debtors",
            "measure_ids": ["djd-procurement", "djd-financing"],
        }
    ]
    subject = running.client.get(f"/v1/subjects/{ORG}", headers=auth("court"))
    assert subject.status_code == 200
    assert running.client.get(f"/v1/entries/{entry['id']}", headers=auth("finance")).json() == entry


def test_default_duration_and_explicit_open_end(running: Running) -> None:
    red = {
        "list": "a_grade_taxpayer",
        "subject_id": ORG,
        "subject_kind": "org",
        "decided_on": "2026-01-01",
        "doc_no": "税A-1",
    }
    first = running.client.post("/v1/entries", json=red, headers=auth("tax")).json()["entry"]
    assert first["effective_to"] == "2027-01-01"
    second = running.client.post(
        "/v1/entries", json={**red, "doc_no": "税A-2", "effective_to": None}, headers=auth("tax")
    ).json()["entry"]
    assert second["effective_to"] is None


@pytest.mark.parametrize(
    ("caller", "body", "status", "code", "field"),
    [
        ("tax", djd(), 403, "forbidden", None),
        ("finance", djd(), 403, "forbidden", None),
        ("court", djd(subject_id="91440101000010015P"), 422, "invalid_request", "subject_id"),
        ("court", djd(subject_kind="person"), 422, "invalid_request", "subject_id"),
        ("court", djd(list="no_such_list"), 422, "invalid_request", "list"),
        ("court", djd(effective_to="2025-03-01"), 422, "invalid_request", "effective_to"),
        ("court", djd(decided_on="2025-02-30"), 422, "invalid_request", "decided_on"),
        ("court", djd(doc_no=""), 422, "invalid_request", "doc_no"),
        ("court", djd(doc_no="   "), 422, "invalid_request", "doc_no"),
        ("court", djd(colour="red"), 422, "invalid_request", "colour"),
    ],
    ids=[
        "not-owner",
        "not-initiator",
        "bad-check-char",
        "kind-mismatch",
        "unknown-list",
        "empty-window",
        "bad-date",
        "empty-doc-no",
        "blank-doc-no",
        "unknown-field",
    ],
)
def test_refusals(
    running: Running, caller: str, body: dict[str, Any], status: int, code: str, field: str | None
) -> None:
    response = running.client.post("/v1/entries", json=body, headers=auth(caller))
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    if field is not None:
        assert field in [d.get("field") for d in error["details"]]
    assert running.service.state.entries == {}


def test_idempotency_key_survives_a_restart(running: Running, db_url: str) -> None:
    headers = {**auth("court"), "Idempotency-Key": "court-2025-100"}
    first = running.client.post("/v1/entries", json=djd(), headers=headers)
    again = running.client.post("/v1/entries", json=djd(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert len(running.service.state.entries) == 1

    other = running.client.post("/v1/entries", json=djd(doc_no="另一个"), headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"

    restarted = Service.start(Settings(db=db_url, policy=running.policy_dir))
    try:
        app = create_app(restarted, running.client.app.state.callers)  # type: ignore[attr-defined]
        with TestClient(app) as client:
            replayed = client.post("/v1/entries", json=djd(), headers=headers)
        assert replayed.status_code == 201
        assert replayed.json() == first.json()
        assert len(restarted.state.entries) == 1
    finally:
        restarted.close()


def test_the_same_key_of_another_caller_is_independent(running: Running) -> None:
    body = djd()
    court = running.client.post(
        "/v1/entries", json=body, headers={**auth("court"), "Idempotency-Key": "k"}
    )
    red = {
        "list": "a_grade_taxpayer",
        "subject_id": ORG,
        "subject_kind": "org",
        "decided_on": "2026-01-01",
        "doc_no": "税A-1",
    }
    tax = running.client.post(
        "/v1/entries", json=red, headers={**auth("tax"), "Idempotency-Key": "k"}
    )
    assert court.status_code == tax.status_code == 201
    assert len(running.service.state.entries) == 2


def test_unknown_entry(running: Running) -> None:
    response = running.client.get("/v1/entries/nope", headers=auth("court"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_entry"
    for path in ("revoke", "objection", "repair"):
        body = {"reason": "x"} if path == "objection" else {}
        who = "court" if path == "revoke" else "admin"
        answer = running.client.post(f"/v1/entries/nope/{path}", json=body, headers=auth(who))
        assert answer.status_code == 404, path


def test_lifecycle_over_http(running: Running) -> None:
    entry_id = running.client.post("/v1/entries", json=djd(), headers=auth("court")).json()[
        "entry"
    ]["id"]
    base = f"/v1/entries/{entry_id}"
    assert (
        running.client.post(
            f"{base}/objection", json={"reason": "已履行"}, headers=auth("court")
        ).status_code
        == 403
    )
    objection = running.client.post(
        f"{base}/objection", json={"reason": "已履行"}, headers=auth("admin")
    )
    assert objection.status_code == 200
    assert objection.json()["status"] == "under_objection"
    twice = running.client.post(
        f"{base}/objection", json={"reason": "again"}, headers=auth("admin")
    )
    assert twice.status_code == 409
    assert twice.json()["error"]["code"] == "invalid_state"
    bad_outcome = running.client.post(
        f"{base}/objection/resolution", json={"outcome": "maybe"}, headers=auth("admin")
    )
    assert bad_outcome.status_code == 422
    rejected = running.client.post(
        f"{base}/objection/resolution", json={"outcome": "rejected"}, headers=auth("admin")
    )
    assert rejected.json()["status"] == "active"
    repaired = running.client.post(f"{base}/repair", headers=auth("admin"))  # no body at all
    assert repaired.status_code == 200, repaired.text
    assert repaired.json()["status"] == "repaired"
    revoke = running.client.post(f"{base}/revoke", headers=auth("court"))
    assert revoke.status_code == 409


def test_repair_too_early_names_the_earliest_date(running: Running) -> None:
    penalty = {
        "list": "administrative_penalty",
        "subject_id": ORG,
        "subject_kind": "org",
        "decided_on": "2099-01-01",
        "doc_no": "罚1",
    }
    entry_id = running.client.post("/v1/entries", json=penalty, headers=auth("tax")).json()[
        "entry"
    ]["id"]
    response = running.client.post(
        f"/v1/entries/{entry_id}/repair", json={"note": "已整改"}, headers=auth("admin")
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "repair_too_early"
    assert error["details"] == [{"earliest": "2099-04-01"}]


def test_a_restart_rebuilds_the_same_state_and_answers(running: Running, db_url: str) -> None:
    client = running.client
    client.post("/v1/entries", json=djd(), headers=auth("court"))
    penalty = {
        "list": "administrative_penalty",
        "subject_id": ORG,
        "subject_kind": "org",
        "doc_no": "罚",
    }
    for day in ("2025-01-01", "2025-05-01", "2025-09-01"):
        client.post("/v1/entries", json={**penalty, "decided_on": day}, headers=auth("tax"))
    entry_id = next(iter(running.service.state.entries))
    client.post(f"/v1/entries/{entry_id}/objection", json={"reason": "x"}, headers=auth("admin"))
    live = running.service.state
    rebuilt = Service.start(Settings(db=db_url, policy=running.policy_dir))
    try:
        assert rebuilt.state.entries == live.entries
        assert rebuilt.state.subjects == live.subjects
        assert rebuilt.state.seq == live.seq
        assert len(live.entries) == 5  # four registered, one derived
    finally:
        rebuilt.close()
