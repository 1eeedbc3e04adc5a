"""``POST /v1/checks`` authorises and validates by hand (the hot path has no dependencies).

Pinned here: the answers are those FastAPI's dependencies and body parameter gave, with the
same field names, except that a missing key is now a 401 whatever the body (FastAPI parsed
the body first, so a caller without a key learnt how its JSON was malformed); malformed JSON
names the field ``body``, the position in the message. And the OpenAPI description still
shows the body and the bearer scheme.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import Running, auth

ORG = "91440101000010014P"
VALID = f'{{"subject_id":"{ORG}","matter":"bidding"}}'.encode()


@pytest.mark.parametrize(
    ("who", "body", "content_type", "status", "fields"),
    [
        (None, b'{"subject_id": 1}', "application/json", 401, []),
        (None, b"", "application/json", 401, []),
        (None, b"{", "application/json", 401, []),
        ("finance", b"", "application/json", 422, ["body"]),
        ("finance", b"null", "application/json", 422, ["body"]),
        ("finance", b'{"a":', "application/json", 422, ["body"]),
        ("finance", b"\xff\xfe{", "application/json", 422, ["body"]),
        ("finance", b'{"subject_id":"x"}', "text/plain", 422, ["body"]),
        ("finance", VALID, None, 422, ["body"]),
        ("finance", f'{{"subject_id":"{ORG}"}}'.encode(), "application/json", 422, ["matter"]),
        ("finance", VALID[:-1] + b',"x":1}', "application/json", 422, ["x"]),
        ("finance", b"[1]", "application/json", 422, ["body"]),
        ("court", b"{}", "application/json", 403, []),
        ("court", VALID, "application/json", 403, []),
        ("finance", VALID.replace(b"bidding", b"nope"), "application/json", 422, ["matter"]),
        ("finance", VALID, "application/json", 200, None),
        ("finance", VALID, "application/json; charset=utf-8", 200, None),
        ("finance", VALID, "application/vnd.jrp+json", 200, None),
    ],
)
def test_errors_come_in_the_order_dependencies_gave(
    running: Running,
    who: str | None,
    body: bytes,
    content_type: str | None,
    status: int,
    fields: list[str] | None,
) -> None:
    headers = auth(who) if who else {}
    if content_type:
        headers["content-type"] = content_type
    response = running.client.post("/v1/checks", content=body, headers=headers)
    assert response.status_code == status, response.text
    if fields is not None:
        assert [d["field"] for d in response.json()["error"]["details"]] == fields


def test_malformed_json_says_where(running: Running) -> None:
    headers = auth("finance") | {"Content-Type": "application/json"}
    response = running.client.post("/v1/checks", content=b'{"a":', headers=headers)
    [detail] = response.json()["error"]["details"]
    assert detail == {
        "field": "body",
        "message": "malformed JSON: Expecting value (at character 5)",
    }
    assert running.service.decisions.decisions_committed == 0


def test_an_unknown_key_is_401_with_the_bearer_challenge(running: Running) -> None:
    for header in ("Bearer nope", "Basic abc", "Bearer", ""):
        response = running.client.post("/v1/checks", content=VALID,
                                       headers={"Authorization": header})  # fmt: skip
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


def test_the_openapi_description_keeps_body_and_security(running: Running) -> None:
    operation = running.client.get("/openapi.json").json()["paths"]["/v1/checks"]["post"]
    assert operation["security"] == [{"HTTPBearer": []}]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema["title"] == "CheckRequest"
    assert set(schema["required"]) == {"subject_id", "matter"}
