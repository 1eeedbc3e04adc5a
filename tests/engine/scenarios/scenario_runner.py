"""Runs a YAML scenario (tests/cases/scenarios/*.yaml) against a real service and database.

A scenario names a bundle (a directory under tests/fixtures/bundles, or ``shipped``), gives
aliases to subjects and entries, and lists steps; each step may say what it must produce.

Steps:
  subjects:   [{id, kind, name?}]                      registry events
  relations:  [{org_id, person_id, role, start, end?}] registry events (ids or aliases)
  entry:      {as, department, list, subject_id, subject_kind, decided_on, ...}
              expect_triggered: [memorandum ids]        expect_derived: [list codes]
  revoke | objection | resolution | repair: {entry: alias, ...}   expect_status / expect_error
  check:      {subject_id, matter, as_of}
              expect: {outcome, binding_outcome, incentives_withheld, known_subject,
                       hits: [{measure_id, entry, via?, until?}],   (hits compared in order;
                       grade}                                         entry null: no stored one)

A check goes the way ``POST /v1/checks`` goes (``tests.checking.decide``: catch-up, answer,
decision log append) and its expectations are compared with the logged decision's response.
Every check step must say what it expects (``expect`` naming at least one of the keys above,
or ``expect_error``): a check that asserts nothing would let a golden case pass vacuously, so
``check_expectations`` refuses the scenario instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine import checks, entries
from engine.entries.registration import EntryCreate
from engine.errors import JrpError
from engine.service import Service
from engine.settings import SHIPPED_POLICY_DIR, Settings
from engine.store.events import EventType, NewEvent
from tests.checking import decide
from tests.conftest import CASES_DIR, FIXTURES

SCENARIOS = CASES_DIR / "scenarios"


CHECK_EXPECTATIONS = (
    "outcome",
    "binding_outcome",
    "incentives_withheld",
    "known_subject",
    "hits",
    "grade",
)
HIT_KEYS = ("measure_id", "entry", "via", "until")


class ScenarioError(Exception):
    """A scenario file that cannot be run as written (not a failed expectation)."""


def check_expectations(step: dict[str, Any], where: str) -> None:
    """Refuse a check step that would assert nothing, or that names an unknown expectation."""
    if "check" not in step:
        return
    if "expect_error" in step:
        return
    if "expect" not in step:
        raise ScenarioError(f"{where}: a check step needs expect (or expect_error)")
    expect = step["expect"]
    if not isinstance(expect, dict) or not expect:
        raise ScenarioError(f"{where}: expect must name at least one of {CHECK_EXPECTATIONS}")
    unknown = sorted(set(expect) - set(CHECK_EXPECTATIONS))
    if unknown:
        raise ScenarioError(f"{where}: unknown expectations {unknown}; known: {CHECK_EXPECTATIONS}")
    for hit in expect.get("hits", []):
        if not isinstance(hit, dict) or not {"measure_id", "entry"} <= set(hit) <= set(HIT_KEYS):
            raise ScenarioError(f"{where}: a hit names measure_id, entry, via?, until?: {hit}")


def bundle_dir(name: str) -> Path:
    """``shipped`` or a fixture bundle's directory name."""
    return SHIPPED_POLICY_DIR if name == "shipped" else FIXTURES / "bundles" / name


@dataclass
class ScenarioRun:
    service: Service
    aliases: dict[str, str] = field(default_factory=dict)
    entry_ids: dict[str, str] = field(default_factory=dict)

    def subject(self, value: str) -> str:
        return self.aliases.get(value, value)

    def entry(self, alias: str) -> str:
        return self.entry_ids[alias]


def start(db_url: str, scenario: dict[str, Any]) -> ScenarioRun:
    """A service on a fresh database with the scenario's bundle."""
    settings = Settings(db=db_url, policy=bundle_dir(scenario.get("bundle", "scenarios")))
    run = ScenarioRun(Service.start(settings))
    run.aliases.update(scenario.get("aliases", {}))
    return run


def run_step(run: ScenarioRun, step: dict[str, Any], where: str) -> None:
    """Execute one step and assert its expectations (``where`` names the file and step)."""
    check_expectations(step, where)
    (kind,) = [k for k in step if not k.startswith("expect")]
    handler = _STEPS[kind]
    try:
        handler(run, step[kind], step, where)
    except JrpError as exc:
        expected = step.get("expect_error")
        assert expected == exc.code, f"{where}: unexpected error {exc.code}: {exc.message}"
        return
    assert "expect_error" not in step, f"{where}: expected error {step['expect_error']}"


def _subjects(
    run: ScenarioRun, items: list[dict[str, Any]], _step: dict[str, Any], _where: str
) -> None:
    new = [
        NewEvent(
            EventType.subject_upserted,
            {"id": run.subject(i["id"]), "kind": i["kind"], "name": i.get("name"), "region": None},
            subject_id=run.subject(i["id"]),
        )
        for i in items
    ]
    run.service.write(lambda _session, _state: new)


