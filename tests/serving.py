"""``jrp serve`` as a real child process, for the tests and the benchmarks (``bench/run.py``).

Ready means: every process logged ``service.started`` (with ``--workers N`` the parent starts
a service too, for migrations and its checks, then each worker its own) and ``/readyz``
answers 200. Output goes to a log file, read back when the server fails to start.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from engine.children import CHILD_MARK


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


WRITER_PROCESS = b"engine.decisions.writer_process"
"""In the command line of a decision writer process (``engine/decisions/writer_process.py``)."""
AS_SHIPPED = {"JRP_DECISION_WRITER": "process", "JRP_CHECKPOINT_RUNNER": "process"}
"""``jrp serve``'s defaults, which the test suite's own services do not use (conftest.py)."""
CHILD_PROCESS = CHILD_MARK.encode()
"""In the command line of every child of a serving process (``engine/children.py``)."""


def _children(pid: int) -> list[tuple[int, bytes]]:
    """``pid``'s child processes and their command lines (not multiprocessing's resource
    tracker)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if not re.search(rf"^PPid:\s+{pid}$", status.read_text(), re.MULTILINE):
                continue
            command = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in command:
            found.append((int(status.parent.name), command))
    return found


def child_pids(pid: int) -> list[int]:
    """uvicorn's worker processes under ``pid`` (not a serving process's own children)."""
    return [child for child, command in _children(pid) if CHILD_PROCESS not in command]


def _descendants(pid: int) -> list[tuple[int, bytes]]:
    found = []
    for child, command in _children(pid):
        found += [(child, command), *_descendants(child)]
    return found


def descendant_pids(pid: int) -> list[int]:
    """Every process under ``pid``: workers, decision writers, checkpoint runners."""
    return [child for child, _command in _descendants(pid)]


def module_pids(pid: int, module: bytes) -> list[int]:
    """The child processes running ``module`` (``engine/children.py``) at any depth under
    ``pid``."""
    return [child for child, command in _descendants(pid) if module in command]


def writer_pids(pid: int) -> list[int]:
    """The decision writer processes at any depth under ``pid``."""
    return module_pids(pid, WRITER_PROCESS)


class ServerNotReady(RuntimeError):
    """The server exited or did not get ready in time; the message ends with its log."""


class ServeProcess:
    """``command --port P [--workers N]`` in a child process until ``stop`` (or ``with``)."""

    def __init__(
        self,
        command: list[str],
        log: Path,
        *,
        workers: int = 1,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        more = ["--workers", str(workers)] if workers != 1 else []
        with log.open("w") as output:
            self.process = subprocess.Popen(
                [*command, "--port", str(self.port), *more],
                stdout=output,
                stderr=subprocess.STDOUT,
                # As shipped: decisions committed, and checkpoints made, by child
                # processes (the test suite's own services use threads, tests/conftest.py).
                env={**os.environ, **AS_SHIPPED, **(env or {})},
                cwd=cwd,
            )
        self.started = time.perf_counter()

    def wait_ready(self, timeout: float) -> float:
        """Seconds from start until ready; ServerNotReady when it exits or times out."""
        wanted = self.workers if self.workers == 1 else self.workers + 1
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise ServerNotReady(f"server exited: {self.tail()}")
            if self.log.read_text(errors="replace").count("service.started") >= wanted:
                try:
                    if httpx.get(f"{self.base}/readyz", timeout=5).status_code == 200:
                        return time.perf_counter() - self.started
                except httpx.TransportError:
                    pass
            time.sleep(0.2)
        raise ServerNotReady(f"server not ready within {timeout:.0f} s: {self.tail()}")

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def pids(self) -> list[int]:
        """The parent, its workers and their child processes (the service's CPU)."""
        return [self.process.pid, *descendant_pids(self.process.pid)]

    def writer_pids(self) -> list[int]:
        """The decision writer processes (one per serving process)."""
        return writer_pids(self.process.pid)

    def worker_pids(self) -> list[int]:
        """The processes serving requests."""
        return [self.process.pid] if self.workers == 1 else child_pids(self.process.pid)

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM (graceful: queued decisions are committed), SIGKILL after ``timeout``."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
