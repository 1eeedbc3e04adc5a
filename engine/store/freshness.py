"""Read-your-writes for concurrent checks at the price of one probe per batch, not per check.

A check must see every event committed before it started, whichever worker wrote it, so it
needs a look at the event log that *began* after the check did, and a catch-up when the log
is ahead of the state. Such rounds run one at a time; a check asks, and waits for the next
round to start and finish; every check that asked before that round began is served by it.
Under load one database round trip serves a whole batch of checks; alone, a check costs one.

Waiters are coroutines (``await fresh()``, the HTTP checks), and the rounds run on their own
event loop. The probe is awaited there (``engine.store.heads.AsyncLogHead``), so a round costs
no thread hand-off; only a round that finds the state behind hands the catch-up (database
reads, applying events) to a thread, keeping the loop free. Measured: the hand-offs of a
probe thread cost a check more CPU than answering it (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog

from engine.errors import NotReady

log = structlog.get_logger(__name__)


class Probe(Protocol):
    """What a loop's rounds await before deciding whether to catch up (``AsyncLogHead``)."""

    def seq(self) -> Awaitable[int]: ...

    def close(self) -> None: ...


class Freshness:
    """Coalesces catch-ups: ``await fresh()`` returns once a round started after the call.

    ``catch_up`` brings the state up to the log (after a look at the log's head) and returns
    its position. With ``probe`` and ``position`` (the state's position now), a coroutine's
    round first awaits ``probe.seq()`` on its loop and calls ``catch_up`` only when the log is
    ahead; without them, every round is a ``catch_up`` on a worker thread.
    """

    def __init__(
        self,
        catch_up: Callable[[], int],
        *,
        probe: Callable[[], Probe] | None = None,
        position: Callable[[], int] | None = None,
    ) -> None:
        if (probe is None) != (position is None):
            raise ValueError("probe and position go together")
        self._catch_up = catch_up
        self._new_probe = probe
        self._position = position
        self._lock = threading.Lock()
        self._closed = False
        self._loops: dict[asyncio.AbstractEventLoop, _LoopRounds] = {}

    async def fresh(self) -> int:
        """The state's position after a round that began after this call."""
        loop = asyncio.get_running_loop()
        rounds = self._loops.get(loop)
        if rounds is None:
            rounds = self._rounds_for(loop)
        return await rounds.next_round()

    def _rounds_for(self, loop: asyncio.AbstractEventLoop) -> _LoopRounds:
        with self._lock:
            if self._closed:
                raise NotReady("the service is stopping")
            for old in [other for other in self._loops if other.is_closed()]:
                self._loops.pop(old).close()
            probe = None if self._new_probe is None else self._new_probe()
            rounds = self._loops[loop] = _LoopRounds(self, probe)
            return rounds

    async def _round(self, probe: Probe | None) -> int:
        """One round on a loop: probe there, catch up on a thread only when behind."""
        if self._closed:
            raise NotReady("the service is stopping")
        position = self._position
        if probe is not None and position is not None and await probe.seq() <= position():
            return position()
        return await asyncio.to_thread(self._catch_up)

    def close(self) -> None:
        """Stop: later waiters get NotReady, and so do coroutines whose round had not started."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loops, self._loops = list(self._loops.values()), {}
        for rounds in loops:
            rounds.close()


class _LoopRounds:
    """The rounds of one event loop: one at a time, each serving every coroutine that asked
    before it began. Touched only from that loop's thread (``close`` aside)."""

    def __init__(self, freshness: Freshness, probe: Probe | None) -> None:
        self._freshness = freshness
        self._probe = probe
        self._next: list[asyncio.Future[int]] = []  # waiting for the round not yet begun
        self._task: asyncio.Task[None] | None = None  # the rounds under way (a strong ref)

    def next_round(self) -> asyncio.Future[int]:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[int] = loop.create_future()
        self._next.append(waiter)
        if self._task is None:
            self._task = loop.create_task(self._run())
        # Each waiter its own future: a cancelled check (client gone) cancels only its own.
        return waiter

    async def _run(self) -> None:
        try:
            while self._next:
                batch, self._next = self._next, []
                try:
                    seq = await self._freshness._round(self._probe)
                except Exception as exc:  # this batch sees it; the next round tries again
                    if not isinstance(exc, NotReady):
                        log.error("freshness.catch_up_failed", error_type=type(exc).__name__)
                    _resolve(batch, 0, exc)
                else:
                    _resolve(batch, seq, None)
        finally:
            self._task = None

    def close(self) -> None:
        if self._probe is not None:
            self._probe.close()


def _resolve(futures: list[asyncio.Future[int]], seq: int, error: BaseException | None) -> None:
    for future in futures:
        if future.done():  # the request was cancelled (client gone)
            continue
        if error is None:
            future.set_result(seq)
        else:
            future.set_exception(error)
