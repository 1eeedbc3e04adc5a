"""State snapshots: the projection at an event-log position, stored in the database.

A start (and replay) loads the newest snapshot and catches up from its ``seq`` instead of
applying the whole log: at city scale the log holds millions of events, and applying them
one by one takes minutes, loading a snapshot seconds.

A snapshot is a pure function of the log: ``restore(dump(state))`` equals ``state``, and
``state`` is what applying events 1..seq gives (``tests/engine/store/test_snapshot.py`` pins both).
It is a cache, never a source of truth: one that is missing, of another format, of another
Python, or damaged is ignored and the log is applied instead.

Encoding: plain lists, arrays and dicts, serialised with ``marshal`` (no code runs on load,
unlike pickle) and zlib level 1, split in parts of ``PART_BYTES`` (PostgreSQL's bytea and
SQLite's blobs stop at 1 GB). Ids are stored once and referred to by index, so a loaded
state shares one string per id between the subjects and the role graph.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import marshal
import sys
import time
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine

from engine.state import Entry, EntryStatus, Objection, State, Subject
from engine.state.commitments import Commitment
from engine.state.graph import CompactRoleGraph, RoleHolding, paused_gc
from engine.store.tables import StateSnapshot, utcnow
from measures.schema import SubjectKind

log = structlog.get_logger(__name__)

FORMAT = f"jrp-state-3/py{sys.version_info.major}.{sys.version_info.minor}/m{marshal.version}"
"""Changes whenever the encoding or ``State``'s shape changes; other formats are ignored."""
PART_BYTES = 64 * 2**20
KEEP = 2
"""Snapshots kept; older ones are deleted when a new one is stored."""
MIN_EVENTS = 50_000
"""``maybe_save`` stores a snapshot once this many events were applied since the newest one."""

_KINDS = (SubjectKind.org, SubjectKind.person)
_KIND_CODE = {SubjectKind.org: 0, SubjectKind.person: 1}
_STATUSES = tuple(EntryStatus)
_STATUS_CODE = {status: code for code, status in enumerate(_STATUSES)}


SNAPSHOT_TABLE: sa.Table = StateSnapshot.__table__  # type: ignore[attr-defined]
_T = SNAPSHOT_TABLE.c


# --- encoding ----------------------------------------------------------------------------------


def dump(state: State) -> bytes:
    """The state encoded (hold ``state.lock`` or make sure nothing applies meanwhile)."""
    ids = list(state.subjects)
    subjects = state.subjects.values()
    graph = _graph_columns(state.graph, ids)  # may append graph-only ids to ``ids``
    columns = {
        "seq": state.seq,
        "policy_version": state.policy_version,
        "subjects": len(subjects),
        "ids": ids,
        "kinds": bytes(_KIND_CODE[subject.kind] for subject in subjects),
        "names": [subject.name for subject in subjects],
        "regions": [subject.region for subject in subjects],
        **graph,
        "entries": [_entry_row(entry) for entry in state.entries.values()],
        "commitments": [commitment.to_row() for commitment in state.commitments.values()],
        "exchange_cursors": state.exchange_cursors,
    }
    return zlib.compress(marshal.dumps(columns), 1)


def _graph_columns(graph: CompactRoleGraph, ids: list[str]) -> dict[str, Any]:
    """The role graph as arrays of id numbers, role codes and day ordinals.

    Holdings are numbered in org order; the person side is that numbering permuted. The
    lookup dicts (hundreds of MB at city scale) are gone when this returns, before the
    columns are serialised.
    """
    index = {subject_id: number for number, subject_id in enumerate(ids)}

    def number(subject_id: str) -> int:
        found = index.get(subject_id)
        if found is None:  # a graph id with no subject (only events written around the API)
            found = index[subject_id] = len(ids)
            ids.append(subject_id)
        return found

    by_org, by_person = graph.sides()
    roles: dict[str, int] = {}
    holding_number: dict[int, int] = {}
    org_order, org_counts = array("i"), array("i")
    persons, role_codes, starts, ends = array("i"), array("i"), array("i"), array("i")
    for org_id, holdings in by_org.items():
        org_order.append(number(org_id))
        org_counts.append(len(holdings))
        for holding in holdings:
            holding_number[id(holding)] = len(persons)
            persons.append(number(holding.person_id))
            role_codes.append(roles.setdefault(holding.role, len(roles)))
            starts.append(holding.start.toordinal())
            ends.append(0 if holding.end is None else holding.end.toordinal())
    person_order, person_counts, person_holdings = array("i"), array("i"), array("i")
    for person_id, holdings in by_person.items():
        person_order.append(number(person_id))
        person_counts.append(len(holdings))
        person_holdings.extend(holding_number[id(holding)] for holding in holdings)
    return {
        "roles": list(roles),
        "org_order": org_order.tobytes(),
        "org_counts": org_counts.tobytes(),
        "persons": persons.tobytes(),
        "role_codes": role_codes.tobytes(),
        "starts": starts.tobytes(),
        "ends": ends.tobytes(),
        "person_order": person_order.tobytes(),
        "person_counts": person_counts.tobytes(),
        "person_holdings": person_holdings.tobytes(),
    }


