"""Checking a feed page against the pinned key and the cursor, before anything is applied.

Pure: the page (JSON as served), the peer and its cursor in; the verified records out, or
``ExchangeRefused`` saying why (docs/exchange.md#jrp-exchange-pull).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.exchange.peers import Peer
from engine.exchange.range_proof import range_root
from engine.verifiable.checkpoints import Checkpoint
from engine.verifiable.event_chain import GENESIS_HASH, event_hash
from engine.verifiable.merkle import verify_consistency


class ExchangeRefused(Exception):
    """A page (or a pull) refused: nothing of it is applied; the message says why."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the pulls of one peer stand: the last record applied and the last checkpoint."""

    after: int = 0
    next_index: int = 0
    last_hash: str = GENESIS_HASH
    size: int = 0
    root_hash: str | None = None

    @classmethod
    def of(cls, pulled: Mapping[str, Any] | None) -> Cursor:
        """The cursor an ``exchange.pulled`` payload left (the start when None)."""
        if pulled is None:
            return cls()
        return cls(
            int(pulled["after"]),
            int(pulled["next_index"]),
            str(pulled["last_hash"]),
            int(pulled["checkpoint"]["size"]),
            str(pulled["checkpoint"]["root_hash"]),
        )


@dataclass(frozen=True, slots=True)
class VerifiedRecord:
    """A record whose content is proven: its seq, the publisher's list and the event."""

    seq: int
    list: str
    type: str
    subject_id: str | None
    payload: dict[str, Any]
    department: str | None


@dataclass(frozen=True, slots=True)
class VerifiedPage:
    checkpoint: Checkpoint
    after: int
    upto: int
    first_index: int
    count: int
    last_hash: str
    records: list[VerifiedRecord]


def verify_page(page: Any, peer: Peer, cursor: Cursor) -> VerifiedPage:
    """The page's content records, once every check holds; ExchangeRefused otherwise."""
    try:
        return _verify(page, peer, cursor)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ExchangeRefused(
            f"malformed page from {peer.name}: {type(exc).__name__}: {exc}"
        ) from exc


def _verify(page: Mapping[str, Any], peer: Peer, cursor: Cursor) -> VerifiedPage:
    name = peer.name
    checkpoint = Checkpoint.parse(page["checkpoint"])
    if checkpoint.log != "events":
        raise ExchangeRefused(f"{name}: the page's checkpoint is of the {checkpoint.log} log")
    problem = checkpoint.signature_problem(peer.public_key)
    if problem is not None:
        raise ExchangeRefused(
            f"{name}: the checkpoint's signature does not hold under the pinned key "
            f"{peer.key_id}: {problem}"
        )
    size, root = checkpoint.size, bytes.fromhex(checkpoint.root_hash)
    if size < cursor.size:
        raise ExchangeRefused(
            f"{name} rewrote its history: its checkpoint has {size} records, fewer than the "
            f"{cursor.size} of one accepted before"
        )
    if cursor.size and cursor.root_hash is not None:
        proof = [bytes.fromhex(node) for node in page["consistency"]]
        if not verify_consistency(cursor.size, size, bytes.fromhex(cursor.root_hash), root, proof):
            raise ExchangeRefused(
                f"{name} rewrote its history: its tree of {size} records does not extend the "
                f"tree of {cursor.size} records accepted before (consistency proof fails)"
            )
    after, first_index = int(page["after"]), int(page["first_index"])
    if after != cursor.after or first_index != cursor.next_index:
        raise ExchangeRefused(
            f"{name}: gap: the page starts after seq {after} (record {first_index}), the cursor "
            f"is at seq {cursor.after} (record {cursor.next_index})"
        )
    records = list(page["records"])
    if first_index + len(records) > size:
        raise ExchangeRefused(f"{name}: the page reaches past its checkpoint ({size} records)")
    previous, last_seq = cursor.last_hash, after
    verified: list[VerifiedRecord] = []
    for offset, record in enumerate(records):
        seq = int(record["seq"])
        if seq <= last_seq:
            raise ExchangeRefused(f"{name}: seq {seq} does not follow seq {last_seq}")
        if record["prev_hash"] != previous:
            what = "the last record applied" if offset == 0 else f"seq {last_seq}"
            raise ExchangeRefused(
                f"{name}: gap or rewritten history at seq {seq}: its prev_hash is not the hash "
                f"of {what}"
            )
        record_hash = str(record["hash"])
        event = record.get("event")
        if event is not None:
            recomputed = event_hash(
                record["prev_hash"],
                seq=seq,
                type=event["type"],
                subject_id=event["subject_id"],
                payload=event["payload"],
                actor=event["actor"],
                department=event["department"],
                recorded_at=dt.datetime.fromisoformat(event["recorded_at"]),
            )
            if recomputed != record_hash:
                raise ExchangeRefused(f"{name}: seq {seq}: the event does not hash to its hash")
            verified.append(
                VerifiedRecord(seq, str(record["list"]), str(event["type"]), event["subject_id"],
                               dict(event["payload"]), event["department"])
            )  # fmt: skip
        previous, last_seq = record_hash, seq
    if records:
        leaves = [bytes.fromhex(str(record["hash"])) for record in records]
        proof = [bytes.fromhex(node) for node in page["range_proof"]]
        if range_root(leaves, first_index, size, proof) != root:
            raise ExchangeRefused(
                f"{name}: the records of seq {records[0]['seq']}..{last_seq} are not the leaves "
                f"{first_index}..{first_index + len(records) - 1} of the signed tree of {size} "
                "records (range proof fails)"
            )
    upto = int(page["upto"])
    if upto != last_seq:
        raise ExchangeRefused(
            f"{name}: the page says it ends at seq {upto}, its records at {last_seq}"
        )
    return VerifiedPage(checkpoint, after, upto, first_index, len(records), previous, verified)
