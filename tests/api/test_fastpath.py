"""``api/fastpath.py``: ``POST /v1/checks`` skips the router, and nothing else changes."""

from __future__ import annotations

from typing import Any

import pytest

from api.routers import checks
from tests.api.conftest import Running, auth

ORG = "91440101000010014P"
BODY = {"subject_id": ORG, "matter": "bidding"}


def test_other_methods_and_paths_take_the_router(running: Running) -> None:
    client = running.client
    assert client.get("/v1/checks", headers=auth("finance")).status_code == 405
    assert client.put("/v1/checks", json=BODY, headers=auth("finance")).status_code == 405
    slash = client.post("/v1/checks/", json=BODY, headers=auth("finance"), follow_redirects=False)
    assert slash.status_code == 307  # the router's redirect, as before
    assert client.get("/healthz").json() == {"status": "ok"}


def test_a_check_is_logged_under_its_route_template(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = running.client.post("/v1/checks", json=BODY, headers=auth("finance"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-request-id"]  # the request log's middleware still wraps it
    assert "path=/v1/checks" in capsys.readouterr().out


def test_an_unexpected_error_is_the_500_envelope(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(checks.checks, "decide_async", broken)
    answer = running.client.post("/v1/checks", json=BODY, headers=auth("finance"))
    assert answer.status_code == 500
    assert answer.json()["error"]["code"] == "internal_error"
