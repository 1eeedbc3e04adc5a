"""Child processes of a serving process: the decision writer (``engine.decisions.
writer_process``) and the checkpoint runner (``engine.verifiable.checkpoint_process``).

Both exist for one reason: a serving process is bound by its one GIL, and work done in a
thread of it (hashing, the driver's statements) holds up the event loop in 5 ms slices
(docs/performance.md, session 12). A child runs the same code on another core.

A child is ``python -c BOOT READ_FD WRITE_FD``: it imports this very code (not whatever
``engine`` its working directory holds), reads its configuration as the first message on
its pipe, and serves until it reads ``None`` or the pipe ends (its parent is gone, ``kill -9``
included). Messages are framed as ``multiprocessing.connection`` frames them (a length, then
a pickle): the child reads and writes with a ``Connection``; the parent writes raw frames,
so that an event loop can write them without blocking. Every child's command line ends with
``CHILD_MARK``.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import engine as engine_package
from engine import logging as logging_setup

CHILD_MARK = "jrp child process"
"""At the end of every child's command line (tests/serving.py tells children from workers)."""

HEADER = struct.Struct("!i")
"""A frame's length (``multiprocessing.connection``'s, for frames under 2 GiB)."""

_SOURCE_ROOT = str(Path(engine_package.__file__).resolve().parent.parent)


def frame(message: Any) -> bytes:
    """``message`` as one frame."""
    payload = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload)) + payload


def spawn(module: str, config: dict[str, Any]) -> tuple[subprocess.Popen[bytes], int, int]:
    """``module.main`` in a child, ``config`` (plus this process's logging) its first message;
    the child, and the parent's (blocking) write and read ends of its pipes."""
    boot = (
        f"import sys; sys.path.insert(0, {_SOURCE_ROOT!r}); "
        f"from {module} import main; sys.exit(main(sys.argv[1:]))  # {CHILD_MARK}"
    )
    child_reads, parent_writes = os.pipe()
    parent_reads, child_writes = os.pipe()
    try:
        process = subprocess.Popen(
            [sys.executable, "-c", boot, str(child_reads), str(child_writes)],
            pass_fds=(child_reads, child_writes),
            stdin=subprocess.DEVNULL,
        )
    except BaseException:
        for fd in (child_reads, parent_writes, parent_reads, child_writes):
            os.close(fd)
        raise
    os.close(child_reads)
    os.close(child_writes)
    os.write(parent_writes, frame({**config, "logging": logging_setup.configured()}))
    return process, parent_writes, parent_reads


def child_pipes(argv: list[str]) -> tuple[Connection, Connection, dict[str, Any] | None]:
    """In the child: its pipes from and to the parent, and its configuration (None when the
    parent went away first). Logging is set up as the parent's; SIGINT and SIGTERM are
    ignored: a terminal's Ctrl-C or a service manager's stop reaches the whole process group,
    and a child must finish what its parent gave it, not die in the middle of it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from_parent = Connection(int(argv[0]), writable=False)
    to_parent = Connection(int(argv[1]), readable=False)
    try:
        config: dict[str, Any] = from_parent.recv()
    except EOFError:
        return from_parent, to_parent, None
    if config["logging"] is not None:
        logging_setup.configure(**config["logging"])
    return from_parent, to_parent, config
