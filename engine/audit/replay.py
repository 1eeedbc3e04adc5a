"""Replay: recompute logged decisions from the event log, exactly, or under another policy.

Each decision records the event-log position it saw (``event_seq``), its normalised request
(``as_of`` included) and the policy version it ran under. Replay rebuilds ``State`` from the
log event by event, and when the state reaches a decision's ``event_seq`` it evaluates the
recorded request again with the same code the check path uses (``engine.checks.answer``):

- ``recorded``: under the policy version the decision was made with, loaded from the stored
  bundle (several versions side by side in one process). Every answer must be identical.
- a given bundle (``current`` over HTTP, ``--policy DIR`` on the command line): under that
  bundle, to show which past decisions an edit would change.

Replay only reads: it never appends to the event log or the decision log. Decisions are taken
in (``event_seq``, ``seq``) order, so the state only moves forward.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from engine.checks import answer
from engine.decisions.queries import require_decision
from engine.policy.versions import PolicyVersions, compile_policy
from engine.state import State
from engine.store import events, snapshot
from engine.store.tables import DECISION_TABLE, Decision
from engine.timing import in_utc
from measures.bundle import Bundle

IGNORED_FIELDS = frozenset({"policy_version"})
"""Compared answers differ in nothing else: under another bundle the version differs by design."""

Progress = Callable[[int, int], None]
"""Called with (decisions replayed, decisions in range)."""


@dataclass
class ReplayReport:
    replayed: int = 0
    identical: int = 0
    changed: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The body of ``POST /v1/replay``."""
        return {"replayed": self.replayed, "identical": self.identical, "changed": self.changed}


def comparable(response: dict[str, Any]) -> dict[str, Any]:
    """A response without the fields a replay is not expected to reproduce."""
    return {key: value for key, value in response.items() if key not in IGNORED_FIELDS}


def replay(
    engine: Engine,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    bundle: Bundle | None = None,
    progress: Progress | None = None,
    decision_id: str | None = None,
) -> ReplayReport:
    """Recompute the decisions made in [since, until) under their own policy or ``bundle``.

    A time without offset is China time; one outside the service's range is a 422 naming
    ``since`` or ``until`` (``engine.timing``). ``decision_id`` selects that one decision.
    """
    since = None if since is None else in_utc(since, field="since")
    until = None if until is None else in_utc(until, field="until")
    versions = PolicyVersions(engine)
    override = compile_policy(bundle) if bundle is not None else None
    report = ReplayReport()
    selection = _Selection(since, until, decision_id)
    try:
        with Session(engine) as session:
            total = _count(session, selection)
            # Start from the newest snapshot the first decision's position allows (a snapshot
            # at seq N is the state the log gives at N), then go forward event by event.
            first = _first_event_seq(session, selection)
            state = (snapshot.load(engine, at_most=first) if first is not None else None) or State()
            event_rows = events.read_facts(session, after=state.seq)
            pending = next(event_rows, None)
            for decision in _decisions(engine, selection):
                while pending is not None and pending[0] <= decision.event_seq:
                    state.apply(*pending)
                    pending = next(event_rows, None)
                policy = override or versions.get(decision.policy_version)
                replayed = answer(
                    state, policy.runtime, decision.request, decision_id=decision.decision_id
                )
                report.replayed += 1
                if comparable(replayed) == comparable(decision.response):
                    report.identical += 1
                else:
                    report.changed.append(
                        {
                            "decision_id": decision.decision_id,
                            "recorded": decision.response,
                            "replayed": replayed,
                        }
                    )
                if progress is not None:
                    progress(report.replayed, total)
    finally:
        versions.close()
        if override is not None:
            override.compiled.close()
    return report


def replay_decision(engine: Engine, decision_id: str) -> dict[str, Any]:
    """Replay one logged decision under its recorded policy (the same code as ``replay``).

    ``{"decision_id", "identical", "recorded", "replayed"}``; NotFound ``unknown_decision``.
    """
    with Session(engine) as session:
        recorded = require_decision(session, decision_id)
    report = replay(engine, decision_id=decision_id)
    replayed = report.changed[0]["replayed"] if report.changed else recorded.response
    return {
        "decision_id": decision_id,
        "identical": report.identical == 1,
        "recorded": recorded.response,
        "replayed": replayed,
    }


@dataclass(frozen=True, slots=True)
class _Selection:
    since: dt.datetime | None
    until: dt.datetime | None
    decision_id: str | None


def _filtered(query: Any, selection: _Selection) -> Any:
    if selection.since is not None:
        query = query.where(col(Decision.decided_at) >= selection.since)
    if selection.until is not None:
        query = query.where(col(Decision.decided_at) < selection.until)
    if selection.decision_id is not None:
        query = query.where(col(Decision.decision_id) == selection.decision_id)
    return query


def _first_event_seq(session: Session, selection: _Selection) -> int | None:
    query = _filtered(select(sa.func.min(Decision.event_seq)), selection)
    found = session.exec(query).one()
    return None if found is None else int(found)


def _count(session: Session, selection: _Selection) -> int:
    query = _filtered(select(sa.func.count()).select_from(Decision), selection)
    return int(session.exec(query).one())


def _decisions(engine: Engine, selection: _Selection) -> Iterator[Any]:
    """What replay needs of each decision (Core rows: ORM objects cost more than the replay)."""
    table = DECISION_TABLE.c
    columns = (table.decision_id, table.request, table.response, table.policy_version,
               table.event_seq)  # fmt: skip
    query = _filtered(sa.select(*columns), selection).order_by(table.event_seq, table.seq)
    # A separate connection streams decisions while the session's own reads the event log.
    with engine.connect() as reader:
        yield from reader.execution_options(yield_per=2000).execute(query)
