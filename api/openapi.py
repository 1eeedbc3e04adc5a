"""The OpenAPI description (``/openapi.json``) as the contract wants it (docs/api.md#operations).

FastAPI describes the requests; this completes each operation with

- its success body's schema (``api/responses.py``: the routes return engine dicts, so FastAPI
  alone would publish ``{}`` or a bare object);
- every error it can answer, each with the service's error envelope (``ErrorEnvelope``)
  instead of FastAPI's ``HTTPValidationError``, which the service never sends;
- an example request and answer: real ones, recorded from the demo by
  ``python -m tests.api.openapi_examples`` into ``api/openapi_examples.json``.

``tests/api/test_openapi.py`` fails on an operation missing any of these.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIRouter
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api import responses as r
from api.auth import Role
from api.routers.policy import PolicyFiles, PolicyReloaded, PolicySummary
from engine.entries.schemas import EntryOut
from engine.registry.schemas import RelationsStored, SubjectDetail, SubjectsStored

EXAMPLES_FILE = Path(__file__).resolve().parent / "openapi_examples.json"

REF = "#/components/schemas/{model}"


class ListOf:
    """A JSON array of ``model``."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model


Body = type[BaseModel] | ListOf

SUCCESS: dict[str, Body] = {
    "POST /v1/checks": r.CheckAnswer,
    "POST /v1/decisions/{decision_id}/feedback": r.Feedback,
    "GET /v1/decisions": r.DecisionPage,
    "GET /v1/decisions/{decision_id}": r.Decision,
    "GET /v1/audit/verify": r.ChainVerified,
    "GET /v1/stats/feedback": r.FeedbackStats,
    "GET /healthz": r.Health,
    "GET /readyz": r.Readiness,
    "GET /v1/policy": PolicySummary,
    "GET /v1/policy/versions/{version}": PolicyFiles,
    "POST /v1/policy/reload": PolicyReloaded,
    "POST /v1/policy/impact": r.PolicyImpact,
    "GET /v1/policy/diff": r.PolicyDiff,
    "POST /v1/subjects": SubjectsStored,
    "POST /v1/relations": RelationsStored,
    "GET /v1/subjects/{id}": SubjectDetail,
    "POST /v1/entries": r.EntryRegistered,
    "GET /v1/entries/{entry_id}": EntryOut,
    "POST /v1/entries/{entry_id}/revoke": EntryOut,
    "POST /v1/entries/{entry_id}/objection": EntryOut,
    "POST /v1/entries/{entry_id}/objection/resolution": EntryOut,
    "POST /v1/entries/{entry_id}/repair": EntryOut,
    "POST /v1/replay": r.ReplayReport,
    "GET /v1/objections": r.ObjectionPage,
    "GET /v1/entries/{entry_id}/decisions": r.CausedDecisionPage,
    "GET /v1/notices": r.NoticePage,
    "GET /v1/audit/access": r.AccessPage,
    "GET /v1/audit/checkpoint": r.Checkpoint,
    "GET /v1/audit/checkpoints": r.CheckpointPage,
    "GET /v1/audit/public-key": r.PublicKey,
    "GET /v1/decisions/{decision_id}/proof": r.InclusionProof,
    "GET /v1/audit/consistency": r.ConsistencyProof,
    "GET /v1/exchange/events": r.ExchangePage,
    "GET /public/v1/lists": ListOf(r.PublishedList),
    "GET /public/v1/lists/{list}/entries": r.PublishedEntryPage,
    "GET /public/v1/orgs/{id}/report": r.PublicReport,
    "GET /v1/subjects/{id}/report": r.CreditReport,
    "GET /v1/subjects/{id}/graph": r.RelationshipMap,
    "GET /v1/stats/publication": r.PublicationStats,
    "GET /v1/subjects/{id}/grade": r.SubjectGrade,
}
"""Each operation's success body."""

CONFLICTS = {
    "POST /v1/entries": ("duplicate_entry", "an active entry with this doc_no is on the list"),
    "POST /v1/entries/{entry_id}/revoke": ("invalid_state", "cannot revoke a revoked entry"),
    "POST /v1/entries/{entry_id}/objection": (
        "invalid_state", "cannot raise an objection on an entry that is revoked (only active)"),
    "POST /v1/entries/{entry_id}/objection/resolution": (
        "invalid_state", "the entry has no open objection"),
    "POST /v1/entries/{entry_id}/repair": (
        "repair_too_early", "repair is possible from 2026-12-01"),
    "GET /v1/decisions/{decision_id}/proof": (
        "not_checkpointed", "no checkpoint contains this decision yet: retry in a few seconds"),
    "POST /v1/commitments": (
        "duplicate_commitment",
        "commitment 5d0c6a7e is stored with the same subject_id, department and doc_no"),
    "POST /v1/commitments/{commitment_id}/fulfilment": (
        "invalid_state", "cannot fulfil a commitment that is breached (only active or overdue)"),
    "POST /v1/commitments/{commitment_id}/breach": (
        "invalid_state", "cannot breach a commitment that is fulfilled (only active or overdue)"),
}  # fmt: skip
"""Operations that can answer 409, with an example code and message."""

