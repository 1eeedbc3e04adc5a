"""Proving a run of consecutive leaves at once: what a feed page needs (docs/exchange.md).

A page holds every record of its range, so the receiver knows every leaf hash in
``[lo, hi)``. The proof is the hashes of the subtrees of ``MTH(D[0:size])`` (RFC 9162 §2.1.1
recursion) that lie wholly outside the range, left to right: with the leaves, enough to
recompute the root. O(log size) hashes for the whole page, where one inclusion proof per
record (``merkle.inclusion_proof``) costs O(count · log size) to make, send and check.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from engine.verifiable.merkle import NodeSource, leaf_hash, node_hash, split_point, subtree_hash


def range_proof(source: NodeSource, lo: int, hi: int, size: int) -> list[bytes]:
    """The subtree hashes outside ``[lo, hi)`` needed to rebuild the root of ``size`` leaves."""
    if not 0 <= lo < hi <= size:
        raise ValueError(f"no range [{lo}, {hi}) in a tree of {size}")
    proof: list[bytes] = []
    _collect(source, lo, hi, 0, size, proof)
    return proof


def _collect(source: NodeSource, lo: int, hi: int, start: int, end: int, out: list[bytes]) -> None:
    if hi <= start or end <= lo:
        out.append(subtree_hash(source, start, end))
        return
    if lo <= start and end <= hi:
        return
    k = split_point(end - start)
    _collect(source, lo, hi, start, start + k, out)
    _collect(source, lo, hi, start + k, end, out)


def range_root(
    records: Sequence[bytes], lo: int, size: int, proof: Sequence[bytes]
) -> bytes | None:
    """The root rebuilt from the records (their hashes, leaves ``lo``…) and the proof; None
    when the proof has too few or too many hashes."""
    hi = lo + len(records)
    if not records or not 0 <= lo < hi <= size:
        return None
    leaves = [leaf_hash(record) for record in records]
    nodes = iter(proof)
    try:
        root = _rebuild(leaves, lo, hi, 0, size, nodes)
    except StopIteration:
        return None
    if next(nodes, None) is not None:
        return None
    return root


def _rebuild(
    leaves: list[bytes], lo: int, hi: int, start: int, end: int, nodes: Iterator[bytes]
) -> bytes:
    if hi <= start or end <= lo:
        return next(nodes)
    if end - start == 1:
        return leaves[start - lo]
    k = split_point(end - start)
    left = _rebuild(leaves, lo, hi, start, start + k, nodes)
    return node_hash(left, _rebuild(leaves, lo, hi, start + k, end, nodes))
