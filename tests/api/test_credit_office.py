"""The credit office over HTTP (docs/api.md, "Credit office" and "Remediation", "Personal
information"): objections on the working-day clock, corrections, cascades, duplicates, what an
entry caused, notices, masked persons and the access log. Run on both databases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.audit.replay import replay
from engine.decisions.hit_index import rebuild
from engine.store import events, snapshot
from engine.store.tables import DECISION_HIT_TABLE
from engine.timing import china_today
from tests.api.conftest import Running, auth
from tests.engine.registry.test_registry import org, person


def djd(subject: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "list": "dishonest_judgment_debtor",
        "subject_id": subject,
        "subject_kind": "org",
        "decided_on": "2025-03-01",
        "doc_no": f"(2025)粤01执{subject[-4:]}号",
        "attributes": {"amount": 2000000, "category": "tax_evasion"},
    }
    body.update(overrides)
    return body


def register(running: Running, body: dict[str, Any], who: str = "court") -> dict[str, Any]:
    response = running.client.post("/v1/entries", json=body, headers=auth(who))
    assert response.status_code == 201, response.text
    entry: dict[str, Any] = response.json()["entry"]
    return entry


def objection(running: Running, entry_id: str, **body: Any) -> Any:
    return running.client.post(
        f"/v1/entries/{entry_id}/objection",
        json={"reason": "已履行", **body},
        headers=auth("admin"),
    )


def resolve(running: Running, entry_id: str, who: str = "admin", **body: Any) -> Any:
    return running.client.post(
        f"/v1/entries/{entry_id}/objection/resolution", json=body, headers=auth(who)
    )


def check(running: Running, subject: str, matter: str = "government_procurement") -> Any:
    response = running.client.post(
        "/v1/checks", json={"subject_id": subject, "matter": matter}, headers=auth("finance")
    )
    assert response.status_code == 200, response.text
    return response.json()


def event_count(running: Running) -> int:
    with running.service.engine.connect() as connection:
        from sqlmodel import Session

        return events.last_seq(Session(bind=connection))


def test_objection_deadline_crosses_national_day_and_is_listed(running: Running) -> None:
    entry = register(running, djd(org(1)))
    # Received Friday 2025-09-26: 10 working days are 09-28 (Sunday, adjusted workday), 09-29,
    # 09-30, then 10-09 after the 国庆/中秋 holidays 10-01..10-08, 10-10, 10-11 (Saturday,
    # adjusted workday), 10-13, 10-14, 10-15, 10-16.
    response = objection(running, entry["id"], received_on="2025-09-26")
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["status"] == "under_objection"
    assert shown["objection"] == {
        "reason": "已履行",
        "received_on": "2025-09-26",
        "verify_by": "2025-10-16",
        "outcome": None,
        "resolved_on": None,
        "note": None,
    }
    assert (
        running.client.get(f"/v1/entries/{entry['id']}", headers=auth("court")).json()["objection"]
        == shown["objection"]
    )

    listed = running.client.get("/v1/objections?status=open", headers=auth("court")).json()
    assert listed == {
        "items": [
            {
                "entry_id": entry["id"],
                "list": "dishonest_judgment_debtor",
                "subject_id": org(1),
                "department": "court",
                "reason": "已履行",
                "received_on": "2025-09-26",
                "verify_by": "2025-10-16",
                "overdue": True,  # today is after 2025-10-16
                "outcome": None,
                "resolved_on": None,
            }
        ],
        "next_cursor": None,
    }
    assert running.client.get("/v1/objections", headers=auth("tax")).json()["items"] == []
    overdue = running.client.get("/v1/objections?overdue=true", headers=auth("admin")).json()
    assert [item["entry_id"] for item in overdue["items"]] == [entry["id"]]
    resolved = running.client.get("/v1/objections?status=resolved", headers=auth("admin"))
    assert resolved.json()["items"] == []
    assert running.client.get("/v1/objections", headers=auth("finance")).status_code == 403


def test_objections_page_with_a_cursor(running: Running) -> None:
    ids = [register(running, djd(org(10 + i)))["id"] for i in range(3)]
    for entry_id in ids:
        assert objection(running, entry_id, received_on="2025-01-24").status_code == 200
    first = running.client.get("/v1/objections?limit=2", headers=auth("admin")).json()
    assert [item["entry_id"] for item in first["items"]] == ids[:2]
    # 春节 2025: 01-26 (Sunday, adjusted workday), 01-27, then 02-05 after 01-28..02-04.
    assert first["items"][0]["verify_by"] == "2025-02-13"
    rest = running.client.get(
        f"/v1/objections?limit=2&cursor={first['next_cursor']}", headers=auth("admin")
    ).json()
    assert ([item["entry_id"] for item in rest["items"]], rest["next_cursor"]) == (ids[2:], None)
    bad = running.client.get("/v1/objections?cursor=nonsense", headers=auth("admin"))
    assert (bad.status_code, bad.json()["error"]["details"][0]["field"]) == (422, "cursor")


def test_bad_objections_change_nothing(running: Running) -> None:
    entry = register(running, djd(org(2)))
    before = event_count(running)
    future = objection(running, entry["id"], received_on="2999-01-01")
    assert future.status_code == 422
    assert future.json()["error"]["details"][0]["field"] == "received_on"
    revoked = register(running, djd(org(3)))
    assert (
        running.client.post(
            f"/v1/entries/{revoked['id']}/revoke", headers=auth("court")
        ).status_code
        == 200
    )
    before = event_count(running)
    not_active = objection(running, revoked["id"])
    assert (not_active.status_code, not_active.json()["error"]["code"]) == (409, "invalid_state")
    assert event_count(running) == before
    assert (
        running.client.get(f"/v1/entries/{entry['id']}", headers=auth("court")).json()["status"]
        == "active"
    )


def test_resolution_by_the_owning_department_or_the_credit_office(running: Running) -> None:
    entry = register(running, djd(org(4)))
    assert objection(running, entry["id"]).status_code == 200
    before = event_count(running)
    other = resolve(running, entry["id"], who="tax", outcome="rejected")  # tax: not the owner
    assert (other.status_code, other.json()["error"]["code"]) == (403, "forbidden")
    assert resolve(running, entry["id"], who="finance", outcome="rejected").status_code == 403
    assert event_count(running) == before
    owner = resolve(running, entry["id"], who="court", outcome="rejected", note="核实无误")
    assert owner.status_code == 200, owner.text
    body = owner.json()
    assert body["status"] == "active"
    assert (body["objection"]["outcome"], body["objection"]["note"]) == ("rejected", "核实无误")
    assert body["objection"]["resolved_on"] is not None
    again = resolve(running, entry["id"], outcome="upheld")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "invalid_state")


def test_correction_re_evaluates_what_the_entry_triggers(running: Running) -> None:
    subject = org(5)
    entry = register(running, djd(subject))
    assert [hit["measure_id"] for hit in check(running, subject)["hits"]] == ["djd-procurement"]
    assert objection(running, entry["id"]).status_code == 200
    assert check(running, subject)["hits"] == []  # 核实期间暂不执行

    before = event_count(running)
    unreadable = resolve(running, entry["id"], outcome="corrected", attributes={"colour": "red"})
    assert unreadable.status_code == 422
    assert unreadable.json()["error"]["details"][0]["field"] == "attributes.colour"
    backwards = resolve(running, entry["id"], outcome="corrected", effective_to="2025-02-01")
    assert backwards.status_code == 422
    assert backwards.json()["error"]["details"][0]["field"] == "effective_to"
    empty = resolve(running, entry["id"], outcome="corrected")
    assert empty.json()["error"]["details"][0]["field"] == "outcome"
    stray = resolve(running, entry["id"], outcome="rejected", attributes={"amount": 1})
    assert stray.json()["error"]["details"][0]["field"] == "attributes"
    assert event_count(running) == before

    corrected = resolve(
        running,
        entry["id"],
        outcome="corrected",
        attributes={"amount": 500},
        effective_to="2030-03-01",
    )
    assert corrected.status_code == 200, corrected.text
    body = corrected.json()
    assert body["status"] == "active"
    assert body["attributes"] == {"amount": 500, "category": "tax_evasion"}
    assert body["effective_to"] == "2030-03-01"
    assert body["objection"]["outcome"] == "corrected"
    # Below the trigger's threshold now: the entry no longer triggers the memorandum.
    assert check(running, subject)["hits"] == []

    # A restart (snapshot or not) gives the same entry and the same answers; replay of the
    # decisions made before and after the correction is identical.
    state = running.service.state
    restored = snapshot.restore(snapshot.dump(state))
    assert restored.entries == state.entries
    assert restored.objections == state.objections
    report = replay(running.service.engine)
    assert (report.replayed, report.identical, report.changed) == (3, 3, [])


def test_duplicates_are_refused_but_an_idempotent_repeat_is_answered(running: Running) -> None:
    body = djd(org(6))
    key = {"Idempotency-Key": "dup-1", **auth("court")}
    first = running.client.post("/v1/entries", json=body, headers=key)
    assert first.status_code == 201
    repeat = running.client.post("/v1/entries", json=body, headers=key)
    assert (repeat.status_code, repeat.json()) == (201, first.json())
    again = running.client.post("/v1/entries", json=body, headers=auth("court"))
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "duplicate_entry"
    assert error["details"][0]["entry_id"] == first.json()["entry"]["id"]
    other_doc = running.client.post(
        "/v1/entries", json={**body, "doc_no": "(2025)粤01执9号"}, headers=auth("court")
    )
    assert other_doc.status_code == 201


def penalty(subject: str, n: int) -> dict[str, Any]:
    return {
        "list": "administrative_penalty",
        "subject_id": subject,
        "subject_kind": "org",
        # Recent: the derived entry (365 days from the newest) must still be in force today.
        "decided_on": (china_today() - dt.timedelta(days=40 - 10 * n)).isoformat(),
        "doc_no": f"税罚〔2025〕{n}号",
    }


def test_a_derived_entry_falls_with_its_source(running: Running) -> None:
    subject = org(7)
    sources = []
    for n in (1, 2, 3):
        response = running.client.post("/v1/entries", json=penalty(subject, n), headers=auth("tax"))
        assert response.status_code == 201, response.text
        sources.append(response.json())
    [derived] = sources[2]["derived"]
    derived_id = derived["entry"]["id"]
    assert sorted(derived["entry"]["derived_from"]) == sorted(s["entry"]["id"] for s in sources)

    revoked = running.client.post(
        f"/v1/entries/{sources[0]['entry']['id']}/revoke", headers=auth("tax")
    )
    assert revoked.status_code == 200
    shown = running.client.get(f"/v1/entries/{derived_id}", headers=auth("tax")).json()
    assert shown["status"] == "revoked"
    with running.service.engine.connect() as connection:
        from sqlmodel import Session

        last = list(events.read(Session(bind=connection)))[-2:]
    assert [(e.type, e.payload["entry_id"], e.department) for e in last] == [
        ("entry.revoked", sources[0]["entry"]["id"], "tax"),
        ("entry.revoked", derived_id, "system"),
    ]
    assert sources[0]["entry"]["id"] in last[1].payload["reason"]
    assert last[0].seq + 1 == last[1].seq  # one transaction, appended together


def test_an_upheld_objection_also_cascades(running: Running) -> None:
    subject = org(8)
    sources = [
        running.client.post("/v1/entries", json=penalty(subject, n), headers=auth("tax")).json()
        for n in (1, 2, 3)
    ]
    derived_id = sources[2]["derived"][0]["entry"]["id"]
    assert objection(running, sources[1]["entry"]["id"]).status_code == 200
    # Under objection the source still stands: the derived entry stays.
    assert (
        running.client.get(f"/v1/entries/{derived_id}", headers=auth("tax")).json()["status"]
        == "active"
    )
    assert resolve(running, sources[1]["entry"]["id"], outcome="upheld").status_code == 200
    assert (
        running.client.get(f"/v1/entries/{derived_id}", headers=auth("tax")).json()["status"]
        == "revoked"
    )
    report = replay(running.service.engine)
    assert report.changed == []


def test_what_an_entry_caused_and_the_notices(running: Running) -> None:
    subject = org(9)
    entry = register(running, djd(subject))
    other = register(running, djd(org(19)))
    decisions = [check(running, subject)["decision_id"] for _ in range(3)]
    check(running, org(19))
    feedback = running.client.post(
        f"/v1/decisions/{decisions[0]}/feedback",
        json={"measure_id": "djd-procurement", "executed": True},
        headers=auth("finance"),
    )
    assert feedback.status_code == 201, feedback.text

    path = f"/v1/entries/{entry['id']}/decisions"
    page = running.client.get(f"{path}?limit=2", headers=auth("auditor")).json()
    assert [item["decision_id"] for item in page["items"]] == decisions[:2]
    first = page["items"][0]
    assert {k: first[k] for k in ("department", "matter", "outcome", "measure_ids")} == {
        "department": "finance",
        "matter": "government_procurement",
        "outcome": "prohibit",
        "measure_ids": ["djd-procurement"],
    }
    assert first["feedback"] == [{"measure_id": "djd-procurement", "executed": True}]
    rest = running.client.get(f"{path}?cursor={page['next_cursor']}", headers=auth("admin"))
    assert [item["decision_id"] for item in rest.json()["items"]] == decisions[2:]
    assert running.client.get(path, headers=auth("court")).status_code == 200  # its department
    assert running.client.get(path, headers=auth("tax")).status_code == 403
    assert (
        running.client.get("/v1/entries/nope/decisions", headers=auth("auditor")).json()["error"][
            "code"
        ]
        == "unknown_entry"
    )

    # The audit listing filtered by entry uses the same index.
    audit = running.client.get(f"/v1/decisions?entry_id={entry['id']}", headers=auth("auditor"))
    assert [item["decision_id"] for item in audit.json()["items"]] == decisions

    # Rebuilt from the log, the index answers the same.
    with running.service.engine.begin() as connection:
        connection.execute(DECISION_HIT_TABLE.delete())
        assert rebuild(connection) == 4
    again = running.client.get(f"{path}?limit=2", headers=auth("auditor")).json()
    assert again == page

    assert running.client.get("/v1/notices", headers=auth("admin")).json()["items"] == []
    assert running.client.post(f"/v1/entries/{entry['id']}/revoke", headers=auth("court"))
    assert objection(running, other["id"]).status_code == 200
    assert resolve(running, other["id"], outcome="upheld").status_code == 200
    notices = running.client.get("/v1/notices", headers=auth("finance")).json()
    assert [
        (n["entry_id"], n["ended"], n["department"], n["decisions"], n["measure_ids"])
        for n in notices["items"]
    ] == [
        (entry["id"], "revoked", "finance", 3, ["djd-procurement"]),
        (other["id"], "objection_upheld", "finance", 1, ["djd-procurement"]),
    ]
    assert notices["items"][0]["ended_on"] is not None
    assert notices["items"][0]["first_decided_at"] <= notices["items"][0]["last_decided_at"]
    assert running.client.get("/v1/notices", headers=auth("tax")).json()["items"] == []
    assert running.client.get("/v1/notices", headers=auth("court")).status_code == 403


def test_persons_are_masked_for_other_roles_and_every_read_is_logged(running: Running) -> None:
    someone = person(1)
    body = djd(someone, subject_kind="person", subject_name="张示例")
    register(running, body)
    masked = running.client.get(f"/v1/subjects/{someone}", headers=auth("finance")).json()
    assert (masked["id"], masked["name"]) == ("440106********" + someone[-4:], "张*")
    assert masked["entries"][0]["subject_id"] == "440106********" + someone[-4:]
    assert someone not in str(masked)
    full = running.client.get(f"/v1/subjects/{someone}", headers=auth("auditor")).json()
    assert (full["id"], full["name"]) == (someone, "张示例")

    access = running.client.get(
        f"/v1/audit/access?subject_id={someone}", headers=auth("auditor")
    ).json()
    assert [(a["caller"], a["department"], a["subject_id"]) for a in access["items"]] == [
        ("某市财政局", "finance", someone),
        ("某市审计局", "finance", someone),
    ]
    since = access["items"][1]["accessed_at"]
    later = running.client.get(
        "/v1/audit/access", params={"since": since}, headers=auth("auditor")
    ).json()
    assert [a["caller"] for a in later["items"]] == ["某市审计局"]
    naive = running.client.get(
        "/v1/audit/access", params={"until": "2000-01-01T08:00:00"}, headers=auth("auditor")
    ).json()
    assert naive["items"] == []
    assert running.client.get("/v1/audit/access", headers=auth("admin")).status_code == 403
    # An org without persons in its answer is not recorded.
    register(running, djd(org(20)))
    running.client.get(f"/v1/subjects/{org(20)}", headers=auth("finance"))
    assert len(running.client.get("/v1/audit/access", headers=auth("auditor")).json()["items"]) == 2


def test_import_counts_an_entry_registered_over_http_as_unchanged(running: Running) -> None:
    from engine import entries

    body = djd(org(21))
    stored = register(running, body)
    counts = entries.import_rows(running.service, [body], department="court")
    assert (counts.created, counts.unchanged) == (0, 1)
    assert [e.id for e in running.service.state.entries_of(org(21))] == [stored["id"]]


def test_no_client_text_makes_the_new_routes_fail(running: Running) -> None:
    reads = {
        "/v1/decisions?entry_id=a%00b": ("auditor", 422),
        "/v1/entries/a%00b/decisions": ("auditor", 422),  # NUL in any path: 422
        "/v1/audit/access?subject_id=a%00b": ("auditor", 422),
        "/v1/audit/access?since=2025-01-01T00:00:00%00": ("auditor", 422),
        "/v1/objections?cursor=a%00b": ("admin", 422),
        "/v1/objections?status=maybe": ("admin", 422),
        "/v1/notices?cursor=%00": ("admin", 422),
        "/v1/entries/x/decisions?cursor=%00": ("admin", 422),
    }
    for path, (who, status) in reads.items():
        assert running.client.get(path, headers=auth(who)).status_code == status, path
    entry = register(running, djd(org(22)))
    nul = objection(running, entry["id"], reason="a\x00b")
    assert nul.status_code == 422
    assert objection(running, "a%00b").status_code == 422
    assert objection(running, entry["id"], received_on="2025-13-01").status_code == 422
    assert objection(running, entry["id"]).status_code == 200
    bad = resolve(running, entry["id"], outcome="corrected", attributes={"amount": "\x00"})
    assert bad.status_code == 422
