"""What applies to a subject for every matter on a day: the subject page's table.

The same evaluation as a check (``engine.checks.evaluation.evaluate``), once per matter of
the vocabulary; it is a view, not a check, so nothing is logged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine.checks.evaluation import evaluate
from engine.checks.views import hit_view
from engine.registry.identifiers import either_kind_id
from engine.service import Service


def by_matter(service: Service, raw_id: str, day: dt.date) -> list[dict[str, Any]]:
    """Per matter (vocabulary order): ``matter``, ``name``, ``outcome``, ``binding_outcome``,
    ``incentives_withheld`` and ``hits`` (as a check's answer shows them)."""
    subject_id = either_kind_id(raw_id, field="id")
    service.catch_up()
    with service.state.lock:
        runtime = service.policy.runtime
        result = []
        for matter, name in runtime.bundle.vocabulary.matters.items():
            evaluation = evaluate(
                service.state, runtime, subject_id=subject_id, matter=matter, day=day
            )
            result.append(
                {
                    "matter": matter,
                    "name": name,
                    "outcome": evaluation.outcome,
                    "binding_outcome": evaluation.binding_outcome,
                    "incentives_withheld": evaluation.incentives_withheld,
                    "hits": [hit_view(hit) for hit in evaluation.hits],
                }
            )
    return result
