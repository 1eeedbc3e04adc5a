"""The one error envelope, for validation errors, malformed JSON and unexpected failures."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from api import errors
from engine.errors import Conflict, field_path


class Item(BaseModel):
    id: str = Field(min_length=3)
    count: int


def _app() -> FastAPI:
    app = FastAPI()
    errors.install(app)

    @app.post("/items")
    def items(body: list[Item]) -> int:
        return len(body)

    @app.post("/one")
    def one(body: Item) -> str:
        return body.id

    @app.get("/conflict")
    def conflict() -> None:
        raise Conflict("entry is revoked", code="invalid_state", details=[{"status": "revoked"}])

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("bug")

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(_app(), raise_server_exceptions=False)


def test_validation_errors_name_each_field_with_its_index(client: TestClient) -> None:
    response = client.post("/items", json=[{"id": "abc", "count": 1}, {"id": "a", "count": "x"}])
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    fields = sorted(d["field"] for d in error["details"])
    assert fields == ["items[1].count", "items[1].id"]


def test_missing_field_on_an_object_body(client: TestClient) -> None:
    response = client.post("/one", json={"id": "abcd"})
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [{"field": "count", "message": "Field required"}]


@pytest.mark.parametrize("payload", [b"{", b"[1,", b"\xff\xfe", b"not json"])
def test_malformed_json_is_a_422_not_a_500(client: TestClient, payload: bytes) -> None:
    response = client.post("/one", content=payload, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "body" and detail["message"].startswith("malformed JSON: ")


def test_domain_errors_keep_their_code_and_details(client: TestClient) -> None:
    response = client.get("/conflict")
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "invalid_state",
            "message": "entry is revoked",
            "details": [{"status": "revoked"}],
        }
    }


def test_unexpected_exceptions_become_a_500_envelope(client: TestClient) -> None:
    response = client.get("/crash")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "bug" not in response.text  # internals are logged, not sent


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("body", 3, "id"), "items[3].id"),
        (("body", "subject_id"), "subject_id"),
        (("query", "limit"), "limit"),
        (("body",), "body"),
        (("body", "attributes", "amount"), "attributes.amount"),
        (("body", "items", 2, "id"), "items[2].id"),
    ],
)
def test_field_path(loc: tuple[str | int, ...], expected: str) -> None:
    assert field_path(loc) == expected
