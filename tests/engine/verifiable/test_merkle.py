# ruff: noqa: RUF005 (the RFC's definitions as it writes them: PATH(...) : MTH(...))
"""RFC 9162 §2.1 trees and proofs against the RFC's recursive definitions, written out here
independently (MTH, PATH, PROOF/SUBPROOF), for every leaf and every pair of sizes ≤ 33, and
the stored tiles against both."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy.engine import Engine

from engine.verifiable.merkle import (
    Frontier,
    LeafHashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from engine.verifiable.tiles import TileBuilder, TileReader, load_open_tiles, write_tiles

N = 33
DATA = [hashlib.sha256(str(i).encode()).digest() for i in range(N)]


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def mth(d: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1, literally."""
    n = len(d)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + d[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _h(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of §2.1.3.1."""
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of §2.1.4.1."""
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


def test_known_vectors() -> None:
    # RFC 6962 / certificate-transparency-go test data: leaves are these byte strings.
    leaves = [bytes.fromhex(x) for x in ("", "00", "10", "2021", "3031", "40414243",
              "5051525354555657", "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
    source = LeafHashes([leaf_hash(x) for x in leaves])
    assert root_hash(source, 8).hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )
    assert root_hash(source, 1).hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert root_hash(LeafHashes([]), 0).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_roots_proofs_and_verification_for_every_size_up_to_33() -> None:
    leaves = [leaf_hash(x) for x in DATA]
    source = LeafHashes(leaves)
    frontier = Frontier()
    for n in range(1, N + 1):
        frontier.append(leaves[n - 1])
        root = mth(DATA[:n])
        assert root_hash(source, n) == root
        assert frontier.root() == root
        for m in range(n):
            proof = inclusion_proof(source, m, n)
            assert proof == path(m, DATA[:n])
            assert verify_inclusion(leaves[m], m, n, proof, root)
            assert not verify_inclusion(leaves[m], m, n, proof, _h(root))
            assert not verify_inclusion(leaves[(m + 1) % n], m, n, proof, root) or n == 1
            if proof:
                bad = [*proof]
                bad[0] = _h(bad[0])
                assert not verify_inclusion(leaves[m], m, n, bad, root)
                assert not verify_inclusion(leaves[m], m, n, proof[:-1], root)
        for m in range(1, n + 1):
            proof = consistency_proof(source, m, n)
            assert proof == (subproof(m, DATA[:n], True) if m < n else [])
            first_root = mth(DATA[:m])
            assert verify_consistency(m, n, first_root, root, proof)
            assert not verify_consistency(m, n, _h(first_root), root, proof)
            assert not verify_consistency(m, n, first_root, _h(root), proof)
            if proof:
                assert not verify_consistency(m, n, first_root, root, proof[1:])


@pytest.mark.parametrize("chunks", [[33], [1] * 33, [5, 11, 17], [16, 16, 1]])
def test_stored_tiles_give_the_same_proofs(engine: Engine, chunks: list[int]) -> None:
    leaves = [leaf_hash(x) for x in DATA]
    size = 0
    with engine.begin() as connection:
        for count in chunks:
            builder = TileBuilder(size, load_open_tiles(connection, "decisions", size))
            builder.extend(leaves[size : size + count])
            write_tiles(connection, "decisions", builder.tiles())
            size += count
            assert root_hash(TileReader(None, "decisions", builder.overlay()), size) == mth(
                DATA[:size]
            )
    with engine.connect() as connection:
        reader = TileReader(connection, "decisions")
        for n in range(1, N + 1):
            assert root_hash(reader, n) == mth(DATA[:n])
            for m in range(n):
                assert inclusion_proof(reader, m, n) == path(m, DATA[:n])
            for m in range(1, n):
                assert consistency_proof(reader, m, n) == subproof(m, DATA[:n], True)
