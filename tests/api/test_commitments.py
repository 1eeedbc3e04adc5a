"""Credit commitments over HTTP (docs/commitments.md): recording, reading, fulfilment, breach
as an ordinary entry on the breach list, their events, idempotency and bad input. Run on both
databases, with the shipped bundle (it declares the breach list)."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path
from typing import Any

import pypdf
import pytest

from engine.service import Service
from engine.settings import Settings
from engine.state import State
from engine.store import db, events, snapshot
from engine.timing import china_today
from tests.api.conftest import Running, auth
from tests.engine.registry.test_registry import ambiguous_id, org, person

SHIPPED = Path(__file__).resolve().parents[2] / "memoranda"


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped bundle (it has the list ``commitment_breach``)."""
    target = tmp_path / "bundle"
    shutil.copytree(SHIPPED, target)
    return target


def commitment_body(subject: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject_id": subject,
        "subject_kind": "org",
        "subject_name": "某食品有限公司",
        "matter": "market_access",
        "content": "于承诺期限内补交经营场所平面图",
        "doc_no": f"承诺书{subject[-4:]}",
        "made_on": (china_today() - dt.timedelta(days=3)).isoformat(),
        "due_working_days": 10,
    }
    body.update(overrides)
    return body


def record(running: Running, body: dict[str, Any], who: str = "tax") -> dict[str, Any]:
    response = running.client.post("/v1/commitments", json=body, headers=auth(who))
    assert response.status_code == 201, response.text
    commitment: dict[str, Any] = response.json()["commitment"]
    return commitment


def breach_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "decided_on": china_today().isoformat(),
        "doc_no": "违诺认定书1号",
        "reason": "承诺期限届满未补交材料",
    }
    body.update(overrides)
    return body


def breach(running: Running, commitment_id: str, body: dict[str, Any], who: str = "tax") -> Any:
    return running.client.post(
        f"/v1/commitments/{commitment_id}/breach", json=body, headers=auth(who)
    )


def fields(response: Any) -> list[str]:
    return [detail["field"] for detail in response.json()["error"]["details"]]


def test_record_read_and_list(running: Running) -> None:
    subject = org(1)
    made_on = china_today() - dt.timedelta(days=3)
    commitment = record(running, commitment_body(subject))
    assert commitment["status"] == "active"
    assert commitment["department"] == "tax"
    assert commitment["subject_id"] == subject
    due_on = dt.date.fromisoformat(commitment["due_on"])
    assert due_on > made_on + dt.timedelta(days=10)  # ten working days: weekends skipped
    assert commitment["working_days_left"] >= 6
    assert commitment["fulfilment"] is None and commitment["breach"] is None

    got = running.client.get(f"/v1/commitments/{commitment['id']}", headers=auth("admin"))
    assert got.status_code == 200 and got.json() == commitment
    listed = running.client.get(f"/v1/commitments?subject_id={subject}", headers=auth("tax"))
    assert [item["id"] for item in listed.json()["items"]] == [commitment["id"]]
    profile = running.client.get(f"/v1/subjects/{subject}", headers=auth("finance")).json()
    assert profile["name"] == "某食品有限公司"  # the unknown subject was registered with it
    assert [c["id"] for c in profile["commitments"]] == [commitment["id"]]


