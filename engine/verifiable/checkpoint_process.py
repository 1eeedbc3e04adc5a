"""The checkpoint rounds in a child process (``VerifiableLogs(runner="process")``).

A round reads the logs' new records, hashes them into the Merkle trees and signs a
checkpoint: at city scale ~50 ms of CPU every 5 s. Run in a thread of the serving process it
shares the GIL with the event loop, which then ran at half speed for ~100 ms every round:
the checks' p99 was made of those moments (docs/performance.md, session 12). Here the rounds
run in a child (``engine.children``) with its own connection, on another core; the parent
sends the signing key with the configuration, and ``None`` (or its own end) to stop, after
the round in hand.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from engine import children
from engine.store import db
from engine.verifiable.service import VerifiableLogs


def main(argv: list[str]) -> int:
    """The child: a round every ``interval`` seconds until told to stop or orphaned."""
    from_parent, _to_parent, config = children.child_pipes(argv)
    if config is None:
        return 0
    engine = db.create_db_engine(config["url"])
    logs = VerifiableLogs(engine)
    raw_key = config["key"]
    logs.key = None if raw_key is None else Ed25519PrivateKey.from_private_bytes(raw_key)
    try:
        while True:
            logs.round()
            if from_parent.poll(config["interval"]):
                try:
                    if from_parent.recv() is None:
                        break
                except EOFError:
                    break  # the parent is gone
    finally:
        engine.dispose()
    return 0
