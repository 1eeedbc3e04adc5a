"""POST /v1/subjects, POST /v1/relations and GET /v1/subjects/{id} through HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, func, select
from structlog.testing import capture_logs

from engine.service import Service
from engine.settings import Settings
from engine.state import Entry, EntryStatus
from engine.store.db import session_scope
from engine.store.events import EventType, NewEvent
from engine.store.tables import Event
from measures.schema import SubjectKind
from tests.api.conftest import Running, auth
from tests.engine.registry.test_registry import (
    ambiguous_id,
    org,
    person,
    relation_item,
    subject_item,
    wrong_check,
)

REGISTRAR = auth("registrar")


@pytest.fixture
def client(running: Running) -> TestClient:
    """The running app's client (api/app.py includes the registry router)."""
    return running.client


def _count(service: Service, event_type: EventType) -> int:
    with session_scope(service.engine) as session:
        query = select(func.count()).where(col(Event.type) == event_type.value)
        return int(session.exec(query).one())


def test_subjects_are_upserted_with_counts(client: TestClient, running: Running) -> None:
    first = [
        subject_item(org(1), "org", "甲公司", region="440106"),
        subject_item(person(1), "person"),
    ]
    response = client.post("/v1/subjects", json=first, headers=REGISTRAR)
    assert (response.status_code, response.json()) == (200, {"created": 2, "updated": 0})

    again = [*first, subject_item(org(2), "org", "乙公司")]
    again[1] = subject_item(person(1).lower(), "person", "新名字")
    response = client.post("/v1/subjects", json=again, headers=REGISTRAR)
    # org(1) identical: counted in neither and no event.
    assert response.json() == {"created": 1, "updated": 1}
    assert _count(running.service, EventType.subject_upserted) == 4

    page = client.get(f"/v1/subjects/{person(1)}", headers=auth("auditor")).json()
    assert (page["name"], page["kind"], page["region"]) == ("新名字", "person", None)


def test_one_bad_item_rejects_the_array_and_every_bad_item_is_named(
    client: TestClient, running: Running
) -> None:
    items = [
        subject_item(org(1), "org"),
        subject_item(wrong_check(org(2)), "org"),
        subject_item(org(3), "org"),
        subject_item(person(1), "org"),
        {"id": org(4), "kind": "org"},
        subject_item(org(1), "org", "again"),
    ]
    response = client.post("/v1/subjects", json=items, headers=REGISTRAR)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"] == "4 of 6 items are invalid; nothing was stored"
    assert [d["field"] for d in error["details"]] == [
        "items[1].id",
        "items[3].kind",
        "items[4].name",
        "items[5].id",
    ]
    assert "check character" in error["details"][0]["message"]
    assert error["details"][3]["message"] == "the same subject as items[0]: give each subject once"
    assert _count(running.service, EventType.subject_upserted) == 0
    assert client.get(f"/v1/subjects/{org(1)}", headers=REGISTRAR).status_code == 404


def test_array_size_is_bounded(client: TestClient) -> None:
    for body in ([], [subject_item(org(1), "org")] * 10_001, {"id": org(1)}):
        response = client.post("/v1/subjects", json=body, headers=REGISTRAR)
        assert response.status_code == 422
        assert response.json()["error"]["details"][0]["field"] == "body"


def test_changing_a_subjects_kind_is_refused(client: TestClient) -> None:
    both = ambiguous_id()
    assert client.post(
        "/v1/subjects", json=[subject_item(both, "org")], headers=REGISTRAR
    ).is_success
    response = client.post("/v1/subjects", json=[subject_item(both, "person")], headers=REGISTRAR)
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "items[0].kind"
    assert "registered as org" in detail["message"]


@pytest.fixture
def people(client: TestClient) -> TestClient:
    """Orgs 1-2 and persons 1-3 registered."""
    items = [subject_item(org(i), "org", f"公司{i}") for i in (1, 2)]
    items += [subject_item(person(i), "person", f"人{i}") for i in (1, 2, 3)]
    assert client.post("/v1/subjects", json=items, headers=REGISTRAR).status_code == 200
    return client


def test_relations_are_validated_all_or_nothing(people: TestClient, running: Running) -> None:
    items = [
        relation_item(org(1), person(1)),
        relation_item(org(1), person(9)),
        relation_item(person(2), person(1)),
        relation_item(org(1), person(2), role="董事长"),
        relation_item(org(1), person(3), start="2022-01-01", end="2021-01-01"),
        relation_item(org(1), person(3), start="yesterday"),
    ]
    response = people.post("/v1/relations", json=items, headers=REGISTRAR)
    assert response.status_code == 422
    details = response.json()["error"]["details"]
    assert [d["field"] for d in details] == [
        "items[1].person_id",
        "items[2].org_id",
        "items[3].role",
        "items[4].end",
        "items[5].start",
    ]
    assert details[0]["message"].startswith("unknown subject")
    assert details[1]["message"] == "this is a 公民身份号码, not an org's 统一社会信用代码"
    assert details[4]["message"] == "must be a date YYYY-MM-DD"
    assert _count(running.service, EventType.relation_recorded) == 0