def _entry_row(entry: Entry) -> tuple[Any, ...]:
    return (
        entry.id,
        entry.list,
        entry.subject_id,
        _KIND_CODE[entry.subject_kind],
        entry.department,
        entry.decided_on.toordinal(),
        entry.effective_from.toordinal(),
        None if entry.effective_to is None else entry.effective_to.toordinal(),
        entry.doc_no,
        entry.reason,
        dict(entry.attributes),
        _STATUS_CODE[entry.status],
        entry.registered_seq,
        entry.derivation_id,
        entry.derived_from,
        _objection_row(entry.objection),
        None if entry.ended_on is None else entry.ended_on.toordinal(),
        None if entry.origin is None else dict(entry.origin),
    )


def _objection_row(objection: Objection | None) -> tuple[Any, ...] | None:
    if objection is None:
        return None
    return (
        objection.reason,
        _ordinal(objection.received_on),
        _ordinal(objection.verify_by),
        objection.raised_seq,
        objection.estimated,
        objection.outcome,
        _ordinal(objection.resolved_on),
        objection.note,
    )


def _ordinal(day: dt.date | None) -> int | None:
    return None if day is None else day.toordinal()


def _from_ordinal(ordinal: int | None) -> dt.date | None:
    return None if ordinal is None else dt.date.fromordinal(ordinal)


def _objection(row: tuple[Any, ...] | None) -> Objection | None:
    if row is None:
        return None
    reason, received, verify_by, raised_seq, estimated, outcome, resolved, note = row
    return Objection(
        reason=reason,
        received_on=_from_ordinal(received),
        verify_by=_from_ordinal(verify_by),
        raised_seq=raised_seq,
        estimated=estimated,
        outcome=outcome,
        resolved_on=_from_ordinal(resolved),
        note=note,
    )


def restore(data: bytes) -> State:
    """The state ``dump`` encoded (raises ValueError, EOFError or TypeError when damaged)."""
    columns = marshal.loads(zlib.decompress(data))
    state = State()
    with paused_gc():
        ids: list[str] = columns["ids"]
        count = columns["subjects"]
        kinds = [_KINDS[code] for code in columns["kinds"]]
        state.subjects = dict(
            zip(
                ids[:count],
                map(Subject, ids[:count], kinds, columns["names"], columns["regions"]),
                strict=True,
            )
        )
        state.graph = _graph(columns, ids)
        days: dict[int, dt.date] = {}
        for row in columns["entries"]:
            entry = _entry(row, ids, days)
            state.entries[entry.id] = entry
            state.entries_by_subject.setdefault(entry.subject_id, []).append(entry.id)
    state.index_objections()
    # Snapshots stored before commitments existed hold none (there were none to hold).
    for row in columns.get("commitments", ()):
        commitment = Commitment.from_row(row)
        state.commitments[commitment.id] = commitment
    state.index_commitments()
    state.exchange_cursors = columns["exchange_cursors"]
    state.seq = columns["seq"]
    state.policy_version = columns["policy_version"]
    return state


def _ints(raw: bytes) -> array[int]:
    values = array("i")
    values.frombytes(raw)
    return values


def _graph(columns: dict[str, Any], ids: list[str]) -> CompactRoleGraph:
    roles: list[str] = columns["roles"]
    starts, ends = _ints(columns["starts"]), _ints(columns["ends"])
    days = {ordinal: dt.date.fromordinal(ordinal) for ordinal in {*starts, *ends} if ordinal}
    org_order, org_counts = _ints(columns["org_order"]), _ints(columns["org_counts"])
    org_of = [ids[org] for org, count in zip(org_order, org_counts, strict=True)
              for _ in range(count)]  # fmt: skip
    holdings = list(
        map(
            RoleHolding,
            org_of,
            map(ids.__getitem__, _ints(columns["persons"])),
            map(roles.__getitem__, _ints(columns["role_codes"])),
            map(days.__getitem__, starts),
            map(days.get, ends),
        )
    )
    # Slices of one list per subject, cut and converted in C (millions of subjects).
    by_org = dict(zip(map(ids.__getitem__, org_order), _runs(holdings, org_counts), strict=True))
    person_side = list(map(holdings.__getitem__, _ints(columns["person_holdings"])))
    order, counts = _ints(columns["person_order"]), _ints(columns["person_counts"])
    by_person = dict(zip(map(ids.__getitem__, order), _runs(person_side, counts), strict=True))
    return CompactRoleGraph.from_sides(by_org, by_person, roles=roles, days=days.values())


def _runs(items: list[RoleHolding], counts: array[int]) -> Iterator[tuple[RoleHolding, ...]]:
    """``items`` cut into consecutive tuples of the given lengths."""
    ends = list(accumulate(counts))
    return map(tuple, map(items.__getitem__, map(slice, [0, *ends[:-1]], ends)))


