"""``jrp test DIR``: run a bundle's policy tests through the service's own code.

Each case gets an empty state of its own: a fresh SQLite database (a copy of one migrated
template) and a ``Service`` on it with the bundle in force. Subjects, relations and entries
are written through the service's write path (``engine.registry``, ``engine.entries``:
registration with derivations, lifecycle transitions for a ``status``), and each check is
answered by ``engine.checks`` exactly as ``POST /v1/checks`` answers it. There is no second
implementation of the semantics here: only setting up, asking and comparing.

The bundle is compiled once for the whole run and shared by the cases' services.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from engine import checks, entries
from engine.errors import InvalidPolicy, JrpError
from engine.grades.views import grade_view
from engine.policy import storage as policy_store
from engine.policy.versions import PolicyVersions
from engine.policytest.cases import (
    PlannedCase,
    PlannedCheck,
    PlannedGrade,
    TestFile,
    read_test_file,
)
from engine.registry.service import record_relations, upsert_subjects
from engine.service import Service
from engine.store import db
from engine.timing import CHINA, china_now, fixed_today
from measures import loader
from measures.bundle import Bundle
from measures.yaml_positions import InvalidBundle, Problem, read_yaml

log = structlog.get_logger(__name__)

ACTOR = "jrp-test"


@dataclass(frozen=True)
class Failure:
    file: str
    line: int
    case: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "case": self.case, "message": self.message}


@dataclass(frozen=True)
class Uncovered:
    measure_id: str
    file: str
    line: int

    def to_dict(self) -> dict[str, Any]:
        return {"measure_id": self.measure_id, "file": self.file, "line": self.line}


@dataclass
class TestReport:
    passed: int = 0
    failures: list[Failure] = field(default_factory=list)
    covered: set[str] = field(default_factory=set)
    measures: list[Uncovered] = field(default_factory=list)
    """Every measure of the bundle with its place (in bundle order)."""

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def uncovered(self) -> list[Uncovered]:
        return [m for m in self.measures if m.measure_id not in self.covered]

    @property
    def coverage_percent(self) -> float:
        total = len(self.measures)
        return 100.0 if total == 0 else 100.0 * len(self.covered) / total

    def to_dict(self) -> dict[str, Any]:
        """The contract's ``--json`` report."""
        return {
            "passed": self.passed,
            "failed": self.failed,
            "failures": [failure.to_dict() for failure in self.failures],
            "coverage": {
                "covered": len(self.covered),
                "total": len(self.measures),
                "uncovered": [m.to_dict() for m in self.uncovered],
            },
        }


def test_files(directory: Path) -> dict[str, bytes]:
    """Every ``*_test.yaml`` under ``directory`` (relative POSIX path -> bytes), sorted."""
    found = {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in directory.rglob("*" + loader.TEST_SUFFIX)
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(directory).parts)
    }
    return dict(sorted(found.items()))


def load_tests(directory: Path) -> tuple[Bundle, list[TestFile]]:
    """The bundle and its test files; ``InvalidPolicy`` with every problem of either."""
    try:
        bundle = loader.load_bundle(directory)
    except InvalidBundle as exc:
        raise InvalidPolicy.of(exc) from None
    problems: list[Problem] = []
    files: list[TestFile] = []
    for path, raw in test_files(directory).items():
        test_file, found = read_test_file(path, raw, bundle)
        problems += found
        files.append(test_file)
    if problems:
        raise InvalidPolicy.of(InvalidBundle(problems))
    return bundle, files


def run_tests(directory: Path) -> TestReport:
    """Run every test file of the bundle in ``directory``; ``InvalidPolicy`` when invalid."""
    bundle, files = load_tests(directory)
    report = TestReport(measures=measure_places(bundle))
    with _Sandbox(bundle, directory) as sandbox:
        for test_file in files:
            for case in test_file.cases:
                sandbox.run_case(test_file.path, case, report)
    log.info("policy_test.finished", passed=report.passed, failed=report.failed)
    return report


def measure_places(bundle: Bundle) -> list[Uncovered]:
    """Every measure of the bundle with the file and line where it is written."""
    places: list[Uncovered] = []
    for memo in bundle.memoranda.values():
        positions = read_yaml(memo.path, bundle.files[memo.path]).positions
        for index, measure in enumerate(memo.measures):
            places.append(Uncovered(measure.id, memo.path, positions.line(("measures", index))))
    return places


class _SharedVersions(PolicyVersions):
    """The run's compiled policy, lent to each case's service (which must not release it)."""

    def close(self) -> None:
        pass

    def release(self) -> None:
        super().close()


