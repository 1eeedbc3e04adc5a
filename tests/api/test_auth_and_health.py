"""Open endpoints, 401 and 403 as the contract says."""

from __future__ import annotations

import pytest

from tests.api.conftest import Running, auth


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json", "/docs"])
def test_open_endpoints_need_no_key(running: Running, path: str) -> None:
    assert running.client.get(path).status_code == 200


def test_readyz_reports_database_and_policy(running: Running) -> None:
    body = running.client.get("/readyz").json()
    assert body == {
        "status": "ready",
        "database": True,
        "policy_version": running.service.policy.bundle.version,
        "signing": False,  # no --signing-key: checkpoints unsigned
        "key_id": None,
    }


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": "Basic dGVzdDp0ZXN0"},
    ],
    ids=["missing", "empty", "unknown", "not-bearer"],
)
def test_v1_without_a_known_key_is_401_in_the_envelope(
    running: Running, headers: dict[str, str]
) -> None:
    response = running.client.get("/v1/policy", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_known_key_without_the_role_is_403(running: Running) -> None:
    response = running.client.post("/v1/policy/reload", headers=auth("court"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "policy_admin" in response.json()["error"]["message"]


def test_unknown_route_and_method_use_the_envelope(running: Running) -> None:
    missing = running.client.get("/v1/nothing-here", headers=auth("court"))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = running.client.delete("/v1/policy", headers=auth("court"))
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
