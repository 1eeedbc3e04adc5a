"""``jrp serve --workers 2``: two processes on one database keep one state and one chain.

Each worker keeps its own ``State`` and catches up with the event log before every check
(read-your-writes), appends to the one hash chain under the chain lock, and learns of a policy
reload made on the other worker from the ``policy.loaded`` event. Requests go out on fresh
connections, so the kernel spreads them over both workers.
"""

from __future__ import annotations

import random
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import auth, debtor_entry, write_callers
from tests.conftest import CONTRACT_BUNDLE
from tests.engine.registry.test_registry import org
from tests.serving import ServeProcess, ServerNotReady

WRITERS, ENTRIES_EACH, CHECKERS = 3, 6, 3
OLD_TEXT, NEW_TEXT = "text: 限制参与政府采购活动", "text: 依法限制参与政府采购活动(已修订)"


@contextmanager
def _two_workers(tmp_path: Path, db_url: str) -> Iterator[tuple[str, Path, ServeProcess]]:
    policy = tmp_path / "bundle"
    shutil.copytree(CONTRACT_BUNDLE, policy)
    callers = write_callers(tmp_path / "callers.yaml")
    command = [sys.executable, "-m", "api.cli", "serve", "--policy", str(policy), "--callers",
               str(callers), "--db", db_url]  # fmt: skip
    with ServeProcess(command, tmp_path / "serve.log", workers=2) as server:
        try:
            server.wait_ready(timeout=120)
        except ServerNotReady as exc:
            pytest.fail(str(exc))
        yield server.base, policy, server


def _parent(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def _check(base: str, subject_id: str) -> dict[str, Any]:
    response = httpx.post(
        f"{base}/v1/checks",
        json={"subject_id": subject_id, "matter": "government_procurement"},
        headers=auth("finance"),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_two_workers_share_one_state_and_one_decision_chain(tmp_path: Path, db_url: str) -> None:
    with _two_workers(tmp_path, db_url) as (base, policy, server):
        assert len(server.worker_pids()) == 2
        # Each worker commits its checks through a writer process of its own; the
        # supervisor's start-up service closed its own.
        writers = server.writer_pids()
        assert len(writers) == 2
        assert {_parent(pid) for pid in writers} == set(server.worker_pids())
        registered: list[str] = []
        problems: list[str] = []
        checks_made = 0
        lock = threading.Lock()
        writing = threading.Event()
        writing.set()

        def writer(k: int) -> None:
            nonlocal checks_made
            for i in range(ENTRIES_EACH):
                subject_id, n = org(1000 + k * 100 + i), k * 100 + i
                created = httpx.post(
                    f"{base}/v1/entries", json=debtor_entry(subject_id, n), headers=auth("court"),
                    timeout=30,
                )  # fmt: skip
                if created.status_code != 201:
                    problems.append(f"entry {n}: {created.status_code} {created.text}")
                    return
                entry_id = created.json()["entry"]["id"]
                # Read-your-writes: a check sent after the 201 sees the entry, on either worker.
                answer = _check(base, subject_id)
                with lock:
                    checks_made += 1
                    registered.append(subject_id)
                if entry_id not in {hit["entry_id"] for hit in answer["hits"]}:
                    problems.append(f"check after entry {n} ({created.json()}) missed it: {answer}")

        def checker() -> None:
            nonlocal checks_made
            while writing.is_set():
                with lock:
                    known = list(registered)
                subject_id = random.choice(known) if known else org(1)
                answer = _check(base, subject_id)
                with lock:
                    checks_made += 1
                if known and answer["outcome"] != "prohibit":
                    problems.append(f"{subject_id} is listed, yet: {answer}")

        writers = [threading.Thread(target=writer, args=(k,)) for k in range(WRITERS)]
        checkers = [threading.Thread(target=checker) for _ in range(CHECKERS)]
        for thread in writers + checkers:
            thread.start()
        for thread in writers:
            thread.join()
        writing.clear()
        for thread in checkers:
            thread.join()
        assert not problems, problems[:5]
        assert len(registered) == WRITERS * ENTRIES_EACH

        # A reload on one worker reaches the other through the policy.loaded event.
        measure = policy / "court" / "dishonest-judgment-debtors.yaml"
        measure.write_text(measure.read_text(encoding="utf-8").replace(OLD_TEXT, NEW_TEXT),
                           encoding="utf-8")  # fmt: skip
        reloaded = httpx.post(f"{base}/v1/policy/reload", headers=auth("admin"), timeout=60)
        assert reloaded.status_code == 200, reloaded.text
        assert reloaded.json()["changed"] is True
        new_version = reloaded.json()["version"]
        for subject_id in registered[:10]:
            answer = _check(base, subject_id)
            checks_made += 1
            assert answer["policy_version"] == new_version
            texts = {hit["measure_text"] for hit in answer["hits"]}
            assert texts == {NEW_TEXT.removeprefix("text: ")}, texts

        # One unbroken chain holding every answer, and every answer replays identically.
        verify = httpx.get(f"{base}/v1/audit/verify", headers=auth("auditor"), timeout=60)
        assert verify.json() == {"ok": True, "length": checks_made, "first_bad_seq": None}
        replayed = httpx.post(
            f"{base}/v1/replay", json={"policy": "recorded"}, headers=auth("auditor"), timeout=120
        )
        assert replayed.status_code == 200, replayed.text
        report = replayed.json()
        assert report["replayed"] == report["identical"] == checks_made
        assert report["changed"] == []
