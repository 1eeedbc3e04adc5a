"""One log line per request, and never a person's full id in it (PIPL)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from structlog.testing import capture_logs

from api import request_log
from tests.api.conftest import Running, auth

PERSON = "440106198001010115"


def test_a_request_is_logged_once_with_its_route_and_caller(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The middleware reads the clock when the request starts and when it is answered: a clock
    # that has moved 0.25 s by then must log 250 ms (milliseconds, rounded to 0.01).
    readings = iter([100.0])
    monkeypatch.setattr(
        request_log, "time", SimpleNamespace(perf_counter=lambda: next(readings, 100.2500049))
    )
    with capture_logs() as logs:
        response = running.client.get(f"/v1/subjects/{PERSON}", headers=auth("court"))
    (line,) = [entry for entry in logs if entry["event"] == "request.handled"]
    assert line["path"] == "/v1/subjects/{id}"
    assert line["status"] == 404
    assert line["department"] == "court"
    assert line["duration_ms"] == 250.0
    assert line["request_id"] == response.headers["x-request-id"]


def test_personal_ids_never_reach_the_request_log(running: Running) -> None:
    with capture_logs() as logs:
        running.client.get(f"/v1/subjects/{PERSON}", headers=auth("court"))
        running.client.get(f"/v1/no-such-route/{PERSON}", headers=auth("court"))
        running.client.get(f"/v1/entries/{PERSON}", headers=auth("court"))
    assert PERSON not in repr(logs)
    paths = [entry["path"] for entry in logs if entry["event"] == "request.handled"]
    assert "/v1/no-such-route/440106********0115" in paths
