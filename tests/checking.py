"""Checks made from test code the way the HTTP route makes them."""

from __future__ import annotations

import asyncio

from engine import checks
from engine.decisions import StoredDecision
from engine.service import Service


def decide(
    service: Service,
    request: checks.CheckRequest,
    *,
    caller: str = "t",
    department: str = "finance",
) -> StoredDecision:
    """``POST /v1/checks`` without HTTP: catch up, answer, log; the stored decision."""
    return asyncio.run(checks.decide_async(service, request, caller=caller, department=department))
