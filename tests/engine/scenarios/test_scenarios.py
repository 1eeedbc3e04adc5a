"""Engine behaviour pinned by YAML golden scenarios: events, then checks, then expected hits."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.scenarios.scenario_runner import SCENARIOS, load, run_step, start

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
