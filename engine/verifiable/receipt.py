"""Checking a receipt offline: a decision, its inclusion proof, a checkpoint and a public key.

The decision is the audit item as ``GET /v1/decisions/{id}`` serves it; its record hash is
recomputed from its fields (``engine.decisions.canonical.record_hash``), never taken from
the item, so one changed byte of the decision changes the leaf. The proof is
``GET /v1/decisions/{id}/proof``'s answer, the checkpoint ``GET /v1/audit/checkpoint``'s (or
the one the proof answer embeds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from engine.decisions.canonical import record_hash
from engine.verifiable.checkpoints import Checkpoint
from engine.verifiable.merkle import leaf_hash, verify_inclusion


def receipt_problem(
    decision: Any, proof: Any, checkpoint: Any, public_key: Ed25519PublicKey
) -> str | None:
    """None when the receipt holds, else the first reason it does not."""
    if not isinstance(decision, Mapping) or not isinstance(proof, Mapping):
        return "the decision and the proof must be JSON objects"
    try:
        parsed = Checkpoint.parse(checkpoint)
    except ValueError as exc:
        return f"the checkpoint is malformed: {exc}"
    if parsed.log != "decisions":
        return "the checkpoint is not of the decisions log"
    try:
        item = {**decision, "decided_at": dt.datetime.fromisoformat(decision["decided_at"])}
        recomputed = record_hash(item)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        return f"the decision's record hash cannot be computed: {type(exc).__name__} {exc}"
    if decision.get("hash") != recomputed:
        return "the decision's hash is not the hash of its fields (the decision was changed)"
    try:
        index, size = proof["leaf_index"], proof["tree_size"]
        path = [bytes.fromhex(node) for node in proof["audit_path"]]
        claimed_leaf = bytes.fromhex(proof["leaf_hash"])
    except (KeyError, TypeError, ValueError) as exc:
        return f"the proof is malformed: {type(exc).__name__} {exc}"
    embedded = proof.get("checkpoint")
    if embedded is not None and embedded != checkpoint:
        return "the checkpoint the proof names is not the checkpoint given"
    if type(index) is not int or type(size) is not int:
        return "the proof's leaf_index and tree_size must be integers"
    if index != decision.get("seq", 0) - 1:
        return f"the proof is for leaf {index}, the decision is seq {decision.get('seq')}"
    leaf = leaf_hash(bytes.fromhex(recomputed))
    if claimed_leaf != leaf:
        return "the proof's leaf_hash is not the decision's"
    if size != parsed.size:
        return f"the proof is against size {size}, the checkpoint is of size {parsed.size}"
    if not verify_inclusion(leaf, index, size, path, bytes.fromhex(parsed.root_hash)):
        return "the inclusion proof does not lead to the checkpoint's root"
    signature = parsed.signature_problem(public_key)
    if signature is not None:
        return f"the checkpoint does not hold: {signature}"
    return None
