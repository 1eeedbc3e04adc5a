"""Engine behaviour pinned by YAML golden scenarios: events, then checks, then expected hits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.engine.scenarios.scenario_runner import (
    SCENARIOS,
    ScenarioError,
    check_expectations,
    load,
    run_step,
    start,
)

CASES = sorted(SCENARIOS.glob("*.yaml"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_scenario(path: Path, db_url: str) -> None:
    scenario = load(path)
    run = start(db_url, scenario)
    try:
        for index, step in enumerate(scenario["steps"]):
            run_step(run, step, f"{path.name} step {index + 1}")
    finally:
        run.service.close()


def test_there_are_scenarios() -> None:
    assert len(CASES) >= 5


def test_every_check_step_of_every_scenario_says_what_it_expects() -> None:
    checks = 0
    for path in CASES:
        for index, step in enumerate(load(path)["steps"]):
            check_expectations(step, f"{path.name} step {index + 1}")
            checks += "check" in step
    assert checks >= 20


CHECK = {"subject_id": "91440101000010014P", "matter": "financing"}


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"check": CHECK}, "x.yaml step 3: a check step needs expect"),
        ({"check": CHECK, "expect": {}}, "x.yaml step 3: expect must name at least one"),
        ({"check": CHECK, "expect": {"outcom": "clear"}}, "unknown expectations ['outcom']"),
        ({"check": CHECK, "expect": {"hits": [{"measure_id": "m"}]}}, "a hit names measure_id"),
        (
            {"check": CHECK, "expect": {"hits": [{"measure_id": "m", "entry": "e", "vai": None}]}},
            "a hit names measure_id",
        ),
    ],
)
def test_a_check_step_that_asserts_nothing_is_refused(step: dict[str, Any], message: str) -> None:
    # Refused before the step runs: no service is needed to find out.
    with pytest.raises(ScenarioError) as refused:
        run_step(None, step, "x.yaml step 3")  # type: ignore[arg-type]
    assert message in str(refused.value)


def test_a_check_step_with_expect_error_or_expect_is_accepted() -> None:
    check_expectations({"check": CHECK, "expect_error": "invalid_request"}, "x")
    check_expectations({"check": CHECK, "expect": {"hits": []}}, "x")
    check_expectations({"entry": {}}, "x")  # only check steps need expectations
