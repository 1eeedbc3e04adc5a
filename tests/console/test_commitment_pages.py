"""The console's share of commitments and early warning: the subject page's 信用承诺 table and
the credit office's 诚信预警 page (docs/commitments.md). Run on both databases."""

from __future__ import annotations

from tests.api.conftest import Running, auth, key_of
from tests.api.test_commitments import breach, breach_body, commitment_body, policy_dir, record
from tests.console.helpers import sign_in
from tests.engine.registry.test_registry import org

__all__ = ["policy_dir"]  # the shipped bundle


def test_subject_page_shows_commitments(running: Running) -> None:
    subject = org(1)
    kept = record(running, commitment_body(subject, doc_no="承诺书<K>"))
    broken = record(running, commitment_body(subject, doc_no="承诺书B"))
    running.client.post(f"/v1/commitments/{kept['id']}/fulfilment", headers=auth("tax"))
    entry = breach(running, broken["id"], breach_body()).json()["entry"]
    open_one = record(running, commitment_body(subject, doc_no="承诺书C"))
    assert sign_in(running.client, key_of("tax")).status_code == 303
    page = running.client.get(f"/console/subjects/{subject}").text
    assert "<h2>信用承诺</h2>" in page
    assert "已履行" in page and "已违诺" in page and "有效" in page
    assert "承诺书&lt;K&gt;" in page  # escaped
    assert entry["id"][:8] in page
    assert f"剩余 {open_one['working_days_left']} 个工作日" in page
    assert "市场准入与行政许可" in page


def test_warnings_page_for_the_credit_office(running: Running) -> None:
    due = record(running, commitment_body(org(2), due_working_days=2))
    record(running, commitment_body(org(3), due_working_days=40))
    assert sign_in(running.client, key_of("admin")).status_code == 303
    page = running.client.get("/console/warnings")
    assert page.status_code == 200
    assert "信用承诺将到期" in page.text and org(2) in page.text and org(3) not in page.text
    assert f"剩余 {due['working_days_left']} 个工作日" in page.text
    wide = running.client.get("/console/warnings?within=60&kind=commitment_due").text
    assert org(3) in wide
    none = running.client.get("/console/warnings?kind=objection_due").text
    assert "没有需要预警的事项" in none
    bad = running.client.get("/console/warnings?within=abc")
    assert bad.status_code == 422
    bad = running.client.get("/console/warnings?within=99")
    assert bad.status_code == 422
    bad = running.client.get("/console/warnings?kind=rumour")
    assert bad.status_code == 422
