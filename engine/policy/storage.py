"""Every policy bundle the service has loaded, stored by version so any decision's text is shown."""

from __future__ import annotations

from sqlmodel import Session, col, select

from engine.store.events import EventType, NewEvent
from engine.store.tables import Event, PolicyVersionRecord, utcnow
from measures.bundle import Bundle


def store(session: Session, bundle: Bundle) -> bool:
    """Store the bundle's files under its version unless already there; True when newly stored."""
    if session.get(PolicyVersionRecord, bundle.version) is not None:
        return False
    files = {path: data.decode("utf-8") for path, data in sorted(bundle.files.items())}
    session.add(PolicyVersionRecord(version=bundle.version, files=files, first_loaded_at=utcnow()))
    session.flush()
    return True


def in_force_events(
    session: Session, bundle: Bundle, *, actor: str | None = None
) -> list[NewEvent]:
    """Store the bundle; a ``policy.loaded`` event when it is not already the version in force.

    Call with the log locked (``Service.write``): two workers starting together must not both
    record the same load.
    """
    store(session, bundle)
    if in_force_version(session) == bundle.version:
        return []
    return [NewEvent(EventType.policy_loaded, {"version": bundle.version}, actor=actor)]


def in_force_version(session: Session) -> str | None:
    """The version named by the newest ``policy.loaded`` event, if any."""
    query = (
        select(Event.payload)
        .where(Event.type == EventType.policy_loaded.value)
        .order_by(col(Event.seq).desc())
        .limit(1)
    )
    payload = session.exec(query).first()
    return None if payload is None else str(payload["version"])


def files_of(session: Session, version: str) -> dict[str, bytes] | None:
    """The stored files of a version (relative path -> bytes), or None when unknown."""
    record = session.get(PolicyVersionRecord, version)
    if record is None:
        return None
    return {path: text.encode("utf-8") for path, text in record.files.items()}