def _entry(row: tuple[Any, ...], ids: list[str], days: dict[int, dt.date]) -> Entry:
    (entry_id, list_code, subject_id, kind, department, decided, start, end, doc_no, reason,
     attributes, status, registered_seq, derivation_id, derived_from, objection,
     ended_on, origin) = row  # fmt: skip

    def day(ordinal: int) -> dt.date:
        found = days.get(ordinal)
        if found is None:
            found = days[ordinal] = dt.date.fromordinal(ordinal)
        return found

    return Entry(
        id=entry_id,
        list=list_code,
        subject_id=subject_id,
        subject_kind=_KINDS[kind],
        department=department,
        decided_on=day(decided),
        effective_from=day(start),
        effective_to=None if end is None else day(end),
        doc_no=doc_no,
        reason=reason,
        attributes=attributes,
        status=_STATUSES[status],
        registered_seq=registered_seq,
        derivation_id=derivation_id,
        derived_from=tuple(derived_from),
        objection=_objection(objection),
        ended_on=_from_ordinal(ended_on),
        origin=origin,
    )


# --- storage -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stored:
    """A snapshot in the database: its position and size."""

    seq: int
    parts: int
    bytes: int


def save(engine: Engine, state: State) -> Stored | None:
    """Store a snapshot of ``state`` (taken under its lock); None when one at its seq exists.

    Older snapshots beyond the newest ``KEEP`` are deleted in the same transaction.
    """
    started = time.perf_counter()
    with state.lock:
        seq = state.seq
        data = dump(state)
    digest = hashlib.sha256(data).hexdigest()
    chunks = [data[at : at + PART_BYTES] for at in range(0, len(data), PART_BYTES)] or [b""]
    now = utcnow()
    try:
        with engine.begin() as connection:
            if _exists(connection, seq):
                return None
            for part, chunk in enumerate(chunks):
                connection.execute(
                    SNAPSHOT_TABLE.insert(),
                    {
                        "seq": seq,
                        "part": part,
                        "parts": len(chunks),
                        "format": FORMAT,
                        "sha256": digest,
                        "created_at": now,
                        "data": chunk,
                    },
                )
            kept = sa.select(_T.seq).distinct().order_by(_T.seq.desc()).limit(KEEP)
            connection.execute(SNAPSHOT_TABLE.delete().where(_T.seq.not_in(kept)))
    except sa.exc.IntegrityError:
        return None  # another process stored this position first
    stored = Stored(seq=seq, parts=len(chunks), bytes=len(data))
    log.info(
        "snapshot.saved",
        seq=seq,
        mib=round(len(data) / 2**20, 1),
        seconds=round(time.perf_counter() - started, 2),
    )
    return stored


def _exists(connection: Connection, seq: int) -> bool:
    return connection.execute(sa.select(_T.seq).where(_T.seq == seq).limit(1)).first() is not None


def latest_seq(engine: Engine, *, at_most: int | None = None) -> int | None:
    """The position of the newest usable-looking snapshot (``seq <= at_most``), if any."""
    query = sa.select(sa.func.max(_T.seq)).where(_T.format == FORMAT)
    if at_most is not None:
        query = query.where(_T.seq <= at_most)
    with engine.connect() as connection:
        found = connection.execute(query).scalar()
    return None if found is None else int(found)


def load(engine: Engine, *, at_most: int | None = None) -> State | None:
    """The newest snapshot at or before ``at_most`` as a ``State``; None when there is none.

    A damaged or incomplete one is skipped (logged) for the next older one.
    """
    limit = at_most
    while (seq := latest_seq(engine, at_most=limit)) is not None:
        started = time.perf_counter()
        try:
            data = _read(engine, seq)
            state = restore(data)
        except (ValueError, EOFError, TypeError, KeyError, IndexError, zlib.error) as exc:
            log.warning("snapshot.unusable", seq=seq, error=str(exc)[:200])
            limit = seq - 1
            continue
        log.info("snapshot.loaded", seq=seq, seconds=round(time.perf_counter() - started, 2))
        return state
    return None


def _read(engine: Engine, seq: int) -> bytes:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(_T.part, _T.parts, _T.format, _T.sha256, _T.data)
            .where(_T.seq == seq)
            .order_by(_T.part)
        ).all()
    if not rows or [row.part for row in rows] != list(range(rows[0].parts)):
        raise ValueError(f"snapshot {seq} is incomplete")
    if {row.format for row in rows} != {FORMAT}:
        raise ValueError(f"snapshot {seq} mixes formats")
    data = b"".join(bytes(row.data) for row in rows)
    if hashlib.sha256(data).hexdigest() != rows[0].sha256:
        raise ValueError(f"snapshot {seq} does not match its digest")
    return data


def positions(engine: Engine) -> Iterator[int]:
    """The positions of the stored snapshots, newest first."""
    with engine.connect() as connection:
        for row in connection.execute(sa.select(_T.seq).distinct().order_by(_T.seq.desc())):
            yield int(row.seq)
