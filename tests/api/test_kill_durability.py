"""A served instance killed with SIGKILL under load: every decision it answered is in the log.

A check is answered only after its batch committed (``engine/decisions/writer.py``: the
writer thread's one optimistic ``INSERT`` on PostgreSQL, its ``BEGIN IMMEDIATE`` transaction
on SQLite), so nothing answered may be missing after ``kill -9``.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from api.demo import DEMO_CALLERS
from engine.decisions import verify
from engine.store import db
from tests.serving import ServeProcess

PERSON = "440106198001010115"  # 张示例 (demo data)
CHECK = {"Authorization": "Bearer demo-finance", "Content-Type": "application/json"}
CLIENTS = 16


def _load(base: str, answered: list[str], stop: threading.Event) -> None:
    body = {"subject_id": PERSON, "matter": "government_procurement"}
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.is_set():
            try:
                response = client.post("/v1/checks", json=body, headers=CHECK)
            except httpx.TransportError:  # the server is gone
                return
            if response.status_code == 200:
                answered.append(response.json()["decision_id"])


def test_no_answered_decision_is_lost_on_kill_9(tmp_path: Path, db_url: str) -> None:
    command = [sys.executable, "-m", "api.cli", "serve", "--demo", "--callers", str(DEMO_CALLERS),
               "--db", db_url]  # fmt: skip
    answered: list[str] = []
    stop = threading.Event()
    with ServeProcess(command, tmp_path / "serve.log") as server:
        server.wait_ready(timeout=180)
        clients = [
            threading.Thread(target=_load, args=(server.base, answered, stop))
            for _ in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        deadline = time.monotonic() + 60
        while len(answered) < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.process.send_signal(signal.SIGKILL)  # mid-load: batches in flight
        server.process.wait()
        stop.set()
        for client in clients:
            client.join()
    assert len(answered) >= 300, server.tail()
    engine = db.create_db_engine(db_url)
    try:
        with engine.connect() as connection:
            stored = set(connection.execute(sa.text("SELECT decision_id FROM decision")).scalars())
        assert not set(answered) - stored  # nothing answered is missing
        assert verify(engine).ok  # and what was stored forms one unbroken chain
    finally:
        engine.dispose()
