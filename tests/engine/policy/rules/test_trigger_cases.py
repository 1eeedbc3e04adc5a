"""Golden cases for trigger and derivation evaluation: tests/cases/triggers/*.yaml.

A case holds a bundle (``bundle:`` with ``memoranda``, optional ``derivations`` and ``lists``,
built with ``rules_helpers.make_bundle``; or ``bundle_dir:`` relative to the project root),
``entries`` (``list``, ``subject_kind``, ``attributes``, ``expect``: the matching
triggers as ``memorandum-id/index`` in bundle order) and ``derivations`` (``list``,
``window_counts``, ``expect``: derivation ids).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.policy.rules import CompiledPolicy
from measures.bundle import Bundle
from measures.loader import load_bundle
from tests.conftest import CASES_DIR, ROOT
from tests.engine.policy.rules.rules_helpers import make_bundle

CASES = sorted((CASES_DIR / "triggers").glob("*.yaml"))


def case_bundle(case: dict[str, Any]) -> Bundle:
    """The case's bundle, as tests/cases/triggers/*.yaml describe it."""
    if "bundle_dir" in case:
        return load_bundle(ROOT / case["bundle_dir"])
    spec = case["bundle"]
    return make_bundle(
        spec["memoranda"], derivations=spec.get("derivations", ()), lists=spec.get("lists", ())
    )


def test_cases_are_found() -> None:
    assert len(CASES) >= 6


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_trigger_case(path: Path) -> None:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert case.get("entries") or case.get("derivations"), "a case checks something"
    failures: list[str] = []
    with CompiledPolicy.compile(case_bundle(case)) as policy:
        for entry in case.get("entries", []):
            matches = policy.triggered(
                list_code=entry["list"],
                subject_kind=entry["subject_kind"],
                attributes=entry.get("attributes") or {},
            )
            got = [f"{m.memorandum_id}/{m.index}" for m in matches]
            if got != entry["expect"]:
                failures.append(
                    f"{entry.get('name', entry)}: expected {entry['expect']}, got {got}"
                )
        for check in case.get("derivations", []):
            got = policy.derivations_met(
                list_code=check["list"], window_counts=check["window_counts"]
            )
            if got != check["expect"]:
                failures.append(
                    f"{check.get('name', check)}: expected {check['expect']}, got {got}"
                )
    assert not failures, "\n".join(failures)
