"""Range proofs against the RFC 9162 tree of ``merkle`` (every range of small trees)."""

from __future__ import annotations

import hashlib

import pytest

from engine.exchange.range_proof import range_proof, range_root
from engine.verifiable.merkle import LeafHashes, root_hash


def _records(n: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).digest() for i in range(n)]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 32, 33])
def test_every_range_rebuilds_the_root(size: int) -> None:
    records = _records(size)
    tree = LeafHashes([hashlib.sha256(b"\x00" + r).digest() for r in records])
    root = root_hash(tree, size)
    for lo in range(size):
        for hi in range(lo + 1, size + 1):
            proof = range_proof(tree, lo, hi, size)
            assert range_root(records[lo:hi], lo, size, proof) == root, (lo, hi)


def test_a_changed_leaf_or_proof_does_not() -> None:
    records = _records(21)
    tree = LeafHashes([hashlib.sha256(b"\x00" + r).digest() for r in records])
    root = root_hash(tree, 21)
    proof = range_proof(tree, 5, 12, 21)
    changed = list(records[5:12])
    changed[3] = hashlib.sha256(b"forged").digest()
    assert range_root(changed, 5, 21, proof) != root
    assert range_root(records[5:12], 6, 21, proof) != root  # shifted by one
    assert range_root(records[5:12], 5, 21, proof[:-1]) is None  # too few
    assert range_root(records[5:12], 5, 21, [*proof, root]) is None  # too many
    assert range_root([], 5, 21, proof) is None