class _Sandbox:
    """A migrated template database and the compiled bundle; a fresh service per case."""

    def __init__(self, bundle: Bundle, directory: Path) -> None:
        self.bundle = bundle
        self.directory = directory
        self._tmp = tempfile.TemporaryDirectory(prefix="jrp-test-")
        self.root = Path(self._tmp.name)
        self.template = self.root / "template.db"
        engine = db.create_db_engine(f"sqlite:///{self.template}")
        db.migrate(engine)
        engine.dispose()
        self.versions = _SharedVersions(engine)
        self.versions.add(bundle)
        self._count = 0

    def __enter__(self) -> _Sandbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.versions.release()
        self._tmp.cleanup()

    @contextmanager
    def service(self) -> Iterator[Service]:
        """A service on an empty database of its own with the bundle in force."""
        self._count += 1
        path = self.root / f"case-{self._count}.db"
        shutil.copyfile(self.template, path)
        service = Service(
            engine=db.create_db_engine(f"sqlite:///{path}"), policy_dir=self.directory
        )
        service.policies = self.versions
        bundle = self.bundle
        try:
            service.write(lambda session, _state: policy_store.in_force_events(session, bundle))
            yield service
        finally:
            service.close()
            for leftover in self.root.glob(f"{path.name}*"):
                leftover.unlink()

    def run_case(self, path: str, case: PlannedCase, report: TestReport) -> None:
        with fixed_today(case.today), self.service() as service:
            try:
                _set_up(service, case)
            except JrpError as exc:
                for line in [c.line for c in case.checks] + [g.line for g in case.grades]:
                    report.failures.append(
                        Failure(path, line, case.name, f"setting up the case failed: "
                                f"{exc.message} {exc.details or ''}".strip())
                    )  # fmt: skip
                return
            for check in case.checks:
                body = _answer(service, check, case.today)
                problems = _compare(check, body)
                if problems:
                    report.failures.append(Failure(path, check.line, case.name, problems))
                else:
                    report.passed += 1
                    report.covered.update(hit["measure_id"] for hit in body["hits"])
            for grade in case.grades:
                problem = _grade_problem(service, grade, case.today)
                if problem:
                    report.failures.append(Failure(path, grade.line, case.name, problem))
                else:
                    report.passed += 1


def _set_up(service: Service, case: PlannedCase) -> None:
    """Subjects, then relations, then entries (in order, derivations run), then statuses."""
    if case.subjects:
        upsert_subjects(service, case.subjects, actor=ACTOR)
    if case.relations:
        record_relations(service, case.relations, actor=ACTOR)
    for planned in case.entries:
        answer = entries.register(
            service, planned.request, caller_name=ACTOR, department=planned.department
        )
        entry_id = answer["entry"]["id"]
        department = planned.department
        if planned.status == "revoked":
            entries.revoke(service, entry_id, actor=ACTOR, department=department)
        elif planned.status == "under_objection":
            entries.raise_objection(
                service, entry_id, "policy test", actor=ACTOR, department=department
            )
        elif planned.status == "repaired":
            entries.repair(service, entry_id, "policy test", actor=ACTOR, department=department)


def _answer(service: Service, check: PlannedCheck, today: dt.date | None) -> dict[str, Any]:
    """The check's answer as ``POST /v1/checks`` gives it (without logging it)."""
    as_of = check.as_of
    if as_of is None and today is not None:
        as_of = dt.datetime.combine(today, dt.time(), CHINA)
    request = checks.CheckRequest(subject_id=check.subject_id, matter=check.matter, as_of=as_of)
    service.catch_up()
    with service.state.lock:
        runtime = service.policy.runtime
        normalized = checks.normalized_request(
            request, vocabulary_matters=runtime.bundle.vocabulary.matters, now=china_now()
        )
        return checks.answer(service.state, runtime, normalized, decision_id="policy-test")


def _grade_problem(service: Service, grade: PlannedGrade, today: dt.date | None) -> str:
    """'' when the subject's grade at ``as_of`` is as expected; else what came instead."""
    moment = grade.as_of or (
        dt.datetime.combine(today, dt.time(), CHINA) if today is not None else china_now()
    )
    service.catch_up()
    with service.state.lock:
        try:
            body = grade_view(
                service.state, service.policy.bundle, grade.subject_id,
                moment.astimezone(CHINA).date(),
            )  # fmt: skip
        except JrpError as exc:
            return f"expected a grade, got {exc.code}: {exc.message}"
    expect = grade.expect
    wrong = [
        f"expected {key} {wanted:g}" if isinstance(wanted, float) else f"expected {key} {wanted}"
        for key in ("grade", "score", "label")
        if (wanted := getattr(expect, key)) is not None and body[key] != wanted
    ]
    if not wrong:
        return ""
    return f"{'; '.join(wrong)}, got grade {body['grade']} (score {body['score']})"


def _compare(check: PlannedCheck, body: dict[str, Any]) -> str:
    """'' when every expectation holds; else what was expected and what came."""
    expect = check.expect
    wrong: list[str] = []
    for key in ("outcome", "binding_outcome", "incentives_withheld"):
        wanted = getattr(expect, key)
        if wanted is not None and body[key] != wanted:
            wrong.append(f"expected {key} {_shown(wanted)}, got {_shown(body[key])}")
    if expect.hits is not None:
        got = sorted({hit["measure_id"] for hit in body["hits"]})
        if got != sorted(set(expect.hits)):
            wrong.append(f"expected hits [{', '.join(sorted(set(expect.hits)))}], "
                         f"got [{', '.join(got)}]")  # fmt: skip
    return "; ".join(wrong)


def _shown(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