NOT_FOUND = {
    "entry_id": ("unknown_entry", "no entry 5d0c6a7e-0000-4000-8000-000000000000"),
    "decision_id": ("unknown_decision", "no decision 5d0c6a7e-0000-4000-8000-000000000000"),
    "id": ("unknown_subject", "no subject 91440101000010049A"),
    "version": ("unknown_policy_version", "no policy version 0000"),
    "list": ("unknown_list", "no published list named blacklist"),
    "commitment_id": ("unknown_commitment", "no commitment 5d0c6a7e-0000-4000-8000-000000000000"),
}
"""What a 404 names, by the path parameter that was not found."""

NOT_FOUND_OTHER = {
    "GET /v1/policy/diff": ("unknown_policy_version", "no policy version 0000"),
    "GET /v1/audit/checkpoint": ("no_checkpoint", "no checkpoint of the decisions log yet"),
    "GET /v1/audit/public-key": ("no_signing_key", "this service signs no checkpoints"),
    "GET /v1/exchange/events": (
        "no_signing_key",
        "this service signs no checkpoints, so its exchange feed cannot be verified",
    ),
}
"""Operations answering 404 without a path parameter (a query naming nothing, no key)."""

NO_ERRORS = {"GET /healthz", "GET /metrics"}
"""Operations that answer no error (``/readyz`` answers 503)."""

ROLES_BY_HAND = {"POST /v1/checks": (Role.implementer,)}
"""Operations that check roles without a ``require`` dependency (the hand-parsed check path)."""

FORBIDDEN_BY_ENGINE = {
    "POST /v1/entries": "court may not register on major_tax_violation (the list of tax)",
    "POST /v1/entries/{entry_id}/revoke": "entry 5d0c6a7e belongs to department tax",
    "POST /v1/entries/{entry_id}/objection/resolution": "entry 5d0c6a7e belongs to department tax",
    "GET /v1/entries/{entry_id}/decisions": "entry 5d0c6a7e belongs to department tax",
    "POST /v1/decisions/{decision_id}/feedback": "only the deciding department reports feedback",
    "GET /v1/decisions/{decision_id}/proof": "only the deciding department or an auditor",
}
"""Operations where the engine answers 403 beyond the role (another department's entry)."""

UNAVAILABLE = {"POST /v1/checks", "GET /readyz"}
"""Operations that answer 503 ``not_ready`` (stopping, no database, no policy)."""

OPEN = {"GET /healthz", "GET /readyz", "GET /metrics", "GET /v1/audit/public-key"}
"""Operations without a key (``/public/v1`` too)."""


def _error(
    status: int, code: str, message: str, details: list[dict[str, str]] | None = None
) -> Any:
    return {
        "description": message,
        "content": {
            "application/json": {
                "schema": {"$ref": REF.format(model="ErrorEnvelope")},
                "example": {"error": {"code": code, "message": message, "details": details or []}},
            }
        },
    }


def _errors(
    key: str, operation: dict[str, Any], roles: tuple[Role, ...], components: dict[str, Any]
) -> dict[str, Any]:
    """The error answers of one operation, by status."""
    parameters = operation.get("parameters", [])
    body = "requestBody" in operation
    public = key.split(" ", 1)[1].startswith("/public/")
    answers: dict[str, Any] = {}
    if not public and key not in OPEN:
        answers["401"] = _error(
            401, "unauthorized", "missing API key: send 'Authorization: Bearer <key>'"
        )
    if roles:
        needed = " or ".join(role.value for role in roles)
        answers["403"] = _error(403, "forbidden", f"this call needs the role {needed}")
    elif key in FORBIDDEN_BY_ENGINE:
        answers["403"] = _error(403, "forbidden", FORBIDDEN_BY_ENGINE[key])
    path_names = [p["name"] for p in parameters if p["in"] == "path"]
    if path_names:
        code, message = NOT_FOUND[path_names[0]]
        answers["404"] = _error(404, code, message)
    elif key in NOT_FOUND_OTHER:
        answers["404"] = _error(404, *NOT_FOUND_OTHER[key])
    if key in CONFLICTS:
        answers["409"] = _error(409, *CONFLICTS[key])
    if body:
        answers["408"] = _error(
            408,
            "request_timeout",
            "no part of the request body arrived for 30 s (JRP_BODY_TIMEOUT)",
        )
        answers["413"] = _error(413, "body_too_large", "the request body is over 8388608 bytes")
    if body or parameters:
        answers["422"] = _error(
            422, "invalid_request", "request validation failed",
            [_invalid_field(operation, components)],
        )  # fmt: skip
    if public:
        answers["429"] = _error(429, "rate_limited", "too many requests: retry in 1 s")
    if key in UNAVAILABLE:
        answers["503"] = _error(503, "not_ready", "the decision log is closed")
    return answers


