"""The policy's history for people: every load of a version, and a text diff of two versions."""

from __future__ import annotations

import difflib
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from engine.errors import Code, NotFound
from engine.policy import storage as policy_store
from engine.store.events import EventType
from engine.store.tables import Event, PolicyVersionRecord


def versions(engine: Engine) -> list[dict[str, Any]]:
    """Every stored version, newest first load first: ``version``, ``first_loaded_at``,
    ``loads`` (each ``policy.loaded`` event: ``seq``, ``at``, ``actor``), ``files``."""
    with Session(engine) as session:
        records = session.exec(select(PolicyVersionRecord)).all()
        loads = session.exec(
            select(Event)
            .where(Event.type == EventType.policy_loaded.value)
            .order_by(col(Event.seq).desc())
        ).all()
    by_version: dict[str, list[dict[str, Any]]] = {}
    for event in loads:
        by_version.setdefault(str(event.payload.get("version")), []).append(
            {"seq": event.seq, "at": event.recorded_at.isoformat(), "actor": event.actor}
        )
    items: list[dict[str, Any]] = [
        {
            "version": record.version,
            "first_loaded_at": record.first_loaded_at.isoformat(),
            "loads": by_version.get(record.version, []),
            "files": len(record.files),
        }
        for record in records
    ]
    items.sort(key=lambda item: str(item["first_loaded_at"]), reverse=True)
    return items


def text_diff(engine: Engine, old: str, new: str) -> list[dict[str, Any]]:
    """Per file that differs between two stored versions: ``path``, ``status``
    (added, removed, changed) and a unified diff's ``lines``; NotFound
    ``unknown_policy_version`` for a version never stored."""
    with Session(engine) as session:
        before = policy_store.files_of(session, old)
        after = policy_store.files_of(session, new)
    for version, files in ((old, before), (new, after)):
        if files is None:
            raise NotFound(f"no stored policy version {version}", code=Code.unknown_policy_version)
    assert before is not None and after is not None
    changed = []
    for path in sorted(before.keys() | after.keys()):
        a = before.get(path, b"").decode("utf-8").splitlines()
        b = after.get(path, b"").decode("utf-8").splitlines()
        if a == b and path in before and path in after:
            continue
        status = "added" if path not in before else "removed" if path not in after else "changed"
        lines = list(
            difflib.unified_diff(a, b, f"{old[:12]}/{path}", f"{new[:12]}/{path}", lineterm="")
        )
        changed.append({"path": path, "status": status, "lines": lines})
    return changed
