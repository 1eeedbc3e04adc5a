"""The hash-chained decision log: every check's answer, group-committed, verifiable, queryable.

- ``DecisionLog``: the thread-safe group-committing writer (``append``, ``append_async``).
- ``verify``: re-hash the chain and find the first broken position.
- ``decision_item``, ``decisions_page`` (and, on a session, ``get_decision``,
  ``require_decision``, ``list_decisions``, ``to_item``): the audit reads.
- ``report_feedback``, ``feedback_report`` (``record_feedback``, ``feedback_stats``):
  implementing departments' feedback.
- canonical encoding and hashing: ``engine.decisions.canonical``.
"""

from engine.decisions.canonical import GENESIS_HASH
from engine.decisions.feedback import (
    feedback_item,
    feedback_report,
    feedback_stats,
    record_feedback,
    report_feedback,
)
from engine.decisions.queries import (
    MAX_LIST_LIMIT,
    decision_item,
    decisions_page,
    get_decision,
    list_decisions,
    require_decision,
    to_item,
)
from engine.decisions.records import DecisionDraft, StoredDecision
from engine.decisions.verify import VerifyResult, verify
from engine.decisions.writer import DecisionLog, chain_lock

__all__ = [
    "GENESIS_HASH",
    "MAX_LIST_LIMIT",
    "DecisionDraft",
    "DecisionLog",
    "StoredDecision",
    "VerifyResult",
    "chain_lock",
    "decision_item",
    "decisions_page",
    "feedback_item",
    "feedback_report",
    "feedback_stats",
    "get_decision",
    "list_decisions",
    "record_feedback",
    "report_feedback",
    "require_decision",
    "to_item",
    "verify",
]