def test_reposting_a_relation_with_an_end_records_it(people: TestClient, running: Running) -> None:
    held = relation_item(org(1), person(1))
    response = people.post("/v1/relations", json=[held], headers=REGISTRAR)
    assert (response.status_code, response.json()) == (200, {"created": 1, "updated": 0})
    response = people.post("/v1/relations", json=[{**held, "end": "2025-12-31"}], headers=REGISTRAR)
    assert response.json() == {"created": 0, "updated": 1}
    response = people.post("/v1/relations", json=[{**held, "end": "2025-12-31"}], headers=REGISTRAR)
    assert response.json() == {"created": 0, "updated": 0}
    assert _count(running.service, EventType.relation_recorded) == 2
    [relation] = people.get(f"/v1/subjects/{org(1)}", headers=REGISTRAR).json()["relations"]
    assert relation["end"] == "2025-12-31"


def _entry(running: Running, subject_id: str, kind: SubjectKind, **attributes: Any) -> str:
    decided = dt.date(2024, 3, 1)
    entry = Entry(
        id=f"entry-{subject_id}",
        list="dishonest_judgment_debtor",
        subject_id=subject_id,
        subject_kind=kind,
        department="court",
        decided_on=decided,
        effective_from=decided,
        effective_to=None,
        doc_no="(2024)粤01执1号",
        reason="拒不履行",
        attributes=attributes,
        status=EntryStatus.active,
        registered_seq=0,
    )
    event = NewEvent(EventType.entry_registered, {"entry": entry.to_payload(), "triggered": []})
    running.service.write(lambda _session, _state: [event])
    return entry.id


def test_the_subject_page(people: TestClient, running: Running) -> None:
    relations = [
        relation_item(org(1), person(1)),
        relation_item(org(2), person(1), role="principal", start="2019-05-01"),
    ]
    assert people.post("/v1/relations", json=relations, headers=REGISTRAR).status_code == 200
    listed = _entry(running, org(1), SubjectKind.org, amount=5_000_000, category="tax_fraud")
    own = _entry(running, person(1), SubjectKind.person, amount=1)

    response = people.get(f"/v1/subjects/{person(1).lower()}", headers=auth("auditor"))
    assert response.status_code == 200
    page = response.json()
    assert {k: page[k] for k in ("id", "kind", "name", "region")} == {
        "id": person(1),
        "kind": "person",
        "name": "人1",
        "region": None,
    }
    shown = [
        (r["org_id"], r["role"], r["role_name"], r["start"], r["end"]) for r in page["relations"]
    ]
    assert shown == [
        (org(1), "legal_representative", "法定代表人", "2020-01-01", None),
        (org(2), "principal", "主要负责人", "2019-05-01", None),
    ]
    assert page["entries"] == [
        {
            "id": own,
            "list": "dishonest_judgment_debtor",
            "subject_id": person(1),
            "department": "court",
            "decided_on": "2024-03-01",
            "effective_from": "2024-03-01",
            "effective_to": None,
            "doc_no": "(2024)粤01执1号",
            "reason": "拒不履行",
            "attributes": {"amount": 1},
            "status": "active",
            "objection": None,
            "derived_from": [],
        }
    ]
    [reaching] = page["reaching_entries"]
    assert (reaching["id"], reaching["subject_id"], reaching["status"]) == (
        listed,
        org(1),
        "active",
    )
    assert reaching["via"] == {"org_id": org(1), "role": "legal_representative"}


def test_unknown_and_malformed_subject_ids(client: TestClient) -> None:
    response = client.get(f"/v1/subjects/{org(5)}", headers=auth("auditor"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_subject"
    response = client.get("/v1/subjects/not-an-id", headers=auth("auditor"))
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "id"


def test_registry_needs_a_key_and_writes_need_the_registrar(client: TestClient) -> None:
    body = [subject_item(org(1), "org")]
    assert client.post("/v1/subjects", json=body).status_code == 401
    assert client.get(f"/v1/subjects/{org(1)}").status_code == 401
    for caller in ("court", "tax", "auditor", "admin"):
        assert client.post("/v1/subjects", json=body, headers=auth(caller)).status_code == 403
        response = client.post("/v1/relations", json=[], headers=auth(caller))
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    assert client.post("/v1/subjects", json=body, headers=REGISTRAR).status_code == 200
    assert client.get(f"/v1/subjects/{org(1)}", headers=auth("tax")).status_code == 200


def test_registry_writes_log_no_personal_id(client: TestClient) -> None:
    with capture_logs() as logs:
        client.post("/v1/subjects", json=[subject_item(person(1), "person")], headers=REGISTRAR)
        client.post("/v1/subjects", json=[subject_item(org(1), "org")], headers=REGISTRAR)
        client.post("/v1/relations", json=[relation_item(org(1), person(1))], headers=REGISTRAR)
    assert any(line["event"] == "registry.relations_recorded" for line in logs)
    assert person(1) not in repr(logs)


def test_a_fresh_service_on_the_database_sees_the_registry(
    people: TestClient, running: Running, db_url: str
) -> None:
    people.post("/v1/relations", json=[relation_item(org(1), person(1))], headers=REGISTRAR)
    fresh = Service.start(Settings(db=db_url, policy=running.policy_dir))
    try:
        assert fresh.state.subjects == running.service.state.subjects
        assert fresh.state.graph.relations_of(person(1)) == (
            running.service.state.graph.relations_of(person(1))
        )
    finally:
        fresh.close()