def _invalid_field(operation: dict[str, Any], components: dict[str, Any]) -> dict[str, str]:
    """A detail as the service words it for the operation's first field."""
    if "requestBody" in operation:
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        prefix = ""
        if schema.get("type") == "array":
            schema, prefix = schema["items"], "items[0]."
        if "$ref" in schema:
            schema = components[schema["$ref"].rsplit("/", 1)[1]]
        required = schema.get("required", [])
        if required:
            return {"field": prefix + required[0], "message": "Field required"}
        name = next(iter(schema.get("properties", {})), "body")
        return {"field": prefix + name, "message": "Extra inputs are not permitted"}
    parameter = operation["parameters"][0]
    if parameter.get("required"):
        return {"field": parameter["name"], "message": "Field required"}
    schema = parameter.get("schema", {})
    schema = next((s for s in schema.get("anyOf", []) if s.get("type") != "null"), schema)
    if "maximum" in schema:
        message = f"Input should be less than or equal to {schema['maximum']}"
    elif "maxLength" in schema:
        message = f"String should have at most {schema['maxLength']} characters"
    else:
        message = "Input should be a valid string"
    return {"field": parameter["name"], "message": message}


def _roles(routers: list[APIRouter]) -> dict[str, tuple[Role, ...]]:
    """Each operation's required roles (any of them), read from its ``require`` dependency."""

    def found(dependant: Dependant) -> tuple[Role, ...]:
        for dependency in dependant.dependencies:
            roles = getattr(dependency.call, "roles", None) or found(dependency)
            if roles:
                return tuple(roles)
        return ()

    table: dict[str, tuple[Role, ...]] = dict(ROLES_BY_HAND)
    for route in (route for router in routers for route in router.routes):
        if isinstance(route, APIRoute):
            for method in route.methods or ():
                table.setdefault(f"{method} {route.path_format}", found(route.dependant))
    return table


def _body_schema(body: Body) -> dict[str, Any]:
    if isinstance(body, ListOf):
        return {"type": "array", "items": {"$ref": REF.format(model=body.model.__name__)}}
    return {"$ref": REF.format(model=body.__name__)}


def _models() -> dict[str, Any]:
    models: list[type[BaseModel]] = [r.ErrorEnvelope]
    for body in SUCCESS.values():
        models.append(body.model if isinstance(body, ListOf) else body)
    unique = list(dict.fromkeys(models))
    _, top = models_json_schema([(model, "serialization") for model in unique], ref_template=REF)
    defs: dict[str, Any] = top.get("$defs", {})
    return defs


@cache
def examples() -> dict[str, Any]:
    """``api/openapi_examples.json``: per operation, requests, their status and answers."""
    loaded: dict[str, Any] = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    return loaded


def complete(schema: dict[str, Any], roles: dict[str, tuple[Role, ...]]) -> dict[str, Any]:
    """``schema`` (FastAPI's) with success schemas, error answers and examples everywhere."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for name, definition in _models().items():
        components.setdefault(name, definition)
    recorded = examples()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            key = f"{method.upper()} {path}"
            answers = operation.setdefault("responses", {})
            for status in [s for s in answers if not s.startswith("2")]:
                del answers[status]  # FastAPI's HTTPValidationError and hand-written envelopes
            success = next((s for s in answers if s.startswith("2")), "200")
            content = answers.setdefault(success, {"description": "OK"}).setdefault("content", {})
            if key in SUCCESS:
                content.setdefault("application/json", {})["schema"] = _body_schema(SUCCESS[key])
            for media, entry in content.items():
                if media.startswith("text/"):  # /metrics: the Prometheus text format
                    entry["schema"] = {"type": "string"}
                elif media != "application/json":
                    entry["schema"] = {"type": "string", "format": "binary"}
            answers.update(_errors(key, operation, roles.get(key, ()), components))
            if key in recorded:
                shown = content.get("application/json") or next(iter(content.values()))
                _attach_examples(operation, shown, recorded[key])
    return schema


def _attach_examples(operation: dict[str, Any], answer: dict[str, Any], recorded: Any) -> None:
    """The recorded requests and answers: ``example``, or named ``examples`` when several."""
    first = recorded[0]["request"]
    for parameter in operation.get("parameters", []):
        given = first.get(parameter["in"], {})
        if parameter["name"] in given:
            parameter["example"] = given[parameter["name"]]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if len(recorded) == 1:
        answer["example"] = recorded[0]["response"]
        if body is not None:
            body["example"] = first["body"]
        return
    named = {item["request"]["name"]: item for item in recorded}
    answer["examples"] = {name: {"value": item["response"]} for name, item in named.items()}
    if body is not None:
        body["examples"] = {
            name: {"value": item["request"]["body"]} for name, item in named.items()
        }


def install(app: FastAPI, routers: list[APIRouter]) -> None:
    """Serve the completed description of ``routers`` at ``/openapi.json`` (built once)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if not getattr(app.state, "openapi_completed", False):
            app.openapi_schema = complete(generate(), _roles(routers))
            app.state.openapi_completed = True
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
