"""``/openapi.json`` as the contract wants it: every operation with its success schema, its
error answers in the service's envelope, and a real example request and answer — and the
service's real answers, on this database, valid against what it publishes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from api.openapi import NO_ERRORS, examples
from engine.verifiable import keys
from tests.api.openapi_examples import demo_client, run

ERROR_STATUSES = {"401", "403", "404", "408", "409", "413", "422", "429", "503"}
ENVELOPE = "#/components/schemas/ErrorEnvelope"
TEXT = "text/plain; version=0.0.4; charset=utf-8"
"""``/metrics``' media type, the one success answer that is not JSON."""


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("spec")
    with demo_client(f"sqlite:///{directory}/spec.db") as client:
        published: dict[str, Any] = client.get("/openapi.json").json()
    return published


@pytest.fixture
def demo(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    key = tmp_path / "signing.pem"
    keys.generate(key)
    with demo_client(db_url, key) as client:
        yield client


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def _success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The success answer's status and JSON media (``/metrics``: its text media)."""
    status = next(s for s in operation["responses"] if s.startswith("2"))
    content = operation["responses"][status]["content"]
    return status, content.get("application/json") or content[TEXT]


def _validator(spec: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    # The operation's schema refers to #/components/...: give it the spec's components.
    return Draft202012Validator({**schema, "components": spec["components"]})


def _shown(media: dict[str, Any]) -> list[Any]:
    """A media type's example values (``example``, or each of ``examples``)."""
    if "example" in media:
        return [media["example"]]
    return [named["value"] for named in media.get("examples", {}).values()]


def _problems(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in _validator(spec, schema).iter_errors(value)
    ]


def test_every_operation_documents_success_errors_and_examples(spec: dict[str, Any]) -> None:
    assert "HTTPValidationError" not in json.dumps(spec)
    missing = []
    for key, operation in _operations(spec):
        _status, media = _success(operation)
        schema = media.get("schema", {})
        text = key == "GET /metrics" and schema == {"type": "string"}
        if not ("$ref" in schema or "$ref" in schema.get("items", {}) or text):
            missing.append(f"{key}: no success schema ({schema})")
        if not _shown(media):
            missing.append(f"{key}: no example answer")
        errors = set(operation["responses"]) & ERROR_STATUSES
        if not errors and key not in NO_ERRORS:
            missing.append(f"{key}: no error answer")
        for error in errors:
            error_media = operation["responses"][error]["content"]["application/json"]
            if error_media["schema"] != {"$ref": ENVELOPE} or "example" not in error_media:
                missing.append(f"{key}: {error} is not the envelope with an example")
        if "requestBody" in operation:
            if not _shown(operation["requestBody"]["content"]["application/json"]):
                missing.append(f"{key}: no example request body")
            if not {"408", "413", "422"} <= errors:
                missing.append(f"{key}: a body route without 408/413/422 ({sorted(errors)})")
            if "security" in operation and not {"401", "403"} <= errors:
                missing.append(f"{key}: a body route without 401/403 ({sorted(errors)})")
        elif "408" in errors or "413" in errors:
            missing.append(f"{key}: 408/413 documented on an operation without a body")
        for parameter in operation.get("parameters", []):
            if parameter.get("required") and "example" not in parameter:
                missing.append(f"{key}: no example for parameter {parameter['name']}")
        needs_key = key.startswith(("GET /v1/", "POST /v1/")) and "public-key" not in key
        if needs_key and "401" not in errors:
            missing.append(f"{key}: no 401")
    assert not missing, "\n".join(missing)


def test_the_envelope_is_the_one_errors_use(spec: dict[str, Any]) -> None:
    envelope = spec["components"]["schemas"]["ErrorEnvelope"]
    assert envelope["required"] == ["error"]
    body = spec["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"code", "message", "details"}
    detail = spec["components"]["schemas"]["ErrorDetail"]
    assert {"field", "message"} <= set(detail["properties"])


def test_examples_are_valid_against_their_schemas(spec: dict[str, Any]) -> None:
    problems = []
    for key, operation in _operations(spec):
        _status, media = _success(operation)
        for shown in _shown(media):
            problems += [f"{key} answer: {p}" for p in _problems(spec, media["schema"], shown)]
        if "requestBody" in operation:
            request = operation["requestBody"]["content"]["application/json"]
            for shown in _shown(request):
                problems += [
                    f"{key} request: {p}" for p in _problems(spec, request["schema"], shown)
                ]
        for status in set(operation["responses"]) & ERROR_STATUSES:
            error = operation["responses"][status]["content"]["application/json"]
            problems += [
                f"{key} {status}: {p}" for p in _problems(spec, error["schema"], error["example"])
            ]
    assert not problems, "\n".join(problems)


def test_real_answers_are_valid_against_the_published_schemas(
    demo: TestClient, spec: dict[str, Any]
) -> None:
    """Every example request, sent for real on this database: each answer (several shapes of
    check answer among them: hits, no hit, an explanation) fits the published schema."""
    operations = dict(_operations(spec))
    problems: list[str] = []
    sent: dict[str, int] = {}
    for answered in run(demo):
        key = answered.step.operation
        if answered.step.record:  # the recorded examples are the scenario's requests
            recorded = examples()[key][sent.get(key, 0)]["request"]
            assert recorded.get("body") == answered.step.body, key
            sent[key] = sent.get(key, 0) + 1
        assert answered.status == answered.step.status, (key, answered.body)
        _status, media = _success(operations[key])
        problems += [f"{key}: {p}" for p in _problems(spec, media["schema"], answered.body)]
    assert not problems, "\n".join(problems)
    assert set(sent) == set(operations) == set(examples())
    assert sent == {key: len(recorded) for key, recorded in examples().items()}


@pytest.mark.parametrize(
    ("method", "url", "headers", "body", "status"),
    [
        ("POST", "/v1/checks", {}, {"subject_id": "x", "matter": "y"}, 401),
        ("POST", "/v1/entries", {"Authorization": "Bearer demo-finance"}, {}, 403),
        ("GET", "/v1/entries/nope", {"Authorization": "Bearer demo-auditor"}, None, 404),
        ("POST", "/v1/checks", {"Authorization": "Bearer demo-finance"}, {"matter": 1}, 422),
        ("POST", "/v1/subjects", {"Authorization": "Bearer demo-registrar"}, [{"id": "1"}], 422),
    ],
)
def test_error_answers_are_valid_against_the_published_envelope(
    demo: TestClient,
    spec: dict[str, Any],
    method: str,
    url: str,
    headers: dict[str, str],
    body: Any,
    status: int,
) -> None:
    answer = demo.request(method, url, headers=headers, json=body)
    assert answer.status_code == status
    assert not _problems(spec, {"$ref": ENVELOPE}, answer.json())
    operation = next(op for key, op in _operations(spec) if key.startswith(f"{method} "))
    assert operation  # the route exists in the spec


def test_docs_and_redoc_are_served_without_a_cdn(demo: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = demo.get(page)
        assert html.status_code == 200
        assert "/openapi.json" in html.text
        assert "cdn" not in html.text.lower()


DEMO_ROLES = {
    "demo-registrar": {"registrar", "initiator"},
    "demo-court": {"initiator"},
    "demo-finance": {"implementer"},
    "demo-credit-office": {"credit_office", "policy_admin"},
    "demo-auditor": {"auditor"},
}


def test_documented_401s_and_role_403s_are_what_the_service_answers(
    demo: TestClient, spec: dict[str, Any]
) -> None:
    """Each recorded example request sent without a key, and with a key lacking every role the
    operation documents: the documented status and message."""
    checked = 0
    for key, operation in _operations(spec):
        method, template = key.split(" ", 1)
        request = examples()[key][0]["request"]
        url = template.format(**request.get("path", {}))
        send = {"params": request.get("query"), "json": request.get("body")}
        for status, headers in (("401", {}), ("403", None)):
            if status not in operation["responses"]:
                continue
            documented = operation["responses"][status]["content"]["application/json"]["example"]
            message = documented["error"]["message"]
            if status == "403":
                if not message.startswith("this call needs the role "):
                    continue  # another department's entry: tested with the entries
                roles = set(message.removeprefix("this call needs the role ").split(" or "))
                outsider = next((k for k, held in DEMO_ROLES.items() if not held & roles), None)
                if outsider is None:
                    continue  # every demo key holds one of the roles (GET /v1/commitments)
                headers = {"Authorization": f"Bearer {outsider}"}
            answer = demo.request(method, url, headers=headers, **send)
            assert answer.status_code == int(status), (key, answer.text)
            assert answer.json()["error"]["message"] == message, key
            checked += 1
    assert checked > 40