def _relations(
    run: ScenarioRun, items: list[dict[str, Any]], _step: dict[str, Any], _where: str
) -> None:
    new = [
        NewEvent(
            EventType.relation_recorded,
            {
                "org_id": run.subject(i["org_id"]),
                "person_id": run.subject(i["person_id"]),
                "role": i["role"],
                "start": str(i["start"]),
                "end": None if i.get("end") is None else str(i["end"]),
            },
        )
        for i in items
    ]
    run.service.write(lambda _session, _state: new)


def _entry(run: ScenarioRun, spec: dict[str, Any], step: dict[str, Any], where: str) -> None:
    body = {k: v for k, v in spec.items() if k not in ("as", "department", "key")}
    body["subject_id"] = run.subject(body["subject_id"])
    answer = entries.register(
        run.service,
        EntryCreate.model_validate(body),
        caller_name=f"scenario-{spec['department']}",
        department=spec["department"],
        idempotency_key=spec.get("key"),
    )
    run.entry_ids[spec["as"]] = answer["entry"]["id"]
    if "expect_triggered" in step:
        triggered = [t["memorandum_id"] for t in answer["triggered"]]
        assert triggered == step["expect_triggered"], f"{where}: triggered {triggered}"
    if "expect_derived" in step:
        derived = [d["entry"]["list"] for d in answer["derived"]]
        assert derived == step["expect_derived"], f"{where}: derived {derived}"
    for index, derived in enumerate(answer["derived"]):
        run.entry_ids[f"{spec['as']}.derived{index}"] = derived["entry"]["id"]


def _lifecycle(action: str) -> Any:
    def handler(run: ScenarioRun, spec: dict[str, Any], step: dict[str, Any], where: str) -> None:
        entry_id = run.entry(spec["entry"])
        who = {"actor": "scenario", "department": spec.get("department", "ndrc")}
        if action == "revoke":
            view = entries.revoke(run.service, entry_id, **who)
        elif action == "objection":
            view = entries.raise_objection(run.service, entry_id, spec.get("reason", "异议"), **who)
        elif action == "resolution":
            view = entries.resolve_objection(
                run.service, entry_id, spec["outcome"], spec.get("note"), **who
            )
        else:
            view = entries.repair(run.service, entry_id, spec.get("note"), **who)
        if "expect_status" in step:
            assert view["status"] == step["expect_status"], f"{where}: status {view['status']}"

    return handler


def _check(run: ScenarioRun, spec: dict[str, Any], step: dict[str, Any], where: str) -> None:
    request = checks.CheckRequest.model_validate(
        {**spec, "subject_id": run.subject(spec["subject_id"])}
    )
    decision = decide(run.service, request, caller="scenario", department="scenario")
    body = decision.response
    assert body["decision_id"] == decision.decision_id, where
    expect = step.get("expect", {})  # none only with expect_error (check_expectations)
    reverse = {v: k for k, v in run.entry_ids.items()}
    names = {v: k for k, v in run.aliases.items()}
    for key in ("outcome", "binding_outcome", "incentives_withheld", "known_subject"):
        if key in expect:
            assert body[key] == expect[key], f"{where}: {key} {body[key]!r} != {expect[key]!r}"
    if "grade" in expect:  # the grade the answer used (docs/grades.md); null: none consulted
        assert body.get("grade") == expect["grade"], f"{where}: grade {body.get('grade')!r}"
    if "hits" in expect:
        got = [
            {
                "measure_id": hit["measure_id"],
                "entry": reverse.get(hit["entry_id"], hit["entry_id"]),
                "via": None
                if hit["via"] is None
                else {k: names.get(v, v) for k, v in hit["via"].items()},
                "until": hit["until"],
            }
            for hit in body["hits"]
        ]
        wanted = [
            {
                "measure_id": hit["measure_id"],
                "entry": hit["entry"],
                "via": hit.get("via"),
                "until": None if hit.get("until") is None else str(hit["until"]),
            }
            for hit in expect["hits"]
        ]
        assert got == wanted, f"{where}: hits"


_STEPS = {
    "subjects": _subjects,
    "relations": _relations,
    "entry": _entry,
    "revoke": _lifecycle("revoke"),
    "objection": _lifecycle("objection"),
    "resolution": _lifecycle("resolution"),
    "repair": _lifecycle("repair"),
    "check": _check,
}


def load(path: Path) -> dict[str, Any]:
    """A scenario file, with ISO dates left as strings."""
    from measures.yaml_positions import PolicyLoader

    with path.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.load(handle, Loader=PolicyLoader)
    return loaded
