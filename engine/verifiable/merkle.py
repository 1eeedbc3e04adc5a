"""Merkle trees as RFC 9162 §2.1 defines them: hashes, proofs, and their verification.

A tree over ``n`` leaves is read through a ``NodeSource``: any object that gives the hash of
a *complete, aligned* subtree (height ``h``, index ``k``: the leaves ``k·2^h .. (k+1)·2^h - 1``).
Every other node of the RFC's recursive definitions (``MTH``, ``PATH``, ``PROOF``) is
computed from those: splitting ``D[0:n]`` at the largest power of two ``k < n`` only ever
yields ranges whose start is a multiple of their largest power-of-two part, so each range
is either a stored complete subtree or splits again. A proof thus reads O(log n) nodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


def leaf_hash(leaf: bytes) -> bytes:
    """``SHA-256(0x00 || leaf)``: the hash of a one-leaf tree."""
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def leaf_hashes_of_hex(records: Iterable[str]) -> list[bytes]:
    """``leaf_hash`` of each hex-encoded record hash, in one comprehension (bulk builds)."""
    sha256, prefix, fromhex = hashlib.sha256, LEAF_PREFIX, bytes.fromhex
    return [sha256(prefix + fromhex(record)).digest() for record in records]


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH({}) = SHA-256() (RFC 9162 §2.1.1)."""


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` ≥ 2)."""
    if n < 2:
        raise ValueError("a split needs at least two leaves")
    return 1 << ((n - 1).bit_length() - 1)


class NodeSource(Protocol):
    """Where complete subtree hashes come from (stored tiles, or leaves in memory)."""

    def node(self, height: int, index: int) -> bytes:
        """The hash of the complete subtree over leaves ``index·2^height`` .. + ``2^height``."""
        ...


def subtree_hash(source: NodeSource, start: int, end: int) -> bytes:
    """``MTH(D[start:end])`` for a range reached by the RFC's recursion (or start 0)."""
    n = end - start
    if n <= 0:
        raise ValueError("empty range")
    if n & (n - 1) == 0 and start % n == 0:
        return source.node(n.bit_length() - 1, start // n)
    k = split_point(n)
    return node_hash(subtree_hash(source, start, start + k), subtree_hash(source, start + k, end))


def root_hash(source: NodeSource, size: int) -> bytes:
    """``MTH(D[0:size])``; the empty tree's root is SHA-256 of nothing."""
    return EMPTY_ROOT if size == 0 else subtree_hash(source, 0, size)


def inclusion_proof(source: NodeSource, index: int, size: int) -> list[bytes]:
    """``PATH(index, D[0:size])`` (RFC 9162 §2.1.3.1), the leaf's sibling first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    path: list[bytes] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = split_point(end - start)
        if m < k:
            path.append(subtree_hash(source, start + k, end))
            end = start + k
        else:
            path.append(subtree_hash(source, start, start + k))
            start, m = start + k, m - k
    path.reverse()  # collected top-down; PATH lists the deepest sibling first
    return path


def consistency_proof(source: NodeSource, first: int, second: int) -> list[bytes]:
    """``PROOF(first, D[0:second])`` (RFC 9162 §2.1.4.1); empty when ``first == second``."""
    if not 0 < first <= second:
        raise ValueError(f"no consistency proof from {first} to {second}")
    proof: list[bytes] = []
    start, end, m, complete = 0, second, first, True
    while m != end - start:
        n = end - start
        k = split_point(n)
        if m <= k:
            proof.append(subtree_hash(source, start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(source, start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        proof.append(subtree_hash(source, start, end))
    proof.reverse()
    return proof


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``path`` prove leaf hash ``leaf`` at ``index`` under ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does ``proof`` show the tree of ``first`` is a prefix of ``second``?"""
    if not 0 < first <= second:
        return False
    if first == second:
        return len(proof) == 0 and first_root == second_root
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


class LeafHashes:
    """A ``NodeSource`` over leaf hashes held in memory (tests, small verifications)."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self._levels: list[list[bytes]] = [list(leaves)]

    def node(self, height: int, index: int) -> bytes:
        while len(self._levels) <= height:
            below = self._levels[-1]
            self._levels.append(
                [node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            )
        return self._levels[height][index]


class Frontier:
    """The compact range of a growing tree: one hash per set bit of its size (streaming roots).

    ``append`` costs amortised two hashes; ``root`` O(log n). Independent of the tiles: what the
    tile builder's roots are checked against (tests, ``bench/merkle.py --check``).
    """

    def __init__(self) -> None:
        self.size = 0
        self._stack: list[bytes] = []  # roots of the complete subtrees, largest first

    def append(self, leaf: bytes) -> None:
        """Add a leaf hash."""
        self._stack.append(leaf)
        n = self.size
        while n & 1:
            right = self._stack.pop()
            self._stack[-1] = node_hash(self._stack[-1], right)
            n >>= 1
        self.size += 1

    def root(self) -> bytes:
        """``MTH`` of the leaves appended so far."""
        if not self._stack:
            return EMPTY_ROOT
        r = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            r = node_hash(left, r)
        return r
