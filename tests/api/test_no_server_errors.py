"""No client input makes a 5xx: every route of ``app.routes``, on this test run's database.

Two passes over the demo service (shipped bundle, demo data, one caller holding every role):

- a sweep: every route, each path parameter, query parameter, header and top-level body field
  in turn set to each of ``HOSTILE`` (NUL, dates out of range, huge numbers, ...), and every
  body route sent each of ``RAW_BODIES`` (invalid UTF-8, JSON nested 5,000 deep, an integer of
  5,000 digits, ...);
- a property test (hypothesis): a random route with random text, NUL and out-of-range values
  in its path, query, headers and body, bounded to ``FUZZ_EXAMPLES`` requests.

Any 5xx fails, showing the request. ``/v1`` and ``/public/v1`` refusals must use the envelope.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Mount

from api.app import create_app
from api.auth import Role, load_callers
from api.openapi import EXAMPLES_FILE
from engine.service import Service
from engine.settings import Settings
from tests.console.helpers import csrf_of, sign_in

KEY = "fuzz-key-every-role"
EXAMPLES: dict[str, list[dict[str, Any]]] = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
FUZZ_EXAMPLES = 250
"""Requests of the property test per database (about 20 s on a loaded 2-core machine)."""

HOSTILE = [
    "\x00",
    "a\x00b",
    "0001-01-01",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "1899-12-31",
    "10000-01-01",
    "-1",
    "9223372036854775808",
    "-9223372036854775809",
    "1" * 5000,
    "1e309",
    "NaN",
    "%",
    "' OR 1=1 --",
    "x" * 3000,
    "",
]
"""Text a client may send anywhere: each is tried in every parameter of every route."""

RAW_BODIES: list[tuple[str, bytes]] = [
    ("application/json", b"\xff\xfe{}"),
    ("application/json", b'{"a": "\xed\xa0\x80"}'),
    ("application/json", b"[" * 5000 + b"]" * 5000),
    ("application/json", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    ("application/json", b"1" * 5000),
    ("application/json", b'{"subject_id": ' + b"9" * 5000 + b"}"),
    ("application/json", b'{"x": "\\u0000", "y": "\\ud800"}'),
    ("application/json", b"\x00"),
    ("application/json", b""),
    ("text/plain", b"hello"),
    ("application/x-www-form-urlencoded", b"key=%00&subject_id=%ff&as_of=0001-01-01"),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\n\x00"),
]

PATH_DEFAULTS = {
    "id": "91440101000010014P",
    "subject_id": "440106198001010115",
    "list": "dishonest_judgment_debtor",
    "version": "0" * 64,
    "memorandum_id": "dishonest-judgment-debtors",
    "rest": "nothing",
    "path": "console.css",
}


CONSOLE_FORM = {
    "subject_id": "91440101000010014P",
    "matter": "government_procurement",
    "as_of": "2026-06-01",
    "reference": "x",
    "outcome": "rejected",
    "note": "x",
}
"""A console form's fields (each page reads those it knows)."""


@dataclass(frozen=True)
class Target:
    """One route: method, path template, and what a valid request to it looks like."""

    method: str
    template: str
    params: tuple[str, ...]
    query: tuple[str, ...]
    body: Any

    def url(self, values: dict[str, str], query: dict[str, str]) -> str:
        path = self.template
        for name in self.params:
            value = values.get(name, PATH_DEFAULTS.get(name, "x"))
            path = re.sub(r"\{" + name + r"(:[a-z]+)?\}", quote(value, safe=""), path)
        if query:
            pairs = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query.items())
            path += "?" + pairs
        return path

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def _routes(app: FastAPI) -> Iterator[Any]:
    # FastAPI >= 0.16x keeps included routers as branches; walk them to the routes.
    pending = list(app.routes)
    while pending:
        route = pending.pop(0)
        if hasattr(route, "effective_candidates"):
            pending[:0] = route.effective_candidates()
        else:
            yield route


def targets(app: FastAPI) -> list[Target]:
    """Every method of every route the app serves (static files: one file path)."""
    found = []
    for route in _routes(app):
        if isinstance(route, Mount):
            found.append(Target("GET", route.path + "/{path:path}", ("path",), (), None))
            continue
        original = getattr(route, "original_route", route)
        query: tuple[str, ...] = ()
        if isinstance(original, APIRoute):
            query = tuple(p.alias for p in original.dependant.query_params)
        params = tuple(re.findall(r"\{(\w+)(?::\w+)?\}", route.path))
        for method in sorted(set(route.methods or ()) - {"HEAD"}):
            example = EXAMPLES.get(f"{method} {route.path}", [{}])[0].get("request", {})
            body = example.get("body")
            if route.path.startswith("/console/") and method == "POST":
                body = CONSOLE_FORM
            found.append(Target(method, route.path, params, query, body))
    return found


QUERY_NAMES = (
    "subject_id", "since", "until", "as_of", "limit", "cursor", "q", "depth", "size", "first",
    "second", "log", "status", "overdue", "from", "to", "entry_id", "matter", "page", "kind",
)  # fmt: skip
"""Query parameters sent to every route, declared or not (console pages read them by hand)."""


class Fuzzing:
    """A client of the app, its routes, and the console session's CSRF token (console forms
    get past it to their own validation)."""

    def __init__(self, client: TestClient, targets: list[Target], csrf: str) -> None:
        self.client = client
        self.targets = targets
        self.csrf = csrf

    def __repr__(self) -> str:
        return f"Fuzzing({len(self.targets)} routes)"


