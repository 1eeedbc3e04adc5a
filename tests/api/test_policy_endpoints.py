"""GET /v1/policy, stored versions and reload."""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import Running, auth


def test_policy_summary(running: Running) -> None:
    response = running.client.get("/v1/policy", headers=auth("finance"))
    assert response.status_code == 200
    body = response.json()
    bundle = running.service.policy.bundle
    assert body["version"] == bundle.version
    assert [m["id"] for m in body["memoranda"]] == sorted(bundle.memoranda)
    first = bundle.memoranda[body["memoranda"][0]["id"]]
    assert body["memoranda"][0] == {
        "id": first.id,
        "title": first.title,
        "doc_no": first.doc_no,
        "kind": first.kind.value,
        "measures": len(first.measures),
    }
    assert body["loaded_at"].endswith(("Z", "+00:00"))


def test_stored_version_returns_the_files_as_loaded(running: Running) -> None:
    version = running.service.policy.bundle.version
    response = running.client.get(f"/v1/policy/versions/{version}", headers=auth("auditor"))
    assert response.status_code == 200
    files = response.json()["files"]
    on_disk = {
        str(p.relative_to(running.policy_dir).as_posix()): p.read_text(encoding="utf-8")
        for p in running.policy_dir.rglob("*.yaml")
    }
    assert files == on_disk


def test_unknown_version_is_404(running: Running) -> None:
    response = running.client.get("/v1/policy/versions/" + "0" * 64, headers=auth("auditor"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_policy_version"


def test_versions_need_auditor_or_policy_admin(running: Running) -> None:
    version = running.service.policy.bundle.version
    assert (
        running.client.get(f"/v1/policy/versions/{version}", headers=auth("court")).status_code
        == 403
    )
    assert (
        running.client.get(f"/v1/policy/versions/{version}", headers=auth("admin")).status_code
        == 200
    )


def _vocabulary(policy_dir: Path) -> Path:
    return policy_dir / "vocabulary.yaml"


def test_reload_with_an_invalid_bundle_keeps_the_old_one(running: Running) -> None:
    before = running.service.policy.bundle.version
    vocabulary = _vocabulary(running.policy_dir)
    vocabulary.write_text(
        vocabulary.read_text(encoding="utf-8") + "\nunexpected_key: 1\n", encoding="utf-8"
    )
    response = running.client.post("/v1/policy/reload", headers=auth("admin"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_policy"
    assert any(
        d["path"] == "vocabulary.yaml" and "unexpected_key" in d["message"] and d["line"] > 1
        for d in error["details"]
    )
    assert running.client.get("/v1/policy", headers=auth("admin")).json()["version"] == before


def test_reload_with_an_edited_bundle_changes_the_version_and_stores_it(running: Running) -> None:
    before = running.service.policy.bundle.version
    vocabulary = _vocabulary(running.policy_dir)
    vocabulary.write_text(vocabulary.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    response = running.client.post("/v1/policy/reload", headers=auth("admin"))
    assert response.status_code == 200
    body = response.json()
    assert body["previous_version"] == before
    assert body["changed"] is True
    assert body["version"] != before
    assert (
        running.client.get("/v1/policy", headers=auth("tax")).json()["version"] == body["version"]
    )
    old = running.client.get(f"/v1/policy/versions/{before}", headers=auth("auditor"))
    assert old.status_code == 200  # the earlier version stays stored for audits


def test_reload_of_the_same_bundle_is_unchanged(running: Running) -> None:
    response = running.client.post("/v1/policy/reload", headers=auth("admin"))
    assert response.status_code == 200
    assert response.json()["changed"] is False
