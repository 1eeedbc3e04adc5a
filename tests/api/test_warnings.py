"""Early warning over HTTP (docs/commitments.md#early-warning): every kind with its numbers,
the filters, paging and bad input. Run on both databases, with the shipped bundle."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.calendar import add_working_days, working_days_between
from engine.timing import china_today
from tests.api.conftest import Running, auth
from tests.api.test_commitments import commitment_body, fields, policy_dir, record
from tests.engine.registry.test_registry import org

__all__ = ["policy_dir"]  # the shipped bundle


def register(running: Running, body: dict[str, Any]) -> dict[str, Any]:
    response = running.client.post("/v1/entries", json=body, headers=auth("tax"))
    assert response.status_code == 201, response.text
    entry: dict[str, Any] = response.json()["entry"]
    return entry


def penalty(subject: str, n: int, days_ago: int, **extra: Any) -> dict[str, Any]:
    return {
        "list": "administrative_penalty",
        "subject_id": subject,
        "subject_kind": "org",
        "decided_on": (china_today() - dt.timedelta(days=days_ago)).isoformat(),
        "doc_no": f"税罚{n}号",
        **extra,
    }


def warnings(running: Running, query: str = "", who: str = "admin") -> Any:
    return running.client.get(f"/v1/warnings{query}", headers=auth(who))


def test_every_kind_with_its_numbers(running: Running) -> None:
    today = china_today()
    # two penalties in the window: one short of repeat-penalties (3 in 365 days)
    near = org(1)
    first = register(running, penalty(near, 1, 100))
    second = register(running, penalty(near, 2, 30))
    # an entry expiring in two days
    soon = (today + dt.timedelta(days=2)).isoformat()
    expiring = register(running, penalty(org(2), 3, 10, effective_to=soon))
    # a published entry leaving publicity (1095 days) before it expires
    start = today - dt.timedelta(days=1094)
    published = register(
        running,
        {
            "list": "major_tax_violation",
            "subject_id": org(3),
            "subject_kind": "org",
            "decided_on": start.isoformat(),
            "effective_to": (start + dt.timedelta(days=2000)).isoformat(),
            "doc_no": "税稽罚1号",
            "attributes": {"amount": 5000000, "ratio": 0.5},
        },
    )
    # an objection received 8 working days ago (10 to verify)
    objected = register(running, penalty(org(4), 4, 20))
    received = today - dt.timedelta(days=12)
    running.client.post(
        f"/v1/entries/{objected['id']}/objection",
        json={"reason": "处罚已撤销", "received_on": received.isoformat()},
        headers=auth("admin"),
    )
    # a commitment due in a few working days
    commitment = record(running, commitment_body(org(5), due_working_days=3))

    answer = warnings(running, "?within=10").json()
    assert answer["as_of"] == today.isoformat() and answer["within"] == 10
    assert answer["horizon"] == add_working_days(today, 10).day.isoformat()
    by_kind = {item["kind"]: item for item in answer["items"]}
    assert set(by_kind) == {
        "derivation_threshold",
        "entry_expiring",
        "publicity_ending",
        "objection_due",
        "commitment_due",
    }
    threshold = by_kind["derivation_threshold"]
    assert threshold["subject_id"] == near and threshold["department"] == "system"
    assert threshold["numbers"] == {
        "derivation_id": "repeat-penalties",
        "from_list": "administrative_penalty",
        "derive_list": "focus_supervision",
        "count": 2,
        "at_least": 3,
        "within_days": 365,
        "entry_ids": sorted([first["id"], second["id"]]),
    }
    assert "已有 2 条行政处罚记录" in threshold["reason"] and "达到 3 条" in threshold["reason"]
    # the count drops when the older penalty leaves the 365-day window
    assert (
        threshold["due_on"] == (today - dt.timedelta(days=100) + dt.timedelta(days=365)).isoformat()
    )

    item = by_kind["entry_expiring"]
    assert item["entry_id"] == expiring["id"] and item["due_on"] == soon
    assert item["working_days_left"] == working_days_between(today, dt.date.fromisoformat(soon))

    item = by_kind["publicity_ending"]
    assert item["entry_id"] == published["id"]
    assert item["due_on"] == (today + dt.timedelta(days=2)).isoformat()
    assert item["numbers"]["leaves_publicity_on"] == item["due_on"]

    item = by_kind["objection_due"]
    verify_by = add_working_days(received, 10).day
    assert item["entry_id"] == objected["id"] and item["due_on"] == verify_by.isoformat()
    assert item["numbers"]["working_days_left"] == working_days_between(today, verify_by)
    assert "异议核实期限" in item["reason"]

    item = by_kind["commitment_due"]
    assert item["commitment_id"] == commitment["id"]
    assert item["due_on"] == commitment["due_on"]
    assert item["working_days_left"] == commitment["working_days_left"]

    days = [item["due_on"] for item in answer["items"]]
    assert days == sorted(days)


def test_filters_paging_and_horizon(running: Running) -> None:
    for i in range(3):
        record(running, commitment_body(org(10 + i), due_working_days=2))
    far = record(running, commitment_body(org(20), due_working_days=30))
    near = warnings(running, "?kind=commitment_due&within=5").json()["items"]
    assert far["id"] not in [item["commitment_id"] for item in near] and len(near) == 3
    wide = warnings(running, "?kind=commitment_due&within=40").json()["items"]
    assert far["id"] in [item["commitment_id"] for item in wide]
    assert warnings(running, "?department=court").json()["items"] == []
    assert len(warnings(running, "?department=tax").json()["items"]) == 3
    one = warnings(running, f"?subject_id={org(11).lower()}").json()["items"]
    assert [item["subject_id"] for item in one] == [org(11)]
    first = warnings(running, "?limit=2").json()
    second = warnings(running, f"?limit=2&cursor={first['next_cursor']}").json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert second["next_cursor"] is None


def test_bad_input_and_roles(running: Running) -> None:
    for query, field in [
        ("?within=0", "within"),
        ("?within=61", "within"),
        ("?kind=rumour", "kind"),
        ("?limit=0", "limit"),
        ("?cursor=abc", "cursor"),
    ]:
        response = warnings(running, query)
        assert response.status_code == 422, query
        assert fields(response) == [field]
    assert warnings(running, who="tax").status_code == 403
    assert warnings(running, who="auditor").status_code == 403
    assert running.client.get("/v1/warnings").status_code == 401
