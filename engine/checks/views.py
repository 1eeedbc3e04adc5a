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
    """One hit as the contract shapes it (plus the entry's initiating department)."""
    memo, measure, entry = hit.memorandum, hit.measure, hit.entry
    if entry is None or hit.derivation is not None:
        return _subject_hit_view(hit)
    return {
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
        "entry_id": entry.id,
        "list": entry.list,
        "initiating_department": entry.department,
        "via": None if hit.via is None else hit.via.to_dict(),
        "until": None if hit.until is None else hit.until.isoformat(),
    }


def _subject_hit_view(hit: Hit) -> dict[str, Any]:
    """A hit from the subject's grade or clean record: no stored entry (docs/grades.md)."""
    memo, measure = hit.memorandum, hit.measure
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
        "entry_id": None,
        "list": None if hit.entry is None else hit.entry.list,
        "initiating_department": None if hit.entry is None else hit.entry.department,
        "via": None,
        "until": None,
    }
    if hit.grade is not None:
        view["grade"] = hit.grade
    if hit.derivation is not None:
        view["derivation_id"] = hit.derivation
    return view
