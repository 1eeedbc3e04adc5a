"""The console through HTTP (both databases): sessions, roles, masking, forms, every page.

The browser tests (test_browser.py) drive the same pages in Chromium; these check what the
server answers, including the engine reads on each database (per-day counts, outcome
filters on the stored JSON, replay of one decision).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.console.session import COOKIE, ConsoleSession, SessionCodec
from tests.api.conftest import Running, auth, key_of
from tests.console.helpers import csrf_of, foreign, references, sign_in

ORG = "91440101000010014P"
PERSON = "440106198001010115"
XSS = "<script>alert(1)</script>"


def seed(running: Running) -> dict[str, Any]:
    """A person and an org linked by a role, an entry on the org (reaching the person), a
    check with a hit and feedback on it, one entry under objection. Through /v1."""
    client = running.client
    subjects = [
        {"id": ORG, "kind": "org", "name": f"某建设有限公司{XSS}"},
        {"id": PERSON, "kind": "person", "name": "张三"},
    ]
    assert client.post("/v1/subjects", json=subjects, headers=auth("registrar")).status_code == 200
    relation = {
        "org_id": ORG,
        "person_id": PERSON,
        "role": "legal_representative",
        "start": "2020-01-01",
        "end": None,
    }
    assert (
        client.post("/v1/relations", json=[relation], headers=auth("registrar")).status_code == 200
    )
    entry = {
        "list": "dishonest_judgment_debtor",
        "subject_id": ORG,
        "subject_kind": "org",
        "decided_on": "2025-03-01",
        "doc_no": "(2025)粤01执100号",
        "reason": "<img src=x onerror=alert(2)>",
        "attributes": {"amount": 2000000, "category": "tax_evasion"},
    }
    registered = client.post("/v1/entries", json=entry, headers=auth("court"))
    assert registered.status_code == 201, registered.text
    second = client.post(
        "/v1/entries", json={**entry, "doc_no": "(2025)粤01执101号"}, headers=auth("court")
    ).json()["entry"]
    objection = client.post(
        f"/v1/entries/{second['id']}/objection", json={"reason": "异议"}, headers=auth("admin")
    )
    assert objection.status_code == 200, objection.text
    check = client.post(
        "/v1/checks",
        json={"subject_id": ORG, "matter": "government_procurement"},
        headers=auth("finance"),
    ).json()
    assert check["hits"], check
    feedback = client.post(
        f"/v1/decisions/{check['decision_id']}/feedback",
        json={"measure_id": check["hits"][0]["measure_id"], "executed": True, "note": XSS},
        headers=auth("finance"),
    )
    assert feedback.status_code == 201, feedback.text
    return {"entry": registered.json()["entry"], "objected": second, "check": check}


def signed_in(running: Running, who: str) -> TestClient:
    answer = sign_in(running.client, key_of(who))
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console/"
    return running.client


def test_root_redirects_and_pages_without_session_go_to_login(running: Running) -> None:
    client = running.client
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/console/"
    for path in ("/console/", "/console/decisions", "/console/subjects/X", "/console/nowhere"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/console/login"


def test_login_sets_a_signed_httponly_strict_cookie_without_the_key(running: Running) -> None:
    answer = sign_in(running.client, key_of("auditor"))
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=28800" in cookie
    assert key_of("auditor") not in cookie
    assert running.client.get("/console/").status_code == 200


def test_wrong_key_shows_a_message_not_an_error(running: Running) -> None:
    answer = sign_in(running.client, "no-such-key")
    assert answer.status_code == 401
    assert "密钥无效" in answer.text
    assert running.client.get("/console/", follow_redirects=False).status_code == 303


def test_login_without_csrf_token_or_form_is_refused(running: Running) -> None:
    client = running.client
    client.get("/console/login")
    refused = client.post("/console/login", data={"key": key_of("auditor")})
    assert refused.status_code == 403
    fresh = TestClient(client.app)
    expired = fresh.post("/console/login", data={"key": key_of("auditor"), "csrf": "x"})
    assert expired.status_code == 400 and "过期" in expired.text
    garbage = client.post(
        "/console/login", content=b"\xff\xfe%%%", headers={"content-type": "text/plain"}
    )
    assert garbage.status_code == 403


def test_forged_expired_and_foreign_cookies_go_to_login(running: Running) -> None:
    client = running.client
    signed_in(running, "auditor")
    value = client.cookies.get(COOKIE)
    assert value
    payload, signature = value.split(".")
    for forged in (
        f"{payload}.{signature[:-2]}AA",
        f"{payload[:-2]}AA.{signature}",
        "garbage",
        "",
        "a.b.c",
    ):
        client.cookies.set(COOKIE, forged, path="/console")
        answer = client.get("/console/", follow_redirects=False)
        assert answer.status_code == 303, forged
    other = SessionCodec(b"another secret of thirty-two bytes!!")
    from api.auth import hash_key

    digest = hash_key(key_of("auditor"))
    client.cookies.set(COOKIE, other.encode(other.new(digest)), path="/console")
    assert client.get("/console/", follow_redirects=False).status_code == 303
    codec: SessionCodec = client.app.state.console_sessions  # type: ignore[attr-defined]
    expired = ConsoleSession(digest, "t", int(time.time()) - 1)
    client.cookies.set(COOKIE, codec.encode(expired), path="/console")
    assert client.get("/console/", follow_redirects=False).status_code == 303
    valid = ConsoleSession(digest, "t", int(time.time()) + 60)
    client.cookies.set(COOKIE, codec.encode(valid), path="/console")
    assert client.get("/console/", follow_redirects=False).status_code == 200


def test_logout_ends_the_session(running: Running) -> None:
    client = signed_in(running, "auditor")
    page = client.get("/console/")
    answer = client.post(
        "/console/logout", data={"csrf": csrf_of(page.text)}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
    assert client.get("/console/", follow_redirects=False).status_code == 303


ROLE_PAGES = {
    "/console/policy": {"admin", "auditor"},
    "/console/decisions": {"auditor"},
    "/console/objections": {"admin", "court", "tax"},
    "/console/stats": {"auditor"},
    "/console/check": {"tax", "finance"},
    "/console/warnings": {"admin"},
}


@pytest.mark.parametrize("who", ["court", "tax", "finance", "auditor", "admin", "registrar"])
def test_each_role_sees_its_pages_and_a_403_page_elsewhere(running: Running, who: str) -> None:
    seed(running)
    client = signed_in(running, who)
    for path in ("/console/", "/console/memoranda", f"/console/subjects/{PERSON}"):
        assert client.get(path).status_code == 200, path
    for path, allowed in ROLE_PAGES.items():
        answer = client.get(path)
        if who in allowed:
            assert answer.status_code == 200, (who, path, answer.text[:500])
            assert f'href="{path}"' in answer.text  # in the navigation
        else:
            assert answer.status_code == 403, (who, path)
            assert "无权" in answer.text
            assert f'href="{path}"' not in answer.text


def test_every_page_is_offline_escaped_and_complete(running: Running) -> None:
    data = seed(running)
    client = signed_in(running, "auditor")
    decision_id = data["check"]["decision_id"]
    memo = data["check"]["hits"][0]["memorandum_id"]
    paths = [
        "/console/",
        "/console/memoranda",
        f"/console/memoranda/{memo}",
        "/console/policy",
        "/console/decisions",
        f"/console/decisions/{decision_id}",
        f"/console/decisions/{decision_id}?replay=1",
        f"/console/subjects/{ORG}",
        f"/console/subjects/{PERSON}",
        "/console/stats",
        "/console/login",
        "/docs",
        "/redoc",
    ]
    for path in paths:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text[:500])
        assert not foreign(references(answer.text)), path
        assert "<script>alert" not in answer.text, path
        assert "<img src=x" not in answer.text, path
        if path.startswith("/console/") and path != "/console/login":
            assert "script-src 'self'" in answer.headers["content-security-policy"]
    subject = client.get(f"/console/subjects/{ORG}").text
    assert "某建设有限公司&lt;script&gt;alert(1)&lt;/script&gt;" in subject
    assert "&lt;img src=x onerror=alert(2)&gt;" in subject
    replay = client.get(f"/console/decisions/{decision_id}?replay=1").text
    assert "重放结果与记录一致" in replay
    detail = client.get(f"/console/decisions/{decision_id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail  # the feedback note, as text
    assert data["check"]["hits"][0]["measure_id"] in detail


def test_helpers_find_foreign_references() -> None:
    html = (
        '<script src="https://cdn.example.org/x.js"></script><link href="//fonts.example/a">'
        '<div style="background:url(http://x.example/i.png)"></div><a href="/console/">'
        "<style>body{background:url('https://evil.example/b.png')}</style>"
        '<img src="http://127.0.0.1:8000/ok.png">'
    )
    assert foreign(references(html)) == [
        "https://cdn.example.org/x.js",
        "//fonts.example/a",
        "http://x.example/i.png",
        "https://evil.example/b.png",
    ]


def test_decision_log_filters_newest_first_and_pages(running: Running) -> None:
    seed(running)
    client = running.client
    for matter in ("bidding", "financing", "government_procurement"):
        client.post(
            "/v1/checks", json={"subject_id": ORG, "matter": matter}, headers=auth("tax")
        ).raise_for_status()
    signed_in(running, "auditor")
    page = client.get("/console/decisions").text
    seqs = [
        int(s) for s in __import__("re").findall(r'/console/decisions/[0-9a-f-]{36}">(\d+)<', page)
    ]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == 4
    by_department = client.get("/console/decisions?department=finance").text
    assert by_department.count("/console/decisions/") == 1
    prohibit = client.get("/console/decisions?outcome=prohibit").text
    clear = client.get("/console/decisions?outcome=clear").text
    assert (
        prohibit.count('href="/console/decisions/') + clear.count('href="/console/decisions/') <= 4
    )
    assert (
        client.get(f"/console/decisions?subject={ORG.lower()}").text.count(
            'href="/console/decisions/'
        )
        == 4
    )
    assert client.get("/console/decisions?since=2999-01-01").text.count("没有符合条件") == 1
    assert client.get("/console/decisions?since=not-a-date").status_code == 422
    assert client.get("/console/decisions?outcome=maybe").status_code == 422
    assert client.get("/console/decisions?before=%%%").status_code == 422


def test_subject_page_masks_personal_data_for_other_roles(running: Running) -> None:
    seed(running)
    client = signed_in(running, "finance")
    masked = client.get(f"/console/subjects/{PERSON}").text
    assert "张*" in masked and "张三" not in masked
    assert PERSON not in masked.replace(f"/console/subjects/{PERSON}", "")
    assert "440106********0115" in masked
    assert "政府采购" in masked  # measures in force per matter (none reach the person)
    client.post("/console/logout", data={"csrf": csrf_of(masked)})
    signed_in(running, "registrar")
    whole = client.get(f"/console/subjects/{PERSON}").text
    assert "张三" in whole and PERSON in whole
    assert client.get("/console/subjects/123").status_code == 422
    assert client.get("/console/subjects/91440101000010022J").status_code == 404
    assert client.get("/console/subjects/" + "9" * 300).status_code == 422


def test_check_form_runs_a_logged_check(running: Running) -> None:
    seed(running)
    client = signed_in(running, "finance")
    form = client.get("/console/check")
    answer = client.post(
        "/console/check",
        data={
            "csrf": csrf_of(form.text),
            "subject_id": ORG,
            "matter": "government_procurement",
            "as_of": "",
            "reference": "采购-1",
        },
    )
    assert answer.status_code == 200, answer.text[:500]
    assert "禁止" in answer.text or "限制" in answer.text
    signed_in(running, "auditor")
    log = client.get(f"/v1/decisions?subject_id={ORG}", headers=auth("auditor")).json()
    assert [item["request"]["reference"] for item in log["items"]][-1] == "采购-1"
    assert log["items"][-1]["caller"] == "某市财政局"


def test_reason_labels_cover_every_reason_code() -> None:
    from api.console.frame import LABELS
    from engine.checks.explain import Reason

    assert set(LABELS["reason"]) == {reason.value for reason in Reason}
    assert all(label and label != code for code, label in LABELS["reason"].items())


def test_check_form_explains_and_the_decision_page_shows_the_logged_explanation(
    running: Running,
) -> None:
    data = seed(running)
    client = signed_in(running, "finance")
    form = client.get("/console/check")
    assert 'name="explain" value="1" checked' in form.text  # on by default
    fields = {"csrf": csrf_of(form.text), "subject_id": ORG, "matter": "government_procurement"}
    explained = client.post("/console/check", data={**fields, "explain": "1"})
    assert explained.status_code == 200, explained.text[:500]
    # The second entry is under objection: it concerns the subject without a hit.
    assert "条目异议中,核实期间暂不执行" in explained.text
    assert "<code>under_objection</code>" in explained.text
    assert data["objected"]["id"][:8] in explained.text
    plain = client.post("/console/check", data=fields)
    assert plain.status_code == 200 and "under_objection" not in plain.text
    assert "不适用原因说明" not in plain.text
    logged = client.get(f"/v1/decisions?subject_id={ORG}", headers=auth("auditor")).json()
    with_explain, without = logged["items"][-2], logged["items"][-1]
    assert with_explain["request"].get("explain") is True and "explain" not in without["request"]
    reasons = {item["reason"] for item in with_explain["response"]["explanation"]}
    assert "under_objection" in reasons
    client.post("/console/logout", data={"csrf": csrf_of(plain.text)})
    signed_in(running, "auditor")
    page = client.get(f"/console/decisions/{with_explain['decision_id']}").text
    for reason in reasons:
        assert f"<code>{reason}</code>" in page
    assert "条目异议中,核实期间暂不执行" in page
    other = client.get(f"/console/decisions/{without['decision_id']}").text
    assert "此次查询未要求说明原因" in other and "<code>under_objection</code>" not in other


def test_check_form_bad_input_and_missing_csrf(running: Running) -> None:
    client = signed_in(running, "finance")
    form = client.get("/console/check")
    token = csrf_of(form.text)
    bad_id = client.post(
        "/console/check",
        data={"csrf": token, "subject_id": "123", "matter": "government_procurement"},
    )
    assert bad_id.status_code == 422 and "subject_id" in bad_id.text
    bad_matter = client.post(
        "/console/check", data={"csrf": token, "subject_id": ORG, "matter": "nope"}
    )
    assert bad_matter.status_code == 422
    bad_time = client.post(
        "/console/check",
        data={"csrf": token, "subject_id": ORG, "matter": "bidding", "as_of": "yesterday"},
    )
    assert bad_time.status_code == 422
    no_csrf = client.post("/console/check", data={"subject_id": ORG, "matter": "bidding"})
    assert no_csrf.status_code == 403 and "表单" in no_csrf.text
    huge = client.post(
        "/console/check",
        content=b"csrf=" + b"x" * 70000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert huge.status_code == 413


def _third_entry_overdue(running: Running) -> str:
    """A third entry of the court on ORG with an objection received long ago (overdue)."""
    client = running.client
    entry = {
        "list": "dishonest_judgment_debtor",
        "subject_id": ORG,
        "subject_kind": "org",
        "decided_on": "2024-03-01",
        "doc_no": "(2024)粤01执7号",
        "attributes": {"amount": 3000000, "category": "tax_evasion"},
    }
    registered = client.post("/v1/entries", json=entry, headers=auth("court"))
    assert registered.status_code == 201, registered.text
    entry_id: str = registered.json()["entry"]["id"]
    raised = client.post(
        f"/v1/entries/{entry_id}/objection",
        json={"reason": "已履行<b>完毕</b>", "received_on": "2025-01-02"},
        headers=auth("admin"),
    )
    assert raised.status_code == 200, raised.text
    return entry_id


def test_objections_queue_overdue_first_with_verify_by(running: Running) -> None:
    data = seed(running)
    overdue = _third_entry_overdue(running)
    listed = running.client.get("/v1/objections?status=open", headers=auth("admin")).json()
    by_id = {item["entry_id"]: item for item in listed["items"]}
    assert by_id[overdue]["overdue"] is True and by_id[data["objected"]["id"]]["overdue"] is False
    client = signed_in(running, "admin")
    page = client.get("/console/objections").text
    assert page.index(overdue[:8]) < page.index(data["objected"]["id"][:8])  # overdue first
    assert (
        by_id[overdue]["verify_by"] in page and by_id[data["objected"]["id"]]["verify_by"] in page
    )
    assert page.count('class="tag overdue"') == 1
    assert "已履行&lt;b&gt;完毕&lt;/b&gt;" in page
    assert "其中逾期 <strong>1</strong> 件" in page
    overview = client.get("/console/").text
    assert 'id="tile-objections"><b>2</b>' in overview
    assert 'id="tile-overdue"><b>1</b>' in overview
    # An initiator sees its department's only: tax has none of the court's entries.
    client.post("/console/logout", data={"csrf": csrf_of(page)})
    signed_in(running, "tax")
    tax = client.get("/console/objections").text
    assert overdue[:8] not in tax and "目前没有未处理的异议" in tax
    refused = client.post(
        f"/console/objections/{overdue}/resolution",
        data={"csrf": csrf_of(tax), "outcome": "upheld"},
    )
    assert refused.status_code == 403  # as through /v1: not the entry's department


def test_objection_resolution_through_the_form(running: Running) -> None:
    data = seed(running)
    objected = data["objected"]["id"]
    overdue = _third_entry_overdue(running)
    client = signed_in(running, "court")  # an initiator of the entries' department
    court = client.get("/console/objections")
    assert objected[:8] in court.text and '<form class="resolve"' in court.text
    token = csrf_of(court.text)
    missing = client.post(f"/console/objections/{objected}/resolution", data={"csrf": token})
    assert missing.status_code == 422 and "请选择处理结果" in missing.text
    not_json = client.post(
        f"/console/objections/{objected}/resolution",
        data={"csrf": token, "outcome": "corrected", "attributes": "amount=1"},
    )
    assert not_json.status_code == 422 and "JSON" in not_json.text
    nothing = client.post(
        f"/console/objections/{objected}/resolution",
        data={"csrf": token, "outcome": "corrected", "attributes": "", "effective_to": ""},
    )
    assert nothing.status_code == 422 and "未能处理" in nothing.text
    unread = client.post(
        f"/console/objections/{objected}/resolution",
        data={"csrf": token, "outcome": "corrected", "attributes": '{"colour": "red"}'},
    )
    assert unread.status_code == 422 and "attributes.colour" in unread.text
    bad_day = client.post(
        f"/console/objections/{objected}/resolution",
        data={"csrf": token, "outcome": "corrected", "effective_to": "2025-02-30"},
    )
    assert bad_day.status_code == 422 and "effective_to" in bad_day.text
    corrected = client.post(
        f"/console/objections/{objected}/resolution",
        data={"csrf": token, "outcome": "corrected", "attributes": '{"amount": 500000}',
              "effective_to": "2030-01-01", "note": XSS},
        follow_redirects=False,
    )  # fmt: skip
    assert corrected.status_code == 303, corrected.text[:500]
    entry = client.get(f"/v1/entries/{objected}", headers=auth("admin")).json()
    assert entry["status"] == "active" and entry["attributes"]["amount"] == 500000
    assert entry["effective_to"] == "2030-01-01"
    again = client.post(
        f"/console/objections/{objected}/resolution",
        data={"csrf": token, "outcome": "upheld"},
    )
    assert again.status_code == 409 and "under_objection" in again.text
    client.post("/console/logout", data={"csrf": token})
    signed_in(running, "admin")  # the credit office resolves any department's
    page = client.get("/console/objections")
    token = csrf_of(page.text)
    upheld = client.post(
        f"/console/objections/{overdue}/resolution",
        data={"csrf": token, "outcome": "upheld"},
        follow_redirects=False,
    )
    assert upheld.status_code == 303
    assert client.get(f"/v1/entries/{overdue}", headers=auth("admin")).json()["status"] == "revoked"
    assert "目前没有未处理的异议" in client.get("/console/objections").text
    unknown = client.post(
        "/console/objections/nope/resolution", data={"csrf": token, "outcome": "upheld"}
    )
    assert unknown.status_code == 404
    no_csrf = client.post(f"/console/objections/{overdue}/resolution", data={"outcome": "upheld"})
    assert no_csrf.status_code == 403 and "表单" in no_csrf.text


def test_policy_versions_and_diff(running: Running) -> None:
    client = running.client
    vocabulary = running.policy_dir / "vocabulary.yaml"
    old = client.get("/v1/policy", headers=auth("admin")).json()["version"]
    vocabulary.write_text(
        vocabulary.read_text(encoding="utf-8").replace("政府采购", "政府采购(含框架协议)"),
        encoding="utf-8",
    )
    new = client.post("/v1/policy/reload", headers=auth("admin")).json()["version"]
    assert new != old
    signed_in(running, "admin")
    page = client.get("/console/policy").text
    assert old[:16] in page and new[:16] in page and "现行" in page
    diff = client.get(f"/console/policy?from={old}&to={new}").text
    assert "vocabulary.yaml" in diff and "政府采购(含框架协议)" in diff
    same = client.get(f"/console/policy?from={old}&to={old}").text
    assert "完全相同" in same
    assert client.get(f"/console/policy?from={old}&to=nope").status_code == 404


def test_overview_and_stats_show_engine_figures(running: Running) -> None:
    seed(running)
    client = signed_in(running, "auditor")
    overview = client.get("/console/").text
    assert "失信被执行人名单" in overview
    assert 'id="chart-checks"' in overview and 'id="chart-rate"' in overview
    assert "100.0%" in overview  # finance executed its one reported hit
    stats = client.get("/console/stats").text
    assert "财政部门" in stats and 'id="chart-feedback"' in stats
    assert 'id="publication-timeliness"' in stats and "尚未提供" not in stats


def test_overview_and_stats_figures_equal_the_apis_feedback_statistics(running: Running) -> None:
    """The pages read running totals; through /v1 (real checks, hits with entries, repeated
    feedback) they equal ``GET /v1/stats/feedback`` (``feedback_stats``) as the log grows."""
    from engine.decisions.running_stats import fast_feedback_stats

    seed(running)
    client = running.client
    engine = client.app.state.service.engine  # type: ignore[attr-defined]

    def api() -> list[dict[str, Any]]:
        answer = client.get("/v1/stats/feedback", headers=auth("auditor"))
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["departments"]
        return items

    assert fast_feedback_stats(engine) == api()
    for round_ in range(3):
        for who, matter in (("tax", "financing"), ("finance", "government_procurement"),
                            ("tax", "government_procurement"), ("finance", "bidding")):  # fmt: skip
            check = client.post(
                "/v1/checks", json={"subject_id": ORG, "matter": matter}, headers=auth(who)
            ).json()
            for hit in check["hits"][: round_ + 1]:
                for executed in (True, round_ % 2 == 0)[: round_ + 1]:
                    client.post(
                        f"/v1/decisions/{check['decision_id']}/feedback",
                        json={"measure_id": hit["measure_id"], "executed": executed},
                        headers=auth(who),
                    ).raise_for_status()
        assert fast_feedback_stats(engine) == api()
    figures = api()
    assert {row["department"] for row in figures} == {"finance", "tax"}
    assert any(row["fed_back"] for row in figures) and any(row["executed"] for row in figures)
    signed_in(running, "auditor")
    stats = client.get("/console/stats").text
    for row in figures:
        assert f'<td class="num">{row["checks"]}</td>' in stats


def test_in_force_counts_follow_each_event(running: Running) -> None:
    """The overview's per-list counts are kept per state position: a new entry shows."""
    from engine.entries.overview import in_force_by_list
    from engine.timing import china_today

    seed(running)
    service = running.client.app.state.service  # type: ignore[attr-defined]

    def djd() -> int:
        counts = {c["list"]: c["in_force"] for c in in_force_by_list(service, china_today())}
        return counts["dishonest_judgment_debtor"]

    before = djd()
    assert djd() == before  # from the cache
    entry = {"list": "dishonest_judgment_debtor", "subject_id": PERSON, "subject_kind": "person",
             "decided_on": "2025-05-01", "doc_no": "(2025)粤01执300号"}  # fmt: skip
    created = running.client.post("/v1/entries", json=entry, headers=auth("court"))
    assert created.status_code == 201, created.text
    assert djd() == before + 1
    running.client.post(
        f"/v1/entries/{created.json()['entry']['id']}/revoke", headers=auth("court")
    ).raise_for_status()
    assert djd() == before


