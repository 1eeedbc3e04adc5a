"""What a policy edit would change now (``POST /v1/policy/impact``, ``jrp impact``).

Every (subject, matter) the edit can change is evaluated on the current state at ``as_of``
under the policy in force and under the new bundle, with the check path's own evaluation
(``engine.checks.evaluate_matters``: one walk per subject answers every matter, exactly as
``evaluate`` answers one), and the answers compared. Nothing is written.

Only what the edit can change is evaluated (docs/performance.md#policy-impact): a hit comes
from a memorandum triggered by an entry in force, so when the vocabulary (lists, settings)
is unchanged only subjects reached by in-force entries on lists watched by a changed
memorandum can change, and only for the matters of that memorandum's measures (plus the
incentive matters when it watches a list that withholds incentives). A changed vocabulary
evaluates every subject an in-force entry reaches, for every matter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import structlog

from engine.checks.evaluation import Evaluation, counterparts, evaluate_matters
from engine.errors import InvalidPolicy
from engine.policy.bundles import parse_bundle
from engine.policy.diff import changed_memoranda, diff_bundles
from engine.policy.runtime import PolicyRuntime
from engine.policy.versions import compile_policy
from engine.state import State
from engine.timing import china_today
from measures import yaml_positions
from measures.bundle import Bundle
from measures.schema import Effect, ListKind
from measures.yaml_positions import InvalidBundle, Problem

if TYPE_CHECKING:
    from engine.service import Service

log = structlog.get_logger(__name__)

MAX_FILE_BYTES = yaml_positions.MAX_FILE_BYTES
"""An uploaded bundle file larger than this is refused (the reader's one limit)."""

MAX_FILES = 1000


def uploaded_bundle(files: Mapping[str, str]) -> Bundle:
    """A bundle sent as ``{relative path: YAML text}``; ``InvalidPolicy`` naming each bad file.

    Paths must stay inside the bundle (relative, no ``..``, no empty or dot component) and
    end in ``.yaml``; files are at most ``MAX_FILE_BYTES``. YAML alias bombs are refused by
    the reader (``measures.yaml_positions``).
    """
    problems: list[Problem] = []
    raw: dict[str, bytes] = {}
    if not files:
        problems.append(Problem("", 0, "no files: send the whole bundle"))
    if len(files) > MAX_FILES:
        problems.append(Problem("", 0, f"{len(files)} files; at most {MAX_FILES}"))
    for path, text in files.items():
        problem = _path_problem(path)
        if problem is not None:
            problems.append(Problem(path, 0, problem))
            continue
        data = text.encode("utf-8", "surrogatepass")
        if len(data) > MAX_FILE_BYTES:
            problems.append(
                Problem(path, 0, f"file too large: {len(data)} bytes; at most {MAX_FILE_BYTES}")
            )
            continue
        raw[path] = data
    if problems:
        raise InvalidPolicy.of(InvalidBundle(problems))
    return parse_bundle(raw)


def _path_problem(path: str) -> str | None:
    if not path or "\\" in path or "\0" in path or path.startswith("/") or ":" in path:
        return "path must be relative to the bundle, with '/' between directories"
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "path must stay inside the bundle (no '..', '.' or empty parts)"
    if any(part.startswith(".") for part in parts):
        return "a file or directory whose name starts with '.' is not part of a bundle"
    if not path.endswith(".yaml"):
        return "only .yaml files belong to a bundle"
    return None


def impact(
    state: State, current: PolicyRuntime, bundle: Bundle, *, as_of: dt.date | None = None
) -> dict[str, Any]:
    """The contract's impact report of putting ``bundle`` in force instead of ``current``."""
    day = as_of or china_today()
    loaded = compile_policy(bundle)
    try:
        return _report(state, current, loaded.runtime, day)
    finally:
        loaded.compiled.close()


def _report(state: State, old: PolicyRuntime, new: PolicyRuntime, day: dt.date) -> dict[str, Any]:
    diff = diff_bundles(old.bundle, new.bundle)
    lists, matters = _scope(old.bundle, new.bundle)
    with state.lock:
        subjects = _reached(state, lists, day)
    changes: list[dict[str, Any]] = []
    before_by_measure: dict[str, set[str]] = {}
    after_by_measure: dict[str, set[str]] = {}
    for subject_id in sorted(subjects):
        # One walk of the subject per policy answers every matter (``evaluate_matters``).
        with state.lock:
            befores = evaluate_matters(state, old, subject_id=subject_id, matters=matters, day=day)
            afters = evaluate_matters(state, new, subject_id=subject_id, matters=matters, day=day)
        for matter in matters:
            before, after = befores[matter], afters[matter]
            for hit in before.hits:
                before_by_measure.setdefault(hit.measure.id, set()).add(subject_id)
            for hit in after.hits:
                after_by_measure.setdefault(hit.measure.id, set()).add(subject_id)
            shown_before, shown_after = _shown(before), _shown(after)
            if shown_before != shown_after:
                changes.append(
                    {"subject_id": subject_id, "matter": matter, "before": shown_before,
                     "after": shown_after}
                )  # fmt: skip
    named = {
        *diff["measures_added"],
        *diff["measures_removed"],
        *(item["measure_id"] for item in diff["measures_changed"]),
    }
    by_measure = [
        {
            "measure_id": measure_id,
            "subjects_before": len(before_by_measure.get(measure_id, ())),
            "subjects_after": len(after_by_measure.get(measure_id, ())),
        }
        for measure_id in sorted(named | before_by_measure.keys() | after_by_measure.keys())
        if measure_id in named
        or len(before_by_measure.get(measure_id, ())) != len(after_by_measure.get(measure_id, ()))
    ]
    log.info(
        "policy.impact_computed",
        subjects=len(subjects),
        matters=len(matters),
        pairs_changed=len(changes),
    )
    return {
        "from_version": old.version,
        "to_version": new.version,
        "diff": diff,
        "summary": {
            "subjects_affected": len({change["subject_id"] for change in changes}),
            "pairs_changed": len(changes),
            "by_measure": by_measure,
        },
        "changes": changes,
    }


def _shown(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "outcome": evaluation.outcome,
        "binding_outcome": evaluation.binding_outcome,
        "measure_ids": sorted({hit.measure.id for hit in evaluation.hits}),
    }


def _scope(old: Bundle, new: Bundle) -> tuple[set[str] | None, list[str]]:
    """The lists whose entries can change an answer (None: all) and the matters to evaluate."""
    all_matters = sorted(old.vocabulary.matters.keys() | new.vocabulary.matters.keys())
    if old.vocabulary != new.vocabulary:
        return None, all_matters
    memoranda = changed_memoranda(old, new)
    lists = {trigger.list for memo in memoranda for trigger in memo.triggers}
    matters = {matter for memo in memoranda for m in memo.measures for matter in m.matters}
    blocking = set(new.vocabulary.settings.incentives_blocked_by)
    if any(ListKind(new.vocabulary.lists[code].kind) in blocking for code in lists
           if code in new.vocabulary.lists):  # fmt: skip
        matters |= {
            matter
            for bundle in (old, new)
            for measure in bundle.measures.values()
            if measure.effect is Effect.incentive
            for matter in measure.matters
        }
    return lists, sorted(matters)


def _reached(state: State, lists: set[str] | None, day: dt.date) -> set[str]:
    """Subjects of in-force entries on ``lists`` (None: any) and all who hold a role with them."""
    subjects: set[str] = set()
    for entry in _in_force(state.entries.values(), lists, day):
        subjects.add(entry.subject_id)
        kind = state.subjects[entry.subject_id].kind
        subjects.update(
            other for _holding, other, _via in counterparts(state, entry.subject_id, kind)
        )
    return subjects


def _in_force(entries: Iterable[Any], lists: set[str] | None, day: dt.date) -> Iterable[Any]:
    return (e for e in entries if (lists is None or e.list in lists) and e.in_force(day))


def policy_impact(
    service: Service, files: Mapping[str, str], *, as_of: dt.date | None = None
) -> dict[str, Any]:
    """``POST /v1/policy/impact``: an uploaded bundle's impact on the state as it is now."""
    bundle = uploaded_bundle(files)
    service.catch_up()
    return impact(service.state, service.policy.runtime, bundle, as_of=as_of)


def versions_diff(service: Service, from_version: str, to_version: str) -> dict[str, Any]:
    """``GET /v1/policy/diff``: the diff of two stored versions (404 for an unknown one)."""
    old = parse_bundle(service.policies.files(from_version))
    new = parse_bundle(service.policies.files(to_version))
    return diff_bundles(old, new)
