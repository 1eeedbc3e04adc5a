"""Checks: what applies to a subject for a matter at a time (应查必查).

``schemas`` the request, ``evaluation`` the hits from the state and a policy runtime,
``decide`` the answer logged to the decision log, ``views`` the answer's shape.
"""

from engine.checks.decide import answer, decide_async, draft, normalized_request
from engine.checks.evaluation import Evaluation, Hit, Via, evaluate, evaluate_matters
from engine.checks.schemas import CheckRequest
from engine.checks.views import hit_view, response_body

__all__ = [
    "CheckRequest",
    "Evaluation",
    "Hit",
    "Via",
    "answer",
    "decide_async",
    "draft",
    "evaluate",
    "evaluate_matters",
    "hit_view",
    "normalized_request",
    "response_body",
]
