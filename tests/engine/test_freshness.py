"""Coalesced catch-ups: each check waits for a catch-up that began after it asked, and shares it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from engine import registry
from engine.errors import NotReady
from engine.events import EventType, LogHead, NewEvent
from engine.freshness import Freshness
from engine.service import Service
from engine.settings import Settings
from tests.conftest import CONTRACT_BUNDLE
from tests.engine.test_registry import org, subject_item


class SlowCatchUp:
    """A catch-up that takes a while and records when each one started."""

    def __init__(self, fail_first: bool = False) -> None:
        self.started: list[float] = []
        self.fail_first = fail_first

    def __call__(self) -> int:
        self.started.append(time.monotonic())
        time.sleep(0.02)
        if self.fail_first and len(self.started) == 1:
            raise RuntimeError("database gone")
        return len(self.started)


def test_every_waiter_is_served_by_a_catch_up_that_began_after_it_asked() -> None:
    catch_up = SlowCatchUp()
    freshness = Freshness(catch_up)

    async def ask() -> tuple[float, int]:
        asked = time.monotonic()
        return asked, await freshness.fresh()

    async def many() -> list[tuple[float, int]]:
        results = []
        for _ in range(5):  # waves of concurrent checks
            results += await asyncio.gather(*(ask() for _ in range(20)))
            await asyncio.sleep(0.005)
        return results

    try:
        results = asyncio.run(many())
    finally:
        freshness.close()
    for asked, served_by in results:
        assert catch_up.started[served_by - 1] >= asked
    assert len(catch_up.started) < len(results) / 4  # shared, not one per check


def test_a_failed_catch_up_fails_its_waiters_and_the_next_one_retries() -> None:
    freshness = Freshness(SlowCatchUp(fail_first=True))
    try:
        with pytest.raises(RuntimeError, match="database gone"):
            freshness.wait()
        assert freshness.wait() == 2
        assert asyncio.run(freshness.fresh()) == 3
    finally:
        freshness.close()


def test_after_close_waiting_is_refused() -> None:
    freshness = Freshness(SlowCatchUp())
    assert freshness.wait() == 1
    freshness.close()
    with pytest.raises(NotReady):
        freshness.wait()
    freshness.close()  # twice is fine


@pytest.fixture
def two_workers(db_url: str) -> Iterator[tuple[Service, Service]]:
    settings = Settings(db=db_url, policy=CONTRACT_BUNDLE)
    first, second = Service.start(settings), Service.start(settings)
    yield first, second
    first.close()
    second.close()


def test_synced_sees_what_another_worker_committed(two_workers: tuple[Service, Service]) -> None:
    first, second = two_workers
    registry.upsert_subjects(first, [subject_item(org(1), "org", "某公司")])
    assert org(1) not in second.state.subjects
    assert asyncio.run(second.synced()) == first.state.seq
    assert org(1) in second.state.subjects


def test_the_log_head_probe_reads_the_newest_seq_and_reconnects(
    two_workers: tuple[Service, Service],
) -> None:
    first, _ = two_workers
    head = LogHead(first.engine)
    try:
        assert head.seq() == first.state.seq
        registry.upsert_subjects(first, [subject_item(org(2), "org", "某公司")])
        assert head.seq() == first.state.seq
        head.close()  # as after a broken connection
        assert head.seq() == first.state.seq
    finally:
        head.close()


def test_concurrent_probes_from_threads_and_loops_share_one_thread() -> None:
    freshness = Freshness(SlowCatchUp())
    seen: list[int] = []
    threads = [threading.Thread(target=lambda: seen.append(freshness.wait())) for _ in range(10)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        freshness.close()
    assert len(seen) == 10 and max(seen) < 10


def test_a_write_waits_for_another_workers_write_so_no_event_is_skipped(
    two_workers: tuple[Service, Service],
) -> None:
    first, second = two_workers
    other: list[threading.Thread] = []

    def build(_session: object, _state: object) -> list[NewEvent]:
        # Another worker writes while this one holds the log: it must wait, not get ahead.
        thread = threading.Thread(
            target=registry.upsert_subjects, args=(first, [subject_item(org(3), "org", "甲")])
        )
        thread.start()
        other.append(thread)
        time.sleep(0.5)
        later = {"id": org(4), "kind": "org", "name": "乙", "region": None}
        return [NewEvent(EventType.subject_upserted, later)]

    second.write(build)  # type: ignore[arg-type]
    other[0].join(timeout=60)
    second.catch_up()
    assert {org(3), org(4)} <= set(second.state.subjects)
    assert second.state.seq == first.catch_up()