@pytest.fixture
def fuzzing(db_url: str, tmp_path: Path) -> Iterator[Fuzzing]:
    """The demo service with one caller holding every role (department court)."""
    from api.demo import data as demo_data

    callers = tmp_path / "callers.yaml"
    caller = {
        "name": "全权限测试调用方",
        "department": "court",
        "roles": [role.value for role in Role],
        "key_sha256": hashlib.sha256(KEY.encode()).hexdigest(),
    }
    callers.write_text(yaml.safe_dump({"callers": [caller]}, allow_unicode=True), "utf-8")
    settings_ = Settings(db=db_url, callers=callers, public_rate=1_000_000)
    service = Service.start(settings_)
    demo_data.load(service)
    registry = load_callers(callers, service.policy.bundle.vocabulary)
    app = create_app(service, registry)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert sign_in(client, KEY).status_code == 303
        yield Fuzzing(client, targets(app), csrf_of(client.get("/console/check").text))


def _send(
    fuzzing: Fuzzing,
    target: Target,
    *,
    path: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: Any = None,
    raw: tuple[str, bytes] | None = None,
) -> str | None:
    """The problem with the answer to this request (a 5xx, or no envelope), or None."""
    url = target.url(path or {}, query or {})
    sent = {"Authorization": f"Bearer {KEY}", **(headers or {})}
    content: bytes | None = None
    if raw is not None:
        sent["Content-Type"], content = raw
    elif target.method != "GET" and target.template.startswith("/console/"):
        form = {**CONSOLE_FORM, "csrf": fuzzing.csrf, **(body if isinstance(body, dict) else {})}
        sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        content = "&".join(
            f"{quote(str(k), safe='')}={quote(str(v), safe='')}" for k, v in form.items()
        ).encode()
    elif target.method != "GET":
        sent.setdefault("Content-Type", "application/json")
        value = target.body if body is None else body
        content = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    encoded = {k: v.encode("utf-8", "surrogatepass") for k, v in sent.items()}
    response = fuzzing.client.request(target.method, url, headers=encoded, content=content)
    api = target.template.startswith(("/v1/", "/public/v1/"))
    shown = f"{target}: {url[:300]!r} headers={sent!r} body={(content or b'')[:300]!r}"
    if response.status_code >= 500 or (api and response.status_code == 400):
        return f"{response.status_code} {response.text[:300]}\n    {shown}"
    if api and response.status_code >= 400:
        error = response.json().get("error", {})
        if set(error) != {"code", "message", "details"}:
            return f"{response.status_code} not the envelope: {response.text[:300]}\n    {shown}"
    return None


def _no_problems(problems: list[str | None]) -> None:
    found = [p for p in problems if p is not None]
    assert not found, f"{len(found)} bad answers:\n" + "\n".join(found[:40])


def _mutations(body: Any, value: Any) -> Iterator[Any]:
    """``body`` with each top-level field (or the first item's) replaced by ``value``."""
    if isinstance(body, dict):
        for key in body:
            yield {**body, key: value}
    elif isinstance(body, list) and body and isinstance(body[0], dict):
        for key in body[0]:
            yield [{**body[0], key: value}, *body[1:]]
    yield value


def test_the_sweep_covers_every_route(fuzzing: Fuzzing) -> None:
    templates = {t.template for t in fuzzing.targets}
    assert {"/v1/checks", "/v1/decisions/{decision_id}", "/console/check"} <= templates
    assert len(fuzzing.targets) >= 70


def test_hostile_text_in_every_parameter_is_never_a_server_error(fuzzing: Fuzzing) -> None:
    problems = []
    for target in fuzzing.targets:
        for value in HOSTILE:
            for name in target.params:
                problems.append(_send(fuzzing, target, path={name: value}))
            for name in target.query:
                problems.append(_send(fuzzing, target, query={name: value}))
            # Console pages read their query by hand: every usual name at once.
            everything = dict.fromkeys(QUERY_NAMES, value[:500])
            problems.append(_send(fuzzing, target, query=everything))
            if target.method != "GET":
                for body in _mutations(target.body, value):
                    problems.append(_send(fuzzing, target, body=body))
        for value in ("\x00", "x" * 3000, "0001-01-01", "é"):
            headers = {"Idempotency-Key": value, "Accept": value[:200], "X-Forwarded-For": value}
            problems.append(_send(fuzzing, target, headers=headers))
    _no_problems(problems)


def test_raw_bodies_are_never_a_server_error(fuzzing: Fuzzing) -> None:
    _no_problems(
        [
            _send(fuzzing, target, raw=raw)
            for target in fuzzing.targets
            if target.method != "GET"
            for raw in RAW_BODIES
        ]
    )


_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
    st.integers().map(str),
    st.dates().map(str),
    st.datetimes().map(lambda d: d.isoformat()),
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_requests_are_never_a_server_error(fuzzing: Fuzzing, data: st.DataObject) -> None:
    target = data.draw(st.sampled_from(fuzzing.targets), label="route")
    path = {name: data.draw(_text, label=name) for name in target.params}
    names = st.sampled_from(sorted({*target.query, *QUERY_NAMES}))
    query = data.draw(st.dictionaries(names, _text, max_size=4), label="query")
    headers = data.draw(
        st.dictionaries(st.sampled_from(["Idempotency-Key", "Accept", "Content-Type"]), _text),
        label="headers",
    )
    body = None
    if target.method != "GET":
        mutated = list(_mutations(target.body, data.draw(_json, label="value")))
        body = data.draw(st.sampled_from(mutated), label="body")
    _no_problems([_send(fuzzing, target, path=path, query=query, headers=headers, body=body)])
