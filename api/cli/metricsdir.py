"""``PROMETHEUS_MULTIPROC_DIR`` for ``jrp serve``: set by the service itself, emptied at start.

Every serving process (the one of ``--workers 1``, or each of N workers) writes its metric
values to files in that directory, and ``GET /metrics`` reads them all (``engine.metrics``).
It must be set before the first metric exists, so ``serve`` calls ``prepare`` first thing.
This module imports nothing of prometheus_client for that reason.

- ``PROMETHEUS_MULTIPROC_DIR`` already set: that directory (created when missing); the
  metric files (``*.db``) a previous run left there are removed, nothing else.
- Otherwise a new temporary directory, removed when the service stops.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare() -> tuple[Path, bool]:
    """The directory, set in the environment and empty of metric files; True when this run
    made it."""
    given = os.environ.get(ENV) or os.environ.get(ENV.lower())
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):  # a previous run's counts are not this run's
            stale.unlink(missing_ok=True)
        made = False
    else:
        directory = Path(tempfile.mkdtemp(prefix="jrp-metrics-"))
        made = True
    os.environ[ENV] = str(directory)
    return directory, made


@contextmanager
def metrics_directory() -> Iterator[Path]:
    """``prepare``, and the directory it made removed when the block ends, also by SIGTERM.

    uvicorn stops gracefully on SIGTERM and then raises the signal again once its own handler
    is gone, which would end the process before any ``finally``: the handler installed here
    removes the directory first, then lets the signal end the process as it would have.
    """
    directory, made = prepare()
    if not made:
        yield directory
        return

    def remove() -> None:
        shutil.rmtree(directory, ignore_errors=True)

    def on_term(signum: int, _frame: FrameType | None) -> None:
        remove()
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield directory
    finally:
        signal.signal(signal.SIGTERM, previous)
        remove()
