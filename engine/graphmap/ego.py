"""The relationship map: subjects within ``depth`` holdings of one subject, as a networkx graph.

The check path keeps its compact role graph (engine/state/graph.py); this view copies the
small neighbourhood it needs into a ``networkx.MultiGraph`` (one edge per holding: a person
may hold several roles in one org) and asks networkx for the paths. Bounded: the
breadth-first walk stops adding subjects at ``MAX_NODES`` and holdings at ``MAX_EDGES``
(``truncated`` and a ``note`` say so); the subjects the reaching entries come from are
added first, so every ``paths`` item is in the map whatever was cut. A subject with 10,000
holdings reads its holdings once (one tuple in the role graph) and stops there.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import deque
from typing import Any

import networkx as nx

from engine.errors import InvalidRequest, NotFound
from engine.registry.access import record_access
from engine.registry.identifiers import either_kind_id
from engine.registry.views import reaching_entries
from engine.service import Service
from engine.state import RoleHolding, State
from engine.timing import china_today

MAX_NODES = 300
MAX_EDGES = 1000
MAX_DEPTH = 3


def _listed(state: State, subject_id: str, day: dt.date) -> bool:
    return any(entry.in_force(day) for entry in state.entries_of(subject_id))


def _add_node(graph: nx.MultiGraph[str], state: State, subject_id: str, day: dt.date) -> None:
    subject = state.subjects.get(subject_id)
    graph.add_node(
        subject_id,
        kind=subject.kind.value if subject is not None else "",
        name=(subject.name if subject is not None else None) or "",
        listed=_listed(state, subject_id, day),
    )


def _add_edge(graph: nx.MultiGraph[str], holding: RoleHolding) -> None:
    graph.add_edge(
        holding.org_id,
        holding.person_id,
        key=f"{holding.role}@{holding.start.isoformat()}",
        org_id=holding.org_id,
        person_id=holding.person_id,
        role=holding.role,
        start=holding.start.isoformat(),
        end="" if holding.end is None else holding.end.isoformat(),
    )


def ego_graph(
    state: State, subject_id: str, depth: int, day: dt.date, first: list[str]
) -> tuple[nx.MultiGraph[str], bool]:
    """The subjects within ``depth`` holdings of ``subject_id`` and the holdings among them.

    ``first``: subjects one holding away to take before any other (the reaching entries').
    Returns the graph and whether a bound cut it.
    """
    graph: nx.MultiGraph[str] = nx.MultiGraph()
    _add_node(graph, state, subject_id, day)
    truncated = False
    edges = 0  # networkx counts edges by walking them all: keep the count here
    queue: deque[tuple[str, int]] = deque([(subject_id, 0)])
    while queue:
        current, distance = queue.popleft()
        if distance >= depth:
            continue
        holdings = state.graph.relations_of(current)
        if current == subject_id and first:
            wanted = set(first)
            holdings = sorted(
                holdings,
                key=lambda h: (h.person_id if h.org_id == current else h.org_id) not in wanted,
            )
        for holding in holdings:
            other = holding.person_id if holding.org_id == current else holding.org_id
            if other not in graph:
                if graph.number_of_nodes() >= MAX_NODES:
                    truncated = True
                    break
                _add_node(graph, state, other, day)
                queue.append((other, distance + 1))
            if edges >= MAX_EDGES:
                truncated = True
                break
            _add_edge(graph, holding)
            edges += 1
    return graph, truncated


def relationship_map(
    service: Service, raw_id: str, *, depth: int = 1, caller: str, department: str
) -> dict[str, Any]:
    """``GET /v1/subjects/{id}/graph``: the map as JSON (see ``_build``)."""
    return _build(service, raw_id, depth=depth, caller=caller, department=department)[0]


def relationship_graphml(
    service: Service, raw_id: str, *, depth: int = 1, caller: str, department: str
) -> bytes:
    """The same map as GraphML (node attributes kind, name, listed; edges org_id, person_id,
    role, start, end)."""
    graph = _build(service, raw_id, depth=depth, caller=caller, department=department)[1]
    buffer = io.BytesIO()
    nx.write_graphml(graph, buffer, encoding="utf-8")
    return buffer.getvalue()


def _build(
    service: Service, raw_id: str, *, depth: int, caller: str, department: str
) -> tuple[dict[str, Any], nx.MultiGraph[str]]:
    """The map as JSON, and the networkx graph it was made from.

    ``paths``: for each entry reaching the subject through a holding (as the subject page
    shows them), the shortest path from the entry's subject to this subject. Reads of a
    person's data are recorded in the access log.
    """
    if not 1 <= depth <= MAX_DEPTH:
        raise InvalidRequest(
            "depth out of range",
            details=[{"field": "depth", "message": f"must be between 1 and {MAX_DEPTH}"}],
        )
    subject_id = either_kind_id(raw_id, field="id")
    day = china_today()
    service.catch_up()
    with service.state.lock:
        state = service.state
        subject = state.subjects.get(subject_id)
        if subject is None:
            raise NotFound("no subject with this id is registered", code="unknown_subject")
        reaching = reaching_entries(state, service.policy.runtime, subject, day)
        graph, truncated = ego_graph(
            state, subject_id, depth, day, [entry.subject_id for entry, _via in reaching]
        )
    paths = []
    seen: set[str] = set()
    for entry, _via in reaching:
        if entry.id in seen or entry.subject_id not in graph:
            continue
        seen.add(entry.id)
        paths.append(
            {"entry_id": entry.id, "list": entry.list,
             "path": nx.shortest_path(graph, entry.subject_id, subject_id)}
        )  # fmt: skip
    answer: dict[str, Any] = {
        "subject_id": subject_id,
        "depth": depth,
        "nodes": [
            {
                "id": node,
                "kind": data["kind"],
                "name": data["name"] or None,
                "listed": data["listed"],
            }
            for node, data in graph.nodes(data=True)
        ],
        "edges": [
            {
                "org_id": data["org_id"],
                "person_id": data["person_id"],
                "role": data["role"],
                "start": data["start"],
                "end": data["end"] or None,
            }
            for _a, _b, data in graph.edges(data=True)
        ],
        "paths": paths,
        "truncated": truncated,
        "note": (
            f"关系图已截断:最多 {MAX_NODES} 个主体、{MAX_EDGES} 条任职关系"
            f" (cut at {MAX_NODES} subjects and {MAX_EDGES} holdings)"
            if truncated
            else None
        ),
    }
    if any(node["kind"] == "person" for node in answer["nodes"]):
        record_access(
            service.engine,
            caller=caller,
            department=department,
            subject_id=subject_id,
            route="/v1/subjects/{id}/graph",
        )
    return answer, graph