def test_memorandum_page_reads_triggers_and_measures(running: Running) -> None:
    client = signed_in(running, "court")
    listing = client.get("/console/memoranda").text
    memo_ids = __import__("re").findall(r'href="/console/memoranda/([^"]+)"', listing)
    assert memo_ids
    for memo in memo_ids:
        page = client.get(f"/console/memoranda/{memo}")
        assert page.status_code == 200
        assert "强制" in page.text or "推荐" in page.text
        assert "实施部门" in page.text and "法律依据" in page.text
    assert client.get("/console/memoranda/nope").status_code == 404


def test_docs_use_the_vendored_assets(running: Running) -> None:
    client = running.client
    docs = client.get("/docs").text
    assert "/console/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs
    redoc = client.get("/redoc").text
    assert "/console/static/vendor/redoc/redoc.standalone.js" in redoc
    for path in (
        "/console/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/console/static/vendor/swagger-ui/swagger-ui.css",
        "/console/static/vendor/redoc/redoc.standalone.js",
        "/console/static/vendor/echarts/echarts.min.js",
        "/console/static/console.js",
        "/console/static/console.css",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get("/openapi.json").status_code == 200
    assert not [p for p in client.get("/openapi.json").json()["paths"] if "console" in p]


def test_subject_page_draws_the_map_and_links_the_pdf_report(running: Running) -> None:
    seed(running)
    auditor = signed_in(running, "auditor")
    page = auditor.get(f"/console/subjects/{PERSON}").text
    assert 'id="chart-graph"' in page and '"kind": "graph"' in page
    assert f'href="/console/subjects/{PERSON}/report.pdf"' in page and "尚未提供" not in page
    pdf = auditor.get(f"/console/subjects/{PERSON}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    finance = signed_in(running, "finance")
    plain = finance.get(f"/console/subjects/{PERSON}").text
    assert "chart-graph" not in plain and "report.pdf" not in plain
    assert finance.get(f"/console/subjects/{PERSON}/report.pdf").status_code == 403
