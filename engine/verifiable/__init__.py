"""Verifiable logs (docs/architecture.md#verifiable-logs): the event chain, Merkle trees over
both logs (RFC 9162 §2.1), signed checkpoints, proofs, receipts, and the start-up guard
against a truncated log."""
