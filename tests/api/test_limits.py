"""Each limit and each former 500 of issue 18, answered with the contract's 4xx."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from api.errors import envelope
from api.limits import InputGuard, Limits
from engine.store.portable import MAX_JSON_BYTES, MAX_JSON_DEPTH
from tests.api.conftest import Running, auth
from tests.api.test_entries_endpoints import ORG, djd

JSON = {"Content-Type": "application/json"}


def _fields(answer: Any) -> list[str]:
    return [detail["field"] for detail in answer.json()["error"]["details"]]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/decisions?subject_id=%00", "subject_id"),
        ("/v1/decisions/%00", "decision_id"),
        ("/v1/policy/versions/%00", "version"),
        ("/v1/entries/a%00b", "entry_id"),
    ],
)
def test_nul_in_a_path_or_query_is_a_422_naming_it(running: Running, path: str, field: str) -> None:
    answer = running.client.get(path, headers=auth("auditor"))
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_request"
    assert _fields(answer) == [field]


def test_feedback_on_a_nul_decision_is_a_422(running: Running) -> None:
    body = {"measure_id": "x", "executed": True}
    answer = running.client.post("/v1/decisions/%00/feedback", json=body, headers=auth("finance"))
    assert answer.status_code == 422
    assert _fields(answer) == ["decision_id"]


@pytest.mark.parametrize(
    "raw",
    [b"[" * 999 + b"]" * 999, b'{"subject_id": ' + b"1" * 4301 + b"}", b"\xff\xfe"],
    ids=["nested-999", "4301-digits", "not-utf8"],
)
@pytest.mark.parametrize("route", ["/v1/checks", "/v1/entries", "/v1/subjects"])
def test_unreadable_json_is_a_422_on_body(running: Running, raw: bytes, route: str) -> None:
    who = {"/v1/checks": "finance", "/v1/entries": "court", "/v1/subjects": "registrar"}[route]
    answer = running.client.post(route, content=raw, headers={**auth(who), **JSON})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"
    assert _fields(answer) == ["body"]


def test_a_date_before_1900_in_publication_stats_is_a_422(running: Running) -> None:
    answer = running.client.get("/v1/stats/publication?since=0001-01-01", headers=auth("auditor"))
    assert answer.status_code == 422
    assert _fields(answer) == ["since"]


def test_a_body_over_the_limit_is_a_413(running: Running) -> None:
    big = json.dumps(djd(reason="x" * (9 * 1024 * 1024))).encode()
    answer = running.client.post("/v1/entries", content=big, headers={**auth("court"), **JSON})
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "body_too_large"
    assert running.service.state.entries == {}


def test_a_body_over_the_limit_without_content_length_is_a_413() -> None:
    # Chunked: no Content-Length, so the guard counts the bytes as the route reads them.
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        from engine.errors import BodyTooLarge

        try:
            while (await receive()).get("more_body"):
                pass
        except BodyTooLarge as exc:
            await envelope(exc.status, exc.code, exc.message)(scope, receive, send)

    chunks = iter([{"type": "http.request", "body": b"x" * 600, "more_body": True}] * 3)

    async def receive() -> dict[str, Any]:
        return next(chunks)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    guard = InputGuard(app, limits=Limits(max_body_bytes=1024, body_timeout=5))
    scope = {"type": "http", "method": "POST", "path": "/v1/entries", "headers": []}
    asyncio.run(guard(scope, receive, send))
    assert sent[0]["status"] == 413


def test_a_stalled_body_is_a_408() -> None:
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        from engine.errors import RequestTimeout

        try:
            await receive()
        except RequestTimeout as exc:
            await envelope(exc.status, exc.code, exc.message)(scope, receive, send)

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(10)
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    guard = InputGuard(app, limits=Limits(max_body_bytes=1024, body_timeout=0.05))
    scope = {"type": "http", "method": "POST", "path": "/v1/entries", "headers": []}
    asyncio.run(guard(scope, receive, send))
    assert sent[0]["status"] == 408


@pytest.mark.parametrize(
    "attributes",
    [
        {"note": "x" * MAX_JSON_BYTES},
        json.loads('{"a":' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1)),
        json.loads('{"a":' + "[" * 900 + "]" * 900 + "}"),
    ],
    ids=["over-64KiB", "33-levels", "900-levels"],
)
def test_attributes_over_the_limits_are_a_422(running: Running, attributes: Any) -> None:
    answer = running.client.post(
        "/v1/entries", json=djd(attributes=attributes), headers=auth("court")
    )
    assert answer.status_code == 422, answer.text
    assert _fields(answer) == ["attributes"]


def test_attributes_at_the_limits_are_stored(running: Running) -> None:
    deepest = json.loads('{"a":' * MAX_JSON_DEPTH + "1" + "}" * MAX_JSON_DEPTH)
    answer = running.client.post("/v1/entries", json=djd(attributes=deepest), headers=auth("court"))
    assert answer.status_code == 201, answer.text
    assert ORG in json.dumps(answer.json()).upper()
