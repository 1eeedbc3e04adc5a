"""A served instance (real uvicorn child process) driven with bad input: every line of its
whole output is a JSON event, and none carries a person's full id."""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

import httpx

from api.demo import DEMO_CALLERS
from tests.serving import ServeProcess

PERSON = "440106198001010115"  # 张示例 (demo data)
KEY = {"Authorization": "Bearer demo-auditor"}
CHECK = {"Authorization": "Bearer demo-finance", "Content-Type": "application/json"}


def _drive(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        assert client.get(f"/v1/subjects/{PERSON}", headers=KEY).status_code == 200
        check = {"subject_id": PERSON, "matter": "government_procurement"}
        assert client.post("/v1/checks", json=check, headers=CHECK).status_code == 200
        assert (
            client.get("/v1/decisions", params={"subject_id": "\x00"}, headers=KEY).status_code
            == 422
        )
        assert client.get("/v1/decisions/%00", headers=KEY).status_code == 422
        deep = b"[" * 5000 + b"]" * 5000
        assert client.post("/v1/checks", content=deep, headers=CHECK).status_code == 422
        assert client.post("/v1/checks", content=b"\xff", headers=CHECK).status_code == 422
        big = b'{"subject_id": "' + b"1" * (9 * 1024 * 1024) + b'"}'
        assert client.post("/v1/checks", content=big, headers=CHECK).status_code == 413
        unknown = f"/v1/nothing/{PERSON}"
        assert client.get(unknown, headers=KEY).status_code == 404
        bad = {"subject_id": PERSON[:-1] + "0", "matter": "government_procurement"}
        assert client.post("/v1/checks", json=bad, headers=CHECK).status_code == 422
    # A client that sends half a body and goes away.
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /v1/checks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer demo-finance\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            + f'{{"subject_id": "{PERSON}"'.encode()
        )


def _logged(log: Path, event: str, timeout: float = 20.0) -> None:
    """Wait until the server has logged ``event`` (a disconnect is noticed a moment after the
    client closed; stopping the server first would lose it)."""
    deadline = time.monotonic() + timeout
    while f'"event": "{event}"' not in log.read_text(encoding="utf-8", errors="replace"):
        if time.monotonic() > deadline:
            return  # the assertions below say what is missing
        time.sleep(0.05)


def test_a_served_instance_logs_json_lines_without_personal_ids(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "api.cli", "serve", "--demo", "--callers", str(DEMO_CALLERS),
               "--db", f"sqlite:///{tmp_path / 'jrp.db'}"]  # fmt: skip
    with ServeProcess(command, log, env={"JRP_LOG_FORMAT": "json"}) as server:
        server.wait_ready(timeout=120)
        _drive(server.base)
        _logged(log, "client_disconnected")
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) > 10
    for line in lines:
        event = json.loads(line)  # every line a JSON event
        assert "event" in event, line
        assert PERSON not in line, line
    assert not [line for line in lines if json.loads(line).get("logger") == "uvicorn.access"]
    events = [json.loads(line)["event"] for line in lines]
    assert "request.handled" in events
    assert "client_disconnected" in events  # the half-sent body: not a 500
    assert any("Started server process" in event for event in events)  # uvicorn's own lines


def test_two_workers_log_json_lines_without_personal_ids(tmp_path: Path, db_url: str) -> None:
    # The supervisor and both workers write to one output: uvicorn's supervisor lines, each
    # worker's start and stop, and a slow client's head timeout (the protocol, pickled into
    # each worker) are JSON events like the requests'.
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "api.cli", "serve", "--demo", "--callers", str(DEMO_CALLERS),
               "--db", db_url]  # fmt: skip
    env = {"JRP_LOG_FORMAT": "json", "JRP_HEADER_TIMEOUT": "0.5"}
    with ServeProcess(command, log, workers=2, env=env) as server:
        server.wait_ready(timeout=180)
        workers = server.worker_pids()
        assert len(workers) == 2
        _drive(server.base)
        _logged(log, "client_disconnected")
        host, port = server.base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"GET /v1/subjects/{PERSON} HTTP/1.1\r\n".encode())  # and no more
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408 ")
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) > 10
    events = []
    for line in lines:
        event = json.loads(line)  # every line a JSON event
        assert isinstance(event, dict) and "event" in event, line
        assert PERSON not in line, line
        events.append(event)
    names = [event["event"] for event in events]
    # the request log only (route templates), never uvicorn's access log (raw paths, queries)
    assert not [event for event in events if event.get("logger") == "uvicorn.access"]
    assert names.count("service.started") == 3  # the supervisor's check, then each worker
    assert "request.handled" in names
    assert "request.header_timeout" in names
    assert "client_disconnected" in names
    assert any("Started parent process" in name for name in names)  # the supervisor's lines
    assert sum("Started server process" in name for name in names) == 2
    assert sum("Finished server process" in name for name in names) == 2
