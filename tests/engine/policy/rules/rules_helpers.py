"""Test helpers for engine.rules: small bundles from trigger lists, and a reference evaluator.

``make_bundle`` writes the documents a policy author would (vocabulary, one memorandum per file,
derivations), filling in what triggers do not depend on, and loads them with the real loader
(or, for bundles of thousands of memoranda, validates them with the schema models directly).
``reference_holds`` states the condition semantics documented in engine.rules.conditions in
plain Python; tests compare the rule engine against it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from measures.bundle import Bundle, BundleTrigger, Measure, Memorandum
from measures.loader import parse_bundle
from measures.schema import (
    AllOf,
    Comparison,
    Condition,
    DerivationsFile,
    MeasureDefinition,
    MemorandumFile,
    Vocabulary,
)

Memo = Mapping[str, Any]
"""``{"id": ..., "triggers": [{"list": ..., "subject_kinds"?: [...], "when"?: {...}}]}``."""


def make_bundle(
    memoranda: Sequence[Memo],
    *,
    derivations: Sequence[Mapping[str, Any]] = (),
    lists: Iterable[str] = (),
    salt: str = "",
    loader: bool = True,
) -> Bundle:
    """A valid bundle with these memoranda (in this order) and derivations.

    ``salt`` makes another version of equal content. ``loader=False`` skips YAML and the
    loader's cross-file checks (seconds for thousands of files) and builds the ``Bundle`` from
    the schema models directly.
    """
    codes = dict.fromkeys(lists)
    for memo in memoranda:
        codes.update(dict.fromkeys(t["list"] for t in memo["triggers"]))
    for derivation in derivations:
        codes.update(dict.fromkeys((derivation["from_list"], derivation["derive_list"])))
    documents: dict[str, Any] = {
        "vocabulary.yaml": {
            "departments": {"court": "法院"},
            "lists": {code: {"name": code, "kind": "black", "owners": ["court"]} for code in codes},
            "matters": {"bidding": "招标投标"},
        }
    }
    for number, memo in enumerate(memoranda):
        documents[f"memoranda/{number:05d}-{memo['id']}.yaml"] = {
            "id": memo["id"],
            "title": memo.get("title", memo["id"]),
            "doc_no": "测试〔2020〕1号",
            "kind": "punishment",
            "issued_on": dt.date(2020, 1, 1),
            "triggers": list(memo["triggers"]),
            "measures": [
                {
                    "id": f"{memo['id']}-notice",
                    "text": "通报",
                    "effect": "notice",
                    "matters": ["bidding"],
                    "implementing": ["court"],
                }
            ],
        }
    if derivations:
        documents["derivations.yaml"] = {"derivations": list(derivations)}
    if not loader:
        return _direct(documents, salt)
    files = {path: _dump(document) for path, document in documents.items()}
    files["vocabulary.yaml"] += f"# {salt}\n".encode()
    return parse_bundle(files)


def _dump(document: Any) -> bytes:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode("utf-8")


def memorandum_of(memo: MemorandumFile, path: str) -> Memorandum:
    """A memorandum file as the bundle holds it, without lint (catalogue refs are skipped)."""
    measures = tuple(
        Measure(
            id=m.id,
            memorandum_id=memo.id,
            text=m.text,
            effect=m.effect,
            mandatory=m.mandatory,
            matters=tuple(m.matters),
            implementing=tuple(m.implementing),
            legal_basis=m.legal_basis,
            subject_kinds=tuple(m.subject_kinds),
            duration_days=m.duration_days,
            propagate=tuple(m.propagate),
        )
        for m in memo.measures
        if isinstance(m, MeasureDefinition)
    )
    triggers = tuple(
        BundleTrigger(memo.id, i, t.list, tuple(t.subject_kinds), t.when)
        for i, t in enumerate(memo.triggers)
    )
    return Memorandum(
        memo.id, memo.title, memo.doc_no, memo.kind, memo.issued_on, triggers, measures, path
    )


def _direct(documents: dict[str, Any], salt: str) -> Bundle:
    memoranda: dict[str, Memorandum] = {}
    for path, document in documents.items():
        if not path.startswith("memoranda/"):
            continue
        memo = memorandum_of(MemorandumFile.model_validate(document), path)
        memoranda[memo.id] = memo
    derivations = documents.get("derivations.yaml", {"derivations": []})
    content = json.dumps([documents, salt], default=str, sort_keys=True).encode()
    return Bundle(
        version=hashlib.sha256(content).hexdigest(),
        vocabulary=Vocabulary.model_validate(documents["vocabulary.yaml"]),
        memoranda=memoranda,
        derivations=tuple(DerivationsFile.model_validate(derivations).derivations),
        files={},
    )


def reference_holds(condition: Condition | None, attributes: Mapping[str, Any]) -> bool:
    """The contract's meaning of a condition, evaluated in Python."""
    if condition is None:
        return True
    if isinstance(condition, AllOf):
        return all(reference_holds(child, attributes) for child in condition.all)
    if not isinstance(condition, Comparison):
        return any(reference_holds(child, attributes) for child in condition.any)
    value = attributes.get(condition.field)
    if condition.op == "exists":
        return (value is not None) is condition.value
    if value is None:
        return False
    constants = condition.value if isinstance(condition.value, list) else [condition.value]
    if condition.op in ("eq", "in"):
        return any(_same(value, c) for c in constants)
    if condition.op in ("ne", "not_in"):
        return not any(_same(value, c) for c in constants)
    left, right = _comparable(value), _comparable(condition.value)
    if isinstance(left, str) and isinstance(right, str):
        return _ordered(condition.op, left, right)
    if isinstance(left, float) and isinstance(right, float):
        return _ordered(condition.op, left, right)
    return False  # missing, not comparable, or two types


def _ordered(op: str, left: Any, right: Any) -> bool:
    results = {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}
    return bool(results[op])


def _comparable(value: Any) -> float | str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf if value > 0 else -math.inf
        return None if math.isnan(number) else number
    if isinstance(value, str):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return None


def _same(value: Any, constant: Any) -> bool:
    if isinstance(value, bool) or isinstance(constant, bool):
        return isinstance(value, bool) and isinstance(constant, bool) and value is constant
    left, right = _comparable(value), _comparable(constant)
    return left is not None and type(left) is type(right) and left == right
