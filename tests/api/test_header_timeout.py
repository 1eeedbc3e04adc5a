"""Slow clients against a real ``jrp serve`` (``JRP_HEADER_TIMEOUT=0.5``, raw sockets): a
request head that takes too long is a 408 ``request_timeout`` and a closed connection, a
connection that sends nothing is closed, and nobody else notices (``api/http_protocol.py``)."""

from __future__ import annotations

import json
import os
import pickle
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from api.demo import DEMO_CALLERS
from api.http_protocol import HeaderTimeoutProtocol, http_protocol
from engine.settings import Settings
from tests.conftest import database_url
from tests.serving import ServeProcess, ServerNotReady

HEADER_TIMEOUT = 0.5
BODY_TIMEOUT = 1.0
PERSON = "440106198001010115"  # 张示例 (demo data)
AUDITOR = {"Authorization": "Bearer demo-auditor"}
HEAD = (
    f"GET /v1/subjects/{PERSON} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-auditor\r\n\r\n"
).encode()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    directory = tmp_path_factory.mktemp("headers")
    with database_url(directory) as db:
        command = [sys.executable, "-m", "api.cli", "serve", "--demo", "--callers",
                   str(DEMO_CALLERS), "--db", db]  # fmt: skip
        env = {
            "JRP_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
            "JRP_BODY_TIMEOUT": str(BODY_TIMEOUT),
            "JRP_LOG_FORMAT": "json",
        }
        with ServeProcess(command, directory / "serve.log", env=env) as served:
            try:
                served.wait_ready(timeout=120)
            except ServerNotReady as exc:
                pytest.fail(str(exc))
            yield served


