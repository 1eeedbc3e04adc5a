"""POST /v1/policy/impact, GET /v1/policy/diff and ``jrp impact``: an edit's effect now."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import impact as impact_cli
from api.cli.main import app
from tests.api.conftest import Running, auth
from tests.api.test_entries_endpoints import ORG, PERSON, djd

MEMO = "court/dishonest-judgment-debtors.yaml"


def _files(running: Running) -> dict[str, str]:
    return {
        path.relative_to(running.policy_dir).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(running.policy_dir.rglob("*.yaml"))
    }


def _softened(running: Running) -> dict[str, str]:
    files = _files(running)
    files[MEMO] = files[MEMO].replace(
        "effect: prohibit                    # prohibit", "effect: restrict                    #"
    )
    return files


def _impact(running: Running, files: dict[str, str], caller: str = "admin") -> Any:
    return running.client.post("/v1/policy/impact", json={"files": files}, headers=auth(caller))


def _listed_with_representative(running: Running) -> None:
    assert running.client.post("/v1/entries", json=djd(), headers=auth("court")).status_code == 201
    people = [{"id": PERSON, "kind": "person", "name": "张示例"}]
    assert running.client.post("/v1/subjects", json=people, headers=auth("registrar")).is_success
    holding = {"org_id": ORG, "person_id": PERSON, "role": "legal_representative",
               "start": "2020-01-01", "end": None}  # fmt: skip
    assert running.client.post(
        "/v1/relations", json=[holding], headers=auth("registrar")
    ).is_success


def test_an_unchanged_bundle_changes_nothing(running: Running) -> None:
    _listed_with_representative(running)
    response = _impact(running, _files(running))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["from_version"] == report["to_version"] == running.service.policy.bundle.version
    assert report["changes"] == []
    assert report["summary"] == {"subjects_affected": 0, "pairs_changed": 0, "by_measure": []}


def test_an_edit_shows_whom_it_affects_now(running: Running) -> None:
    _listed_with_representative(running)
    report = _impact(running, _softened(running), caller="auditor").json()
    assert report["diff"] == {
        "memoranda_added": [],
        "memoranda_removed": [],
        "measures_added": [],
        "measures_removed": [],
        "measures_changed": [{"measure_id": "djd-procurement", "fields": ["effect"]}],
    }
    before = {"outcome": "prohibit", "binding_outcome": "prohibit",
              "measure_ids": ["djd-procurement"]}  # fmt: skip
    after = {**before, "outcome": "restrict", "binding_outcome": "restrict"}
    assert report["changes"] == [
        {"subject_id": PERSON, "matter": "government_procurement", "before": before,
         "after": after},
        {"subject_id": ORG, "matter": "government_procurement", "before": before, "after": after},
    ]  # fmt: skip
    assert report["summary"] == {
        "subjects_affected": 2,
        "pairs_changed": 2,
        "by_measure": [
            {"measure_id": "djd-procurement", "subjects_before": 2, "subjects_after": 2}
        ],
    }


def test_removing_a_memorandum(running: Running) -> None:
    _listed_with_representative(running)
    files = _files(running)
    del files[MEMO]
    report = _impact(running, files).json()
    assert report["diff"]["memoranda_removed"] == ["dishonest-judgment-debtors"]
    assert report["diff"]["measures_removed"] == ["djd-financing", "djd-procurement"]
    assert {(c["subject_id"], c["matter"]) for c in report["changes"]} == {
        (ORG, "government_procurement"),
        (ORG, "financing"),
        (PERSON, "government_procurement"),
    }


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("path", "text", "message"),
    [
        ("../x.yaml", "id: x", "path must stay inside the bundle"),
        ("/etc/x.yaml", "id: x", "path must be relative"),
        ("court/bomb.yaml", BOMB, "YAML aliases expand too far"),
        ("court/huge.yaml", "# " + "x" * (1024 * 1024), "file too large"),
        ("court/bad.yaml", "id: [", "YAML syntax error"),
    ],
)
def test_a_bad_upload_is_refused_and_nothing_changes(
    running: Running, path: str, text: str, message: str
) -> None:
    version = running.service.policy.bundle.version
    files = {**_files(running), path: text}
    response = _impact(running, files)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_policy"
    assert any(d["path"] == path and message in d["message"] for d in error["details"]), error
    assert running.client.get("/v1/policy", headers=auth("admin")).json()["version"] == version


def test_impact_needs_policy_admin_or_auditor(running: Running) -> None:
    assert _impact(running, _files(running), caller="finance").status_code == 403


def test_diff_between_stored_versions(running: Running) -> None:
    first = running.service.policy.bundle.version
    path = running.policy_dir / MEMO
    path.write_text(_softened(running)[MEMO], encoding="utf-8")
    reloaded = running.client.post("/v1/policy/reload", headers=auth("admin")).json()
    second = reloaded["version"]
    response = running.client.get(
        "/v1/policy/diff", params={"from": first, "to": second}, headers=auth("auditor")
    )
    assert response.status_code == 200, response.text
    assert response.json()["measures_changed"] == [
        {"measure_id": "djd-procurement", "fields": ["effect"]}
    ]
    unknown = running.client.get(
        "/v1/policy/diff", params={"from": first, "to": "0" * 64}, headers=auth("auditor")
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_policy_version"


def test_jrp_impact(running: Running, db_url: str, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(impact_cli.logging_setup, "configure", lambda **_kwargs: None)
    _listed_with_representative(running)
    edited = tmp_path / "edited"
    for path, text in _softened(running).items():
        (edited / path).parent.mkdir(parents=True, exist_ok=True)
        (edited / path).write_text(text, encoding="utf-8")
    runner = CliRunner()
    same = runner.invoke(app, ["impact", "--db", db_url, "--policy", str(running.policy_dir)])
    assert same.exit_code == 0, same.output
    assert "0 (subject, matter) pairs change for 0 subjects" in same.stdout
    changed = runner.invoke(app, ["impact", "--db", db_url, "--policy", str(edited), "--json"])
    assert changed.exit_code == 3, changed.output
    report = json.loads(changed.stdout[changed.stdout.index("{\n") :])
    assert report["summary"]["pairs_changed"] == 2
    text = runner.invoke(app, ["impact", "--db", db_url, "--policy", str(edited)])
    assert text.exit_code == 3
    assert "measure changed: djd-procurement (effect)" in text.stdout
    (edited / MEMO).write_text("id: [", encoding="utf-8")
    invalid = runner.invoke(app, ["impact", "--db", db_url, "--policy", str(edited)])
    assert invalid.exit_code == 1
    assert f"{edited}/{MEMO}:1: YAML syntax error" in invalid.output
