"""Read-your-writes for concurrent checks at the price of one catch-up per batch, not per check.

A check must see every event committed before it started, whichever worker wrote it, so it
needs a catch-up with the event log that *began* after the check did. ``Freshness`` runs
catch-ups one at a time on its own thread: a check asks, and waits for the next catch-up to
start and finish; every check that asked before that catch-up began is served by it. Under
load one database round trip serves a whole batch of checks; alone, a check costs one round
trip, as before.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

import structlog

from engine.errors import NotReady

log = structlog.get_logger(__name__)

_Waiter = tuple[asyncio.AbstractEventLoop, asyncio.Future[int]] | Future[int]


class Freshness:
    """Coalesces catch-ups: ``await fresh()`` returns once a catch-up started after the call."""

    def __init__(self, catch_up: Callable[[], int]) -> None:
        self._catch_up = catch_up
        self._queue: queue.SimpleQueue[_Waiter | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread: threading.Thread | None = None  # started by the first waiter

    async def fresh(self) -> int:
        """The state's position after a catch-up that began after this call."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[int] = loop.create_future()
        self._enqueue((loop, waiter))
        return await waiter

    def wait(self) -> int:
        """``fresh`` for threads."""
        waiter: Future[int] = Future()
        self._enqueue(waiter)
        return waiter.result()

    def _enqueue(self, waiter: _Waiter) -> None:
        with self._lock:
            if self._closed:
                raise NotReady("the service is stopping")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="jrp-freshness", daemon=True)
                self._thread.start()
            self._queue.put(waiter)

    def close(self) -> None:
        """Stop the thread once the catch-up under way (if any) is done; waiters get NotReady."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._queue.put(None)
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch: list[_Waiter] = []
            item = self._queue.get()
            while True:  # everything that asked before this catch-up starts
                if item is None:
                    stopping = True
                else:
                    batch.append(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if stopping:
                _settle(batch, None, NotReady("the service is stopping"))
                return
            try:
                seq = self._catch_up()
            except Exception as exc:  # every waiter of this batch sees it; the next batch retries
                log.error("freshness.catch_up_failed", error_type=type(exc).__name__)
                _settle(batch, None, exc)
            else:
                _settle(batch, seq, None)


def _settle(batch: list[_Waiter], seq: int | None, error: BaseException | None) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[int]]] = {}
    for waiter in batch:
        if isinstance(waiter, Future):
            if error is None:
                waiter.set_result(seq or 0)
            else:
                waiter.set_exception(error)
        else:
            by_loop.setdefault(waiter[0], []).append(waiter[1])
    # One wake-up per event loop for the whole batch, not one per waiting check.
    for loop, futures in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, futures, seq or 0, error)
        except RuntimeError:  # that loop has closed: nobody is waiting any more
            continue


def _resolve(futures: list[asyncio.Future[int]], seq: int, error: BaseException | None) -> None:
    for future in futures:
        if future.done():  # the request was cancelled (client gone)
            continue
        if error is None:
            future.set_result(seq)
        else:
            future.set_exception(error)
