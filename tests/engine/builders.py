"""Policies and states built in code, for unit tests of the check and write paths.

``compiled_policy`` turns a few memoranda written as dicts into a ``PolicyRuntime`` the way the
service does (``engine.policy.versions.compile_policy``: the rule engine is real, it takes a
millisecond for a bundle this small); ``Log`` builds a ``State`` by applying the events the
write path would append. Neither needs a database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from engine.policy.runtime import PolicyRuntime
from engine.policy.versions import compile_policy
from engine.state import Entry, State
from engine.store.events import EventType
from measures.bundle import Bundle, Memorandum
from measures.schema import (
    DerivationsFile,
    MemorandumFile,
    SubjectKind,
    Vocabulary,
)
from tests.engine.policy.rules.rules_helpers import memorandum_of

MATTERS = {"bidding": "招标投标", "financing": "发行企业债券"}
ROLES = {"legal_representative": "法定代表人", "principal": "主要负责人"}
LEGAL = "legal_representative"
PRINCIPAL = "principal"


def measure(
    measure_id: str, effect: str = "notice", *, matters: Sequence[str] = ("bidding",), **more: Any
) -> dict[str, Any]:
    """A measure as a memorandum file writes it (``more``: mandatory, subject_kinds, ...)."""
    return {
        "id": measure_id,
        "text": measure_id,
        "effect": effect,
        "matters": list(matters),
        "implementing": ["court"],
        **more,
    }


def memorandum(
    memo_id: str, lists: str | Sequence[str], measures: Sequence[Mapping[str, Any]], **more: Any
) -> dict[str, Any]:
    """A memorandum triggered (without conditions) by entries on ``lists``."""
    codes = [lists] if isinstance(lists, str) else list(lists)
    return {
        "id": memo_id,
        "title": memo_id,
        "doc_no": "测试〔2020〕1号",
        "kind": "punishment",
        "issued_on": dt.date(2020, 1, 1),
        "triggers": [{"list": code} for code in codes],
        "measures": list(measures),
        **more,
    }


def make_bundle(
    memoranda: Sequence[Mapping[str, Any]],
    *,
    lists: Mapping[str, Mapping[str, Any]],
    derivations: Sequence[Mapping[str, Any]] = (),
    settings: Mapping[str, Any] | None = None,
) -> Bundle:
    """A bundle from schema-valid documents (``lists``: code -> definition without name/owners).

    Built from the schema models directly, without the loader's cross-file checks, so that a
    test can state exactly the memoranda, lists and derivations it needs.
    """
    vocabulary = {
        "departments": {"court": "法院", "tax": "税务", "market": "市场监管"},
        "lists": {code: {"name": code, "owners": ["court"], **d} for code, d in lists.items()},
        "matters": MATTERS,
        "roles": ROLES,
        **({} if settings is None else {"settings": settings}),
    }
    memos: dict[str, Memorandum] = {}
    for document in memoranda:
        memo = memorandum_of(MemorandumFile.model_validate(document), "")
        memos[memo.id] = memo
    content = json.dumps([vocabulary, memoranda, derivations], default=str, sort_keys=True)
    return Bundle(
        version=hashlib.sha256(content.encode()).hexdigest(),
        vocabulary=Vocabulary.model_validate(vocabulary),
        memoranda=memos,
        derivations=tuple(
            DerivationsFile.model_validate({"derivations": list(derivations)}).derivations
        ),
        files={},
    )


@contextmanager
def compiled_policy(bundle: Bundle) -> Iterator[PolicyRuntime]:
    """The bundle compiled as the service compiles it; the rule engine is closed after."""
    loaded = compile_policy(bundle)
    try:
        yield loaded.runtime
    finally:
        loaded.compiled.close()


class Log:
    """A ``State`` built by applying, in order, the events the write path would append."""

    def __init__(self) -> None:
        self.state = State()
        self._ids = 0

    def _apply(self, event_type: EventType, payload: Mapping[str, Any]) -> None:
        self.state.apply(self.state.seq + 1, event_type.value, payload)

    def subject(self, subject_id: str, kind: str) -> str:
        self._apply(
            EventType.subject_upserted,
            {"id": subject_id, "kind": kind, "name": None, "region": None},
        )
        return subject_id

    def relation(
        self,
        org_id: str,
        person_id: str,
        role: str = LEGAL,
        start: dt.date = dt.date(2020, 1, 1),
        end: dt.date | None = None,
    ) -> None:
        self._apply(
            EventType.relation_recorded,
            {
                "org_id": org_id,
                "person_id": person_id,
                "role": role,
                "start": start.isoformat(),
                "end": None if end is None else end.isoformat(),
            },
        )

    def entry(
        self,
        list_code: str,
        subject_id: str,
        effective_from: dt.date,
        effective_to: dt.date | None = None,
        **more: Any,
    ) -> Entry:
        """Register an entry (``more``: decided_on, subject_kind, derived_from, ...)."""
        entry = self.new_entry(list_code, subject_id, effective_from, effective_to, **more)
        self._apply(EventType.entry_registered, {"entry": entry.to_payload(), "triggered": []})
        return self.state.entries[entry.id]

    def new_entry(
        self,
        list_code: str,
        subject_id: str,
        effective_from: dt.date,
        effective_to: dt.date | None = None,
        **more: Any,
    ) -> Entry:
        """An entry as registration builds it, not applied (what ``derive`` is given)."""
        self._ids += 1
        subject = self.state.subjects.get(subject_id)
        payload: dict[str, Any] = {
            "id": more.pop("entry_id", f"e{self._ids:02d}"),
            "list": list_code,
            "subject_id": subject_id,
            "subject_kind": (SubjectKind.org if subject is None else subject.kind).value,
            "department": "court",
            "decided_on": effective_from.isoformat(),
            "effective_from": effective_from.isoformat(),
            "effective_to": None if effective_to is None else effective_to.isoformat(),
            "doc_no": f"D{self._ids}",
            "reason": None,
            "attributes": {},
            "derivation_id": None,
            "derived_from": [],
        }
        for key, value in more.items():
            payload[key] = value.isoformat() if isinstance(value, dt.date) else value
        return Entry.from_payload(payload, seq=0)

    def revoke(self, entry: Entry) -> None:
        self._apply(EventType.entry_revoked, {"entry_id": entry.id})

    def object_to(self, entry: Entry) -> None:
        self._apply(EventType.objection_raised, {"entry_id": entry.id, "reason": "异议"})

    def repair(self, entry: Entry) -> None:
        self._apply(EventType.entry_repaired, {"entry_id": entry.id, "note": None})
