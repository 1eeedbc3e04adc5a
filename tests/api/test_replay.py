"""Replay: identical answers under the recorded policies, exact impact of an edited bundle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from api.cli.replay import replay as replay_command
from engine.audit.replay import replay
from engine.decisions import list_decisions
from engine.store import db
from measures.loader import load_bundle
from tests.api.conftest import Running, auth
from tests.api.test_entries_endpoints import ORG, PERSON, djd

OTHER_ORG = "91440101000010022J"


def _check(running: Running, subject: str, matter: str, as_of: str) -> str:
    body = {"subject_id": subject, "matter": matter, "as_of": as_of}
    response = running.client.post("/v1/checks", json=body, headers=auth("finance"))
    assert response.status_code == 200, response.text
    return str(response.json()["decision_id"])


def _history(running: Running) -> dict[str, str]:
    """A log with objections, repairs, expiries, derivations and a policy reload in it."""
    client, ids = running.client, {}

    def post(path: str, body: Any, who: str) -> bool:
        return client.post(path, json=body, headers=auth(who)).status_code in (200, 201)

    ids["before"] = _check(running, ORG, "government_procurement", "2026-01-01T00:00:00+08:00")
    entry = client.post("/v1/entries", json=djd(subject_id=ORG), headers=auth("court")).json()[
        "entry"
    ]["id"]
    assert post("/v1/subjects", [{"id": PERSON, "kind": "person", "name": "张三"}], "registrar")
    relation = {
        "org_id": ORG,
        "person_id": PERSON,
        "role": "legal_representative",
        "start": "2020-01-01",
        "end": None,
    }
    assert post("/v1/relations", [relation], "registrar")
    ids["listed"] = _check(running, ORG, "government_procurement", "2026-01-01T00:00:00+08:00")
    ids["person"] = _check(running, PERSON, "government_procurement", "2026-01-01T00:00:00+08:00")
    client.post(f"/v1/entries/{entry}/objection", json={"reason": "异议"}, headers=auth("admin"))
    ids["suspended"] = _check(running, ORG, "government_procurement", "2026-01-01T00:00:00+08:00")
    client.post(
        f"/v1/entries/{entry}/objection/resolution",
        json={"outcome": "rejected"},
        headers=auth("admin"),
    )
    ids["financing"] = _check(running, ORG, "financing", "2026-01-01T00:00:00+08:00")
    penalty = {
        "list": "administrative_penalty",
        "subject_id": OTHER_ORG,
        "subject_kind": "org",
        "doc_no": "罚",
        "effective_to": "2026-06-01",
    }
    for day in ("2025-07-01", "2025-09-01", "2025-11-01"):
        client.post("/v1/entries", json={**penalty, "decided_on": day}, headers=auth("tax"))
    ids["in_window"] = _check(
        running, OTHER_ORG, "government_procurement", "2026-01-01T00:00:00+08:00"
    )
    ids["expired"] = _check(
        running, OTHER_ORG, "government_procurement", "2027-01-01T00:00:00+08:00"
    )
    vocabulary = running.policy_dir / "vocabulary.yaml"
    vocabulary.write_text(vocabulary.read_text(encoding="utf-8") + "\n# 修订\n", encoding="utf-8")
    assert client.post("/v1/policy/reload", headers=auth("admin")).json()["changed"] is True
    client.post(f"/v1/entries/{entry}/repair", headers=auth("admin"))
    ids["repaired"] = _check(running, ORG, "government_procurement", "2026-01-01T00:00:00+08:00")
    return ids


def _counts(running: Running) -> tuple[int, int]:
    with running.service.engine.connect() as connection:
        events = connection.execute(sa.text("SELECT count(*) FROM event")).scalar_one()
        decisions = connection.execute(sa.text("SELECT count(*) FROM decision")).scalar_one()
    return int(events), int(decisions)


def test_recorded_replay_is_identical_and_writes_nothing(running: Running) -> None:
    ids = _history(running)
    before = _counts(running)
    report = replay(running.service.engine)
    assert report.changed == []
    assert report.replayed == report.identical == len(ids)
    assert _counts(running) == before
    with running.service.engine.connect() as connection:
        versions = connection.execute(
            sa.text("SELECT count(DISTINCT policy_version) FROM decision")
        ).scalar()
    assert versions == 2  # both policy versions evaluated side by side


def _edited_bundle(running: Running, tmp_path: Path) -> Path:
    """The bundle with procurement dropped from the debtor measure: only those answers change."""
    edited = tmp_path / "edited"
    shutil.copytree(running.policy_dir, edited)
    memo = edited / "court" / "dishonest-judgment-debtors.yaml"
    text = memo.read_text(encoding="utf-8")
    assert "matters: [government_procurement]" in text
    memo.write_text(
        text.replace("matters: [government_procurement]", "matters: [bidding]"), encoding="utf-8"
    )
    return edited


def test_a_what_if_bundle_changes_exactly_the_decisions_it_should(
    running: Running, tmp_path: Path
) -> None:
    ids = _history(running)
    report = replay(running.service.engine, bundle=load_bundle(_edited_bundle(running, tmp_path)))
    changed = {change["decision_id"] for change in report.changed}
    assert changed == {ids["listed"], ids["person"]}
    assert report.identical == len(ids) - 2
    for change in report.changed:
        assert change["recorded"]["outcome"] == "prohibit"
        assert change["replayed"]["outcome"] == "clear"


def test_since_and_until_select_decisions_by_time(running: Running) -> None:
    ids = _history(running)
    with db.session_scope(running.service.engine) as session:
        logged, _ = list_decisions(session, limit=100)
    cut = logged[3].decided_at
    later = replay(running.service.engine, since=cut)
    earlier = replay(running.service.engine, until=cut)
    assert later.replayed + earlier.replayed == len(ids)
    assert later.changed == earlier.changed == []


def test_replay_endpoint(running: Running, tmp_path: Path) -> None:
    ids = _history(running)
    recorded = running.client.post(
        "/v1/replay", json={"policy": "recorded"}, headers=auth("auditor")
    )
    assert recorded.status_code == 200
    assert recorded.json() == {"replayed": len(ids), "identical": len(ids), "changed": []}
    current = running.client.post("/v1/replay", json={}, headers=auth("auditor")).json()
    assert current["identical"] == len(ids)  # the reload only added a comment
    assert (
        running.client.post(
            "/v1/replay", json={"policy": "mine"}, headers=auth("auditor")
        ).status_code
        == 422
    )
    assert running.client.post("/v1/replay", json={}, headers=auth("finance")).status_code == 403


def _cli(*args: str) -> Any:
    app = typer.Typer()
    app.command()(replay_command)
    return CliRunner().invoke(app, list(args))


def test_cli_exit_codes_and_json(running: Running, tmp_path: Path, db_url: str) -> None:
    ids = _history(running)
    same = _cli("--db", db_url)
    assert same.exit_code == 0, same.output
    assert f"replayed {len(ids)}: {len(ids)} identical, 0 changed" in same.output
    edited = _edited_bundle(running, tmp_path)
    changed = _cli("--db", db_url, "--policy", str(edited))
    assert changed.exit_code == 3
    assert ids["listed"] in changed.output
    assert "outcome: prohibit -> clear" in changed.output
    as_json = _cli("--db", db_url, "--policy", str(edited), "--json")
    assert as_json.exit_code == 3
    report = json.loads(as_json.stdout)
    assert {c["decision_id"] for c in report["changed"]} == {ids["listed"], ids["person"]}
    assert _cli("--db", db_url, "--since", "last week").exit_code == 2
    (edited / "vocabulary.yaml").write_text("departments: [\n", encoding="utf-8")
    assert _cli("--db", db_url, "--policy", str(edited)).exit_code == 1