def _connect(server: ServeProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _answer(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    return int(status_line.split(" ")[1]), headers, body


def _one_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response with a ``content-length`` from a connection that stays open."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    status, headers, body = _answer(received)
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return status, headers, body


def _send_slowly(sock: socket.socket, data: bytes, pause: float) -> float:
    """``data`` a byte every ``pause`` s, stopping when the server answers; seconds taken."""
    started = time.perf_counter()
    for byte in data:
        if select.select([sock], [], [], 0)[0]:
            break  # answered (or closed): stop writing into a closed connection
        sock.sendall(bytes([byte]))
        time.sleep(pause)
    select.select([sock], [], [], 10)
    return time.perf_counter() - started


def test_a_head_sent_slower_than_the_limit_is_a_408_and_a_close(server: ServeProcess) -> None:
    with _connect(server) as sock:
        taken = _send_slowly(sock, HEAD, pause=0.05)  # 100 bytes: 5 s
        raw = _read_until_closed(sock)  # returns: the server closed the connection
    assert HEADER_TIMEOUT * 0.8 < taken < HEADER_TIMEOUT + 3
    status, headers, body = _answer(raw)
    assert status == 408
    assert headers["connection"] == "close"
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == "request_timeout"
    assert "JRP_HEADER_TIMEOUT" in error["message"]
    assert error["details"] == []
    spec = httpx.get(f"{server.base}/openapi.json", timeout=30).json()
    assert not _envelope_problems(spec, json.loads(body))
    events = _timeouts(server)
    assert any(event["answered"] == 408 for event in events)
    counted = httpx.get(f"{server.base}/metrics", timeout=30).text
    assert 'jrp_http_requests_total{route="(unmatched)",status="408"}' in counted


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(
    server: ServeProcess,
) -> None:
    with _connect(server) as sock:
        started = time.perf_counter()
        assert sock.recv(65536) == b""  # closed, no bytes
        taken = time.perf_counter() - started
    assert HEADER_TIMEOUT * 0.8 < taken < HEADER_TIMEOUT + 3
    assert any(event["answered"] is None for event in _timeouts(server))


def test_others_are_served_while_and_after_a_slow_client_waits(server: ServeProcess) -> None:
    with _connect(server) as slow, httpx.Client(base_url=server.base, timeout=10) as client:
        slow.sendall(HEAD[:20])  # a head begun, never finished
        assert client.get("/healthz").status_code == 200  # meanwhile, another connection
        status, _headers, _body = _answer(_read_until_closed(slow))
        assert status == 408
        answer = client.get(f"/v1/subjects/{PERSON}", headers=AUDITOR)
        assert answer.status_code == 200


def test_keep_alive_requests_wait_between_requests_longer_than_the_head_limit(
    server: ServeProcess,
) -> None:
    # Between two requests uvicorn's keep-alive timeout (5 s) decides, not the head's 0.5 s.
    with _connect(server) as sock:
        for _ in range(3):
            sock.sendall(HEAD)
            status, headers, body = _one_response(sock)
            assert status == 200, body
            assert headers.get("connection") != "close"
            time.sleep(HEADER_TIMEOUT * 2)
        # and a head in parts, each within the limit of the whole, is served
        sock.sendall(HEAD[:30])
        time.sleep(HEADER_TIMEOUT / 3)
        sock.sendall(HEAD[30:])
        assert _one_response(sock)[0] == 200


def test_a_head_in_time_and_a_slow_body_is_the_body_408(server: ServeProcess) -> None:
    with _connect(server) as sock:
        sock.sendall(
            b"POST /v1/checks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-finance\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            + f'{{"subject_id": "{PERSON}"'.encode()
        )
        started = time.perf_counter()
        status, _headers, body = _one_response(sock)
        taken = time.perf_counter() - started
    assert status == 408
    error = json.loads(body)["error"]
    assert error["code"] == "request_timeout"
    assert BODY_TIMEOUT * 0.8 < taken < BODY_TIMEOUT + 3
    # as /openapi.json documents it (there with the default 30 s)
    spec = httpx.get(f"{server.base}/openapi.json", timeout=30).json()
    documented = spec["paths"]["/v1/checks"]["post"]["responses"]["408"]
    example = documented["content"]["application/json"]["example"]["error"]
    assert error == {
        **example,
        "message": example["message"].replace(" 30 s ", f" {BODY_TIMEOUT:g} s "),
    }
    assert not _envelope_problems(spec, json.loads(body))


def test_timeout_events_are_json_and_name_only_the_address(server: ServeProcess) -> None:
    with _connect(server) as sock:
        _send_slowly(sock, HEAD, pause=0.05)  # the head carries a citizen id
        _read_until_closed(sock)
    lines = server.log.read_text(encoding="utf-8").splitlines()
    for line in lines:
        assert PERSON not in line, line
        json.loads(line)
    events = _timeouts(server)
    assert events
    for event in events:
        assert set(event) == {"event", "level", "timestamp", "client", "timeout_s", "answered"}
        host, port = event["client"].rsplit(":", 1)
        assert host == "127.0.0.1" and port.isdigit()
        assert event["timeout_s"] == HEADER_TIMEOUT


def _envelope_problems(spec: dict[str, Any], answer: Any) -> list[str]:
    schema = {"$ref": "#/components/schemas/ErrorEnvelope", "components": spec["components"]}
    return [error.message for error in Draft202012Validator(schema).iter_errors(answer)]


def _timeouts(server: ServeProcess) -> list[dict[str, object]]:
    deadline = time.perf_counter() + 5
    while True:  # the event is written when the connection closes: give the file a moment
        lines = server.log.read_text(encoding="utf-8").splitlines()
        events = [json.loads(line) for line in lines if "request.header_timeout" in line]
        if events or time.perf_counter() > deadline:
            return [event for event in events if event["event"] == "request.header_timeout"]
        time.sleep(0.05)


# What the protocol relies on in the locked uvicorn (requirements.lock): fail here, not in
# production, when an upgrade renames it.


def test_the_protocol_relies_on_uvicorn_httptools_internals() -> None:
    import httptools  # noqa: F401  (uvicorn's "auto" is this protocol only with httptools)

    for hook in ("connection_made", "connection_lost", "on_message_begin", "on_headers_complete"):
        assert hook in vars(HttpToolsProtocol), hook

    async def app(_scope: object, _receive: object, _send: object) -> None:
        return None

    config = Config(app=app, http=http_protocol(HEADER_TIMEOUT), log_config=None)
    config.load()
    protocol = config.http_protocol_class(  # type: ignore[call-arg]
        config=config, server_state=ServerState(), app_state={}
    )
    assert isinstance(protocol, HeaderTimeoutProtocol)
    assert protocol.header_timeout == HEADER_TIMEOUT
    for name in ("transport", "loop", "client", "cycle", "server_state"):
        assert hasattr(protocol, name), name
    assert isinstance(protocol.server_state.default_headers, list)


def test_the_protocol_pickles_for_the_worker_processes() -> None:
    restored = pickle.loads(pickle.dumps(http_protocol(2.5)))
    assert restored.func is HeaderTimeoutProtocol  # type: ignore[attr-defined]
    assert restored.keywords == {"header_timeout": 2.5}  # type: ignore[attr-defined]


def test_the_header_timeout_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JRP_HEADER_TIMEOUT", raising=False)
    assert Settings().header_timeout == 10.0
    monkeypatch.setenv("JRP_HEADER_TIMEOUT", "0.25")
    assert Settings().header_timeout == 0.25
    monkeypatch.setenv("JRP_HEADER_TIMEOUT", "0")
    with pytest.raises(ValidationError, match="header_timeout"):
        Settings()


def test_serve_refuses_a_bad_header_timeout(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--demo", "--db", f"sqlite:///{tmp_path}/j.db"],
        env={**os.environ, "JRP_HEADER_TIMEOUT": "-1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "error: JRP_HEADER_TIMEOUT: Input should be greater than 0" in done.stderr
    # a setting given as a flag is named by its flag
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--demo", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "error: --port: Input should be greater than or equal to 1" in done.stderr
