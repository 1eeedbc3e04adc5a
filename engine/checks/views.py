"""A check's answer as the contract shapes it (what is logged and returned)."""

from __future__ import annotations

from typing import Any

from engine.checks.evaluation import Evaluation, Hit
from engine.policy.runtime import PolicyRuntime


def response_body(
    evaluation: Evaluation, runtime: PolicyRuntime, request: dict[str, Any], *, decision_id: str
) -> dict[str, Any]:
    """Shape an evaluation as the contract's response."""
    body = {
        "decision_id": decision_id,
        "subject_id": request["subject_id"],
        "known_subject": evaluation.known_subject,
        "matter": request["matter"],
        "as_of": request["as_of"],
        "outcome": evaluation.outcome,
        "binding_outcome": evaluation.binding_outcome,
        "incentives_withheld": evaluation.incentives_withheld,
        "hits": [hit_view(hit) for hit in evaluation.hits],
        "policy_version": runtime.version,
    }
    if evaluation.explanation is not None:
        body["explanation"] = [item.to_dict() for item in evaluation.explanation]
    if evaluation.grade is not None:
        # Only when a grade trigger was consulted: answers without grades keep their bytes.
        body["grade"] = evaluation.grade.summary()
    return body


def hit_view(hit: Hit) -> dict[str, Any]:
    """One hit as the contract shapes it (plus the entry's initiating department).

    A hit of a grade trigger or of a clean record (docs/grades.md) has no stored entry:
    ``entry_id`` null, and ``grade`` or ``derivation_id`` (only then) naming what fired it.
    """
    memo, measure, entry = hit.memorandum, hit.measure, hit.entry
    view: dict[str, Any] = {
        "memorandum_id": memo.id,
        "memorandum_title": memo.title,
        "doc_no": memo.doc_no,
        "kind": memo.kind.value,
        "measure_id": measure.id,
        "measure_text": measure.text,
        "effect": measure.effect.value,
        "mandatory": measure.mandatory,
        "implementing": list(measure.implementing),
        "legal_basis": measure.legal_basis,
        "entry_id": None if entry is None or hit.derivation is not None else entry.id,
        "list": None if entry is None else entry.list,
        "initiating_department": None if entry is None else entry.department,
        "via": None if hit.via is None else hit.via.to_dict(),
        "until": None if hit.until is None else hit.until.isoformat(),
    }
    if hit.grade is not None:
        view["grade"] = hit.grade
    if hit.derivation is not None:
        view["derivation_id"] = hit.derivation
    if entry is not None and entry.origin is not None and hit.derivation is None:
        view["origin"] = dict(entry.origin)  # an imported entry (docs/exchange.md)
    return view