def test_paging_and_status_filter(running: Running) -> None:
    ids = [record(running, commitment_body(org(10 + i)))["id"] for i in range(3)]
    past = (china_today() - dt.timedelta(days=40)).isoformat()
    overdue = record(
        running,
        commitment_body(org(20), made_on=past, due_on=past, due_working_days=None),
    )
    assert overdue["status"] == "overdue" and overdue["working_days_left"] < 0
    first = running.client.get("/v1/commitments?limit=2", headers=auth("admin")).json()
    second = running.client.get(
        f"/v1/commitments?limit=2&cursor={first['next_cursor']}", headers=auth("admin")
    ).json()
    assert [i["id"] for i in first["items"] + second["items"]] == [*ids, overdue["id"]]
    assert second["next_cursor"] is None
    only = running.client.get("/v1/commitments?status=overdue", headers=auth("admin")).json()
    assert [i["id"] for i in only["items"]] == [overdue["id"]]
    bad = running.client.get("/v1/commitments?cursor=nonsense", headers=auth("admin"))
    assert bad.status_code == 422 and fields(bad) == ["cursor"]
    bad = running.client.get("/v1/commitments?status=kept", headers=auth("admin"))
    assert bad.status_code == 422 and fields(bad) == ["status"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"content": ""}, "content"),
        ({"matter": "no_such_matter"}, "matter"),
        ({"subject_id": "91440106000000011X"}, "subject_id"),
        ({"due_on": china_today().isoformat()}, "due_working_days"),
        ({"made_on": "2999-01-01"}, "made_on"),
        ({"made_on": "2026-13-01"}, "made_on"),
        ({"due_working_days": 0}, "due_working_days"),
        ({"unexpected": 1}, "unexpected"),
        ({"doc_no": "a\u0000b"}, "doc_no"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    running: Running, overrides: dict[str, Any], field: str
) -> None:
    response = running.client.post(
        "/v1/commitments", json=commitment_body(org(2), **overrides), headers=auth("tax")
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert field in fields(response)


def test_due_on_rules(running: Running) -> None:
    made_on = china_today() - dt.timedelta(days=3)
    body = commitment_body(org(3), due_working_days=None)
    before = {**body, "due_on": (made_on - dt.timedelta(days=1)).isoformat()}
    response = running.client.post("/v1/commitments", json=before, headers=auth("tax"))
    assert response.status_code == 422 and fields(response) == ["due_on"]
    far = {**body, "due_on": (made_on + dt.timedelta(days=4000)).isoformat()}
    response = running.client.post("/v1/commitments", json=far, headers=auth("tax"))
    assert response.status_code == 422 and fields(response) == ["due_on"]
    open_ended = record(running, {k: v for k, v in body.items() if k != "due_working_days"})
    assert open_ended["due_on"] is None and open_ended["working_days_left"] is None


def test_roles_and_departments(running: Running) -> None:
    body = commitment_body(org(4))
    # court is an initiator, but its department does not own the breach list
    assert (
        running.client.post("/v1/commitments", json=body, headers=auth("court")).status_code == 403
    )
    # finance is an implementer only
    assert (
        running.client.post("/v1/commitments", json=body, headers=auth("finance")).status_code
        == 403
    )
    assert running.client.post("/v1/commitments", json=body).status_code == 401
    commitment = record(running, body)
    path = f"/v1/commitments/{commitment['id']}"
    assert running.client.get(path, headers=auth("finance")).status_code == 403
    assert running.client.get(path, headers=auth("court")).status_code == 403
    assert running.client.get(path, headers=auth("auditor")).status_code == 200
    assert running.client.get(path, headers=auth("registrar")).status_code == 200
    assert (
        running.client.get("/v1/commitments?department=tax", headers=auth("court")).status_code
        == 403
    )
    assert running.client.get("/v1/commitments", headers=auth("court")).json()["items"] == []
    assert breach(running, commitment["id"], breach_body(), who="court").status_code == 403
    fulfil = running.client.post(f"{path}/fulfilment", json={}, headers=auth("court"))
    assert fulfil.status_code == 403


def test_unknown_commitment_is_404(running: Running) -> None:
    for response in (
        running.client.get("/v1/commitments/nope", headers=auth("admin")),
        running.client.post("/v1/commitments/nope/fulfilment", json={}, headers=auth("tax")),
        breach(running, "nope", breach_body()),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "unknown_commitment"


def test_duplicate_commitment_is_409(running: Running) -> None:
    first = record(running, commitment_body(org(5)))
    again = running.client.post(
        "/v1/commitments", json=commitment_body(org(5)), headers=auth("tax")
    )
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "duplicate_commitment"
    assert error["details"][0]["commitment_id"] == first["id"]


def test_idempotency_key(running: Running) -> None:
    body = commitment_body(org(6))
    headers = {**auth("tax"), "Idempotency-Key": "k-1"}
    first = running.client.post("/v1/commitments", json=body, headers=headers)
    second = running.client.post("/v1/commitments", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    listed = running.client.get("/v1/commitments", headers=auth("admin")).json()["items"]
    assert len(listed) == 1
    other = running.client.post(
        "/v1/commitments", json={**body, "content": "另一项承诺"}, headers=headers
    )
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
    commitment_id = first.json()["commitment"]["id"]
    key = {**auth("tax"), "Idempotency-Key": "b-1"}
    path = f"/v1/commitments/{commitment_id}/breach"
    one = running.client.post(path, json=breach_body(), headers=key)
    two = running.client.post(path, json=breach_body(), headers=key)
    assert one.status_code == two.status_code == 201 and one.json() == two.json()


def test_fulfilment(running: Running) -> None:
    commitment = record(running, commitment_body(org(7)))
    path = f"/v1/commitments/{commitment['id']}/fulfilment"
    early = (china_today() - dt.timedelta(days=10)).isoformat()
    response = running.client.post(path, json={"fulfilled_on": early}, headers=auth("tax"))
    assert response.status_code == 422 and fields(response) == ["fulfilled_on"]
    late = (china_today() + dt.timedelta(days=1)).isoformat()
    response = running.client.post(path, json={"fulfilled_on": late}, headers=auth("tax"))
    assert response.status_code == 422 and fields(response) == ["fulfilled_on"]
    done = running.client.post(path, json={"note": "已补交"}, headers=auth("tax"))
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "fulfilled"
    assert done.json()["fulfilment"] == {
        "fulfilled_on": china_today().isoformat(),
        "note": "已补交",
    }
    assert done.json()["working_days_left"] is None
    again = running.client.post(path, headers=auth("tax"))
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "invalid_state",
        "message": "cannot fulfil a commitment that is fulfilled (only active or overdue)",
        "details": [{"status": "fulfilled"}],
    }
    assert breach(running, commitment["id"], breach_body()).status_code == 409


def test_breach_registers_an_ordinary_entry(running: Running) -> None:
    subject = org(8)
    commitment = record(running, commitment_body(subject))
    response = breach(running, commitment["id"], breach_body(attributes={"note": "x"}))
    assert response.status_code == 201, response.text
    answer = response.json()
    entry = answer["entry"]
    assert entry["list"] == "commitment_breach"
    assert entry["department"] == "tax" and entry["subject_id"] == subject
    assert entry["attributes"] == {
        "note": "x",
        "commitment_id": commitment["id"],
        "matter": "market_access",
    }
    assert answer["triggered"] == [
        {"memorandum_id": "commitment-breach-local", "measure_ids": ["cb-no-commitment-acceptance"]}
    ]
    assert answer["commitment"]["status"] == "breached"
    assert answer["commitment"]["breach"]["entry_id"] == entry["id"]
    assert answer["commitment"]["breach"]["entry_status"] == "active"
    # memoranda target it: a licensing check is reviewed
    check = running.client.post(
        "/v1/checks", json={"subject_id": subject, "matter": "market_access"}, headers=auth("tax")
    ).json()
    assert check["outcome"] == "review"
    assert [hit["entry_id"] for hit in check["hits"]] == [entry["id"]]
    # the entry's life is an entry's: an objection suspends it, the commitment shows so
    objection = running.client.post(
        f"/v1/entries/{entry['id']}/objection", json={"reason": "已补交"}, headers=auth("admin")
    )
    assert objection.status_code == 200
    shown = running.client.get(f"/v1/commitments/{commitment['id']}", headers=auth("tax")).json()
    assert shown["status"] == "breached"
    assert shown["breach"]["entry_status"] == "under_objection"
    # a second breach is refused, nothing half-written
    again = breach(running, commitment["id"], breach_body(doc_no="违诺认定书2号"))
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"
    fulfil = running.client.post(
        f"/v1/commitments/{commitment['id']}/fulfilment", headers=auth("tax")
    )
    assert fulfil.status_code == 409
    entries = running.client.get(f"/v1/subjects/{subject}", headers=auth("admin")).json()["entries"]
    assert [e["id"] for e in entries] == [entry["id"]]


def test_breach_bad_input(running: Running) -> None:
    commitment = record(running, commitment_body(org(9)))
    cid = commitment["id"]
    cases = [
        (breach_body(decided_on="2000-01-01"), "decided_on"),
        (breach_body(decided_on=(china_today() + dt.timedelta(days=2)).isoformat()), "decided_on"),
        (breach_body(reason=""), "reason"),
        (breach_body(attributes={"commitment_id": "x"}), "attributes.commitment_id"),
        (
            breach_body(effective_to=(china_today() - dt.timedelta(days=1)).isoformat()),
            "effective_to",
        ),
        ({"doc_no": "x", "reason": "y"}, "decided_on"),
    ]
    for body, field in cases:
        response = breach(running, cid, body)
        assert response.status_code == 422, (field, response.text)
        assert field in fields(response), (field, response.json())
    raw = '{"decided_on": "%s", "doc_no": "x", "reason": "y", "attributes": {"n": NaN}}'
    response = running.client.post(
        f"/v1/commitments/{cid}/breach",
        content=raw % china_today().isoformat(),
        headers={**auth("tax"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422 and fields(response) == ["attributes"]
    shown = running.client.get(f"/v1/commitments/{cid}", headers=auth("tax")).json()
    assert shown["status"] == "active"


def test_breach_duplicate_entry_is_409(running: Running) -> None:
    first = record(running, commitment_body(org(11), doc_no="承诺书A"))
    second = record(running, commitment_body(org(11), doc_no="承诺书B"))
    assert breach(running, first["id"], breach_body()).status_code == 201
    again = breach(running, second["id"], breach_body())  # same list, subject, doc_no, day
    assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate_entry"
    shown = running.client.get(f"/v1/commitments/{second['id']}", headers=auth("tax")).json()
    assert shown["status"] == "active"


def test_events_rebuild_the_same_commitments(running: Running, db_url: str) -> None:
    fulfilled = record(running, commitment_body(org(12)))
    running.client.post(f"/v1/commitments/{fulfilled['id']}/fulfilment", headers=auth("tax"))
    broken = record(running, commitment_body(org(13)))
    assert breach(running, broken["id"], breach_body()).status_code == 201
    record(running, commitment_body(org(14)))
    live = running.service.state
    with db.session_scope(running.service.engine) as session:
        types = [event.type for event in events.read(session)]
        rebuilt = State()
        rebuilt.apply_all(events.read_facts(session))
    assert types.count("commitment.recorded") == 3
    assert types.count("commitment.fulfilled") == 1
    breached_at = types.index("commitment.breached")
    assert types[breached_at + 1] == "entry.registered"
    assert rebuilt.commitments == live.commitments
    assert rebuilt.commitments_by_subject == live.commitments_by_subject
    restored = snapshot.restore(snapshot.dump(live))
    assert restored.commitments == live.commitments
    assert restored.commitments_by_subject == live.commitments_by_subject
    # a second process on the same database sees the same
    settings = Settings(db=db_url, policy=running.policy_dir)
    other = Service.open(settings)
    try:
        assert other.state.commitments == live.commitments
    finally:
        other.close()


def test_person_commitment_is_masked_in_the_profile(running: Running) -> None:
    subject = person(1)
    record(
        running,
        commitment_body(subject, subject_kind="person", subject_name="张示例", doc_no="个人承诺1"),
    )
    masked = running.client.get(f"/v1/subjects/{subject}", headers=auth("finance")).json()
    assert masked["commitments"][0]["subject_id"] == subject[:6] + "********" + subject[-4:]
    whole = running.client.get(f"/v1/subjects/{subject}", headers=auth("admin")).json()
    assert whole["commitments"][0]["subject_id"] == subject


def test_commitments_in_the_credit_report(running: Running) -> None:
    subject = org(15)
    kept = record(running, commitment_body(subject, doc_no="承诺书K"))
    broken = record(running, commitment_body(subject, doc_no="承诺书B"))
    running.client.post(f"/v1/commitments/{kept['id']}/fulfilment", headers=auth("tax"))
    assert breach(running, broken["id"], breach_body()).status_code == 201
    url = f"/v1/subjects/{subject}/report"
    report = running.client.get(url, headers=auth("admin")).json()
    assert report["commitments_total"] == 2
    shown = {item["id"]: item for item in report["commitments"]}
    assert shown[kept["id"]]["status"] == "fulfilled"
    assert shown[kept["id"]]["status_name"] == "已履行"
    assert shown[broken["id"]]["status_name"] == "已违诺"
    assert shown[broken["id"]]["matter_name"] == "市场准入与行政许可"
    pdf = running.client.get(url, headers={**auth("admin"), "Accept": "application/pdf"})
    assert pdf.status_code == 200
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "信用承诺(共 2 项)" in text and "已违诺" in text and "承诺书K" in text


def test_subject_of_the_other_kind_is_422(running: Running) -> None:
    subject = ambiguous_id()  # valid as both kinds: only the registered kind tells
    record(running, commitment_body(subject, subject_kind="person", doc_no="个人承诺2"))
    body = commitment_body(subject, subject_kind="org", doc_no="个人承诺3")
    response = running.client.post("/v1/commitments", json=body, headers=auth("tax"))
    assert response.status_code == 422 and "subject_kind" in fields(response)


def test_openapi_documents_the_answers(running: Running) -> None:
    spec = running.client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for path, method, model in [
        ("/v1/commitments", "post", "CommitmentAnswer"),
        ("/v1/commitments", "get", "CommitmentPage"),
        ("/v1/commitments/{commitment_id}", "get", "CommitmentOut"),
        ("/v1/commitments/{commitment_id}/breach", "post", "BreachAnswer"),
        ("/v1/warnings", "get", "WarningsPage"),
    ]:
        answers = spec["paths"][path][method]["responses"]
        success = answers["201" if method == "post" and "fulfilment" not in path else "200"]
        assert success["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{model}"
        }
        assert model in schemas
