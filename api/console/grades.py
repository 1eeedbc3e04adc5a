"""The subject page's credit grade (信用等级) and its breakdown (docs/grades.md)."""

from __future__ import annotations

from typing import Any

from api.console.frame import Visit
from engine.errors import Code, NotFound
from engine.grades.views import grade_view
from engine.timing import china_today


def grade_extras(you: Visit, subject_id: str) -> dict[str, Any]:
    """``grade``: the subject's grade today as ``GET /v1/subjects/{id}/grade`` answers it, or
    None when the policy has no grades model for its kind (any caller may see it)."""
    service = you.service
    with service.state.lock:
        try:
            view = grade_view(service.state, service.policy.bundle, subject_id, china_today())
        except NotFound as exc:
            if exc.code != Code.no_grade_model:
                raise
            return {"grade": None}
    return {"grade": view}
