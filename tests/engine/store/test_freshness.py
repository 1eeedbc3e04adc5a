"""Coalesced catch-ups: each check waits for a catch-up that began after it asked, and shares it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from engine.errors import NotReady
from engine.registry import service as registry
from engine.service import Service
from engine.settings import Settings
from engine.store.events import EventType, NewEvent
from engine.store.freshness import Freshness
from engine.store.heads import AsyncLogHead, LogHead
from tests.conftest import CONTRACT_BUNDLE
from tests.engine.registry.test_registry import org, subject_item


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
            asyncio.run(freshness.fresh())
        assert asyncio.run(freshness.fresh()) == 2
        assert asyncio.run(freshness.fresh()) == 3
    finally:
        freshness.close()


def test_after_close_waiting_is_refused() -> None:
    freshness = Freshness(SlowCatchUp())
    assert asyncio.run(freshness.fresh()) == 1
    freshness.close()
    with pytest.raises(NotReady):
        asyncio.run(freshness.fresh())
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


def test_the_async_probe_reads_the_newest_seq_and_reconnects(
    two_workers: tuple[Service, Service],
) -> None:
    first, _ = two_workers
    head = AsyncLogHead(first.engine)

    async def probes() -> list[int]:
        seen = [await head.seq()]
        registry.upsert_subjects(first, [subject_item(org(2), "org", "某公司")])
        seen.append(await head.seq())
        head.close()  # as after a broken connection
        seen.append(await head.seq())
        return seen

    try:
        before = first.state.seq
        assert asyncio.run(probes()) == [before, first.state.seq, first.state.seq]
        assert first.state.seq > before
    finally:
        head.close()


class FakeProbe:
    """A log head that says what it is told, counting probes; fails once when asked to."""

    def __init__(self, head: int, fail_next: bool = False) -> None:
        self.head, self.fail_next, self.probes, self.closed = head, fail_next, 0, False

    async def seq(self) -> int:
        self.probes += 1
        await asyncio.sleep(0.005)  # a round trip, during which more checks arrive
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("server closed the connection")
        return self.head

    def close(self) -> None:
        self.closed = True


def test_a_loop_round_probes_on_the_loop_and_catches_up_only_when_behind() -> None:
    catch_up, probe, position = SlowCatchUp(), FakeProbe(head=7), [7]
    freshness = Freshness(catch_up, probe=lambda: probe, position=lambda: position[0])

    async def checks(n: int) -> list[int]:
        return list(await asyncio.gather(*(freshness.fresh() for _ in range(n))))

    try:
        assert asyncio.run(checks(30)) == [7] * 30  # up to date: no catch-up at all
        assert catch_up.started == [] and 1 <= probe.probes <= 2
        probe.head = 9  # another worker wrote: the next round catches up (on a thread)
        assert asyncio.run(checks(5)) == [1] * 5
        assert len(catch_up.started) == 1
    finally:
        freshness.close()
    assert probe.closed


def test_a_failed_probe_fails_its_round_and_the_next_round_probes_again() -> None:
    probe = FakeProbe(head=3, fail_next=True)
    freshness = Freshness(SlowCatchUp(), probe=lambda: probe, position=lambda: 3)

    async def two_rounds() -> int:
        with pytest.raises(ConnectionError):
            await freshness.fresh()
        return await freshness.fresh()

    try:
        assert asyncio.run(two_rounds()) == 3
    finally:
        freshness.close()
    with pytest.raises(NotReady):
        asyncio.run(freshness.fresh())


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
