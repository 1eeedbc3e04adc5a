"""Cross-file rules of a policy bundle (docs/policy-format.md), and resolution into a ``Bundle``.

Each file has already passed its own schema (``measures.schema``); here every reference is
checked against the vocabulary and the catalogue, ids are checked for uniqueness, effects
against the memorandum's kind and conditions against the engine's size limit, each problem
located at the ``file:line`` of the offending key or item.

Id namespaces: memorandum ids are unique in the bundle; memorandum measure ids (written out
or given with ``ref``) are unique across all memoranda, since they are what a check returns;
catalogue measure ids are a separate namespace, named only by ``ref``, and unique within the
catalogue; derivation ids are unique within derivations.yaml.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from measures.bundle import Bundle, BundleGradeTrigger, BundleTrigger, Measure, Memorandum
from measures.limits import condition_problem
from measures.schema import (
    AbsenceDerivation,
    CatalogueFile,
    Derivation,
    DerivationsFile,
    Effect,
    ExchangeFile,
    GradesFile,
    GradeTrigger,
    ListKind,
    ListSelector,
    MeasureDefinition,
    MeasureReference,
    MemorandumFile,
    MemorandumKind,
    Vocabulary,
)
from measures.yaml_positions import Loc, Positions, Problem

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Source(Generic[M]):
    """One file that passed its schema: its relative path, model and key positions."""

    path: str
    model: M
    positions: Positions

    def problem(self, message: str, *loc: str | int) -> Problem:
        """A problem at the line of ``loc`` (or of its closest ancestor) in this file."""
        return Problem(self.path, self.positions.line(loc), message)

    def where(self, *loc: str | int) -> str:
        """``path:line`` of ``loc``, to point from one problem to another place."""
        return f"{self.path}:{self.positions.line(loc)}"


@dataclass(frozen=True)
class ParsedBundle:
    """The bundle's files after their schemas; None marks a file that is missing or broken.

    An absent catalogue.yaml or derivations.yaml is an empty one; a broken one is None so
    that references into it are not reported a second time as unknown.
    """

    vocabulary: Source[Vocabulary] | None
    catalogue: Source[CatalogueFile] | None
    derivations: Source[DerivationsFile] | None
    memoranda: list[Source[MemorandumFile]]
    grades: Source[GradesFile] | None = None
    grades_broken: bool = False
    """grades.yaml is present but did not pass its schema (its grades are unknown)."""
    exchange: Source[ExchangeFile] | None = None


def check_bundle(parsed: ParsedBundle) -> list[Problem]:
    """Every cross-reference problem of a parsed bundle, each at its own file and line."""
    vocabulary = parsed.vocabulary.model if parsed.vocabulary else None
    problems: list[Problem] = []
    if parsed.vocabulary is not None:
        problems += _vocabulary_problems(parsed.vocabulary)
    if parsed.catalogue is not None:
        problems += _catalogue_problems(parsed.catalogue, vocabulary)
    if parsed.derivations is not None:
        problems += _derivation_problems(parsed.derivations, vocabulary)
    catalogue = (
        {m.id: m for m in parsed.catalogue.model.measures} if parsed.catalogue is not None else None
    )
    problems += _memoranda_problems(parsed.memoranda, vocabulary, catalogue)
    if parsed.grades is not None:
        problems += _grades_problems(parsed.grades, vocabulary)
    if not parsed.grades_broken:
        known = None if parsed.grades is None else {g.grade for g in parsed.grades.model.grades}
        problems += _grade_trigger_problems(parsed.memoranda, known)
    if parsed.exchange is not None:
        problems += _exchange_problems(parsed.exchange, vocabulary)
    return problems


def _exchange_problems(
    source: Source[ExchangeFile], vocabulary: Vocabulary | None
) -> list[Problem]:
    """Local lists of exchange.yaml the vocabulary lacks; a peer list both imported and ignored."""
    model = source.model
    problems: list[Problem] = []
    known = None if vocabulary is None else set(vocabulary.lists)
    if known is not None:
        for i, code in enumerate(model.exports):
            if code not in known:
                problems.append(source.problem(f"unknown list '{code}'", "exports", i))
        for peer_list, local in model.imports.items():
            if local not in known:
                problems.append(
                    source.problem(f"unknown list '{local}' (local list)", "imports", peer_list)
                )
    for i, code in enumerate(model.ignore):
        if code in model.imports:
            problems.append(
                source.problem(
                    f"'{code}' is both imported (at {source.where('imports', code)}) and ignored",
                    "ignore",
                    i,
                )
            )
    return problems


def build_bundle(
    *,
    vocabulary: Vocabulary,
    catalogue: CatalogueFile,
    derivations: DerivationsFile,
    memoranda: Iterable[Source[MemorandumFile]],
    version: str,
    files: dict[str, bytes],
    grades: GradesFile | None = None,
    exchange: ExchangeFile | None = None,
) -> Bundle:
    """The resolved bundle, from files that passed ``check_bundle`` without a problem."""
    by_ref = {m.id: m for m in catalogue.measures}
    resolved: dict[str, Memorandum] = {}
    for source in memoranda:
        memo = source.model
        resolved[memo.id] = Memorandum(
            id=memo.id,
            title=memo.title,
            doc_no=memo.doc_no,
            kind=memo.kind,
            issued_on=memo.issued_on,
            triggers=tuple(
                BundleTrigger(memo.id, i, t.list, tuple(t.subject_kinds), t.when)
                for i, t in enumerate(memo.triggers)
                if not isinstance(t, GradeTrigger)
            ),
            measures=tuple(_resolve(memo.id, m, by_ref) for m in memo.measures),
            path=source.path,
            grade_triggers=tuple(
                BundleGradeTrigger(memo.id, i, tuple(t.grade), tuple(t.subject_kinds))
                for i, t in enumerate(memo.triggers)
                if isinstance(t, GradeTrigger)
            ),
        )
    return Bundle(
        version=version,
        vocabulary=vocabulary,
        memoranda=resolved,
        derivations=tuple(d for d in derivations.derivations if isinstance(d, Derivation)),
        files=files,
        grades=grades,
        exchange=exchange,
        absence_derivations=tuple(
            d for d in derivations.derivations if isinstance(d, AbsenceDerivation)
        ),
    )


def _resolve(
    memorandum_id: str,
    measure: MeasureDefinition | MeasureReference,
    catalogue: Mapping[str, MeasureDefinition],
) -> Measure:
    if isinstance(measure, MeasureDefinition):
        base, ref = measure, None
        mandatory, subject_kinds = measure.mandatory, measure.subject_kinds
        duration_days, propagate = measure.duration_days, measure.propagate
    else:
        base, ref = catalogue[measure.ref], measure.ref
        mandatory = base.mandatory if measure.mandatory is None else measure.mandatory
        subject_kinds = measure.subject_kinds or base.subject_kinds
        # An explicit ``duration_days: null`` overrides a catalogue duration with "no end".
        overrides_duration = "duration_days" in measure.model_fields_set
        duration_days = measure.duration_days if overrides_duration else base.duration_days
        propagate = base.propagate if measure.propagate is None else measure.propagate
    return Measure(
        id=measure.id,
        memorandum_id=memorandum_id,
        text=base.text,
        effect=base.effect,
        mandatory=mandatory,
        matters=tuple(base.matters),
        implementing=tuple(base.implementing),
        legal_basis=base.legal_basis,
        note=measure.note or base.note,
        subject_kinds=tuple(subject_kinds),
        duration_days=duration_days,
        propagate=tuple(propagate),
        catalogue_ref=ref,
    )


def _unknown(
    source: Source[M],
    what: str,
    codes: Iterable[str],
    known: Collection[str] | None,
    *loc: str | int,
) -> Iterator[Problem]:
    """Codes not in ``known``; with no valid vocabulary (``None``) nothing is reported twice."""
    if known is None:
        return
    for i, code in enumerate(codes):
        if code not in known:
            yield source.problem(f"unknown {what} '{code}'", *loc, i)


def _vocabulary_problems(source: Source[Vocabulary]) -> Iterator[Problem]:
    departments = source.model.departments
    for code, definition in source.model.lists.items():
        yield from _unknown(
            source, "department", definition.owners, departments, "lists", code, "owners"
        )
        high = definition.max_publicity_days
        if high is not None and definition.min_publicity_days > high:
            # Reported where the list says one of them (a severity may have set the other).
            given = source.positions.has(("lists", code, "max_publicity_days"))
            where = "max_publicity_days" if given else "min_publicity_days"
            yield source.problem(
                f"min_publicity_days ({definition.min_publicity_days}) is more than "
                f"max_publicity_days ({high})",
                "lists",
                code,
                where,
            )


def _measure_problems(
    source: Source[M],
    measure: MeasureDefinition | MeasureReference,
    vocabulary: Vocabulary | None,
    loc: Loc,
) -> Iterator[Problem]:
    """Unknown matters, departments and roles of one measure (or of a ref's overrides)."""
    if isinstance(measure, MeasureDefinition):
        matters = vocabulary.matters if vocabulary else None
        departments = vocabulary.departments if vocabulary else None
        yield from _unknown(source, "matter", measure.matters, matters, *loc, "matters")
        yield from _unknown(
            source, "department", measure.implementing, departments, *loc, "implementing"
        )
    roles = vocabulary.roles if vocabulary else None
    for i, propagation in enumerate(measure.propagate or []):
        yield from _unknown(source, "role", propagation.roles, roles, *loc, "propagate", i, "roles")


def _catalogue_problems(
    source: Source[CatalogueFile], vocabulary: Vocabulary | None
) -> Iterator[Problem]:
    first: dict[str, str] = {}
    for i, measure in enumerate(source.model.measures):
        if measure.id in first:
            yield source.problem(
                f"duplicate catalogue measure id '{measure.id}' (also at {first[measure.id]})",
                "measures",
                i,
                "id",
            )
        first.setdefault(measure.id, source.where("measures", i, "id"))
        yield from _measure_problems(source, measure, vocabulary, ("measures", i))


def _derivation_problems(
    source: Source[DerivationsFile], vocabulary: Vocabulary | None
) -> Iterator[Problem]:
    lists = vocabulary.lists if vocabulary else None
    first: dict[str, str] = {}
    for i, derivation in enumerate(source.model.derivations):
        loc = ("derivations", i)
        if derivation.id in first:
            yield source.problem(
                f"duplicate derivation id '{derivation.id}' (also at {first[derivation.id]})",
                *loc,
                "id",
            )
        first.setdefault(derivation.id, source.where(*loc, "id"))
        if isinstance(derivation, AbsenceDerivation):
            yield from _absence_problems(source, derivation, vocabulary, loc)
            continue
        for key in ("from_list", "derive_list"):
            code = getattr(derivation, key)
            if lists is not None and code not in lists:
                yield source.problem(f"unknown list '{code}'", *loc, key)
        if derivation.from_list == derivation.derive_list:
            yield source.problem(
                f"derive_list '{derivation.derive_list}' is the list it counts (from_list): "
                "a derived entry would count towards deriving itself",
                *loc,
                "derive_list",
            )


def _memoranda_problems(
    memoranda: Iterable[Source[MemorandumFile]],
    vocabulary: Vocabulary | None,
    catalogue: Mapping[str, MeasureDefinition] | None,
) -> Iterator[Problem]:
    lists = vocabulary.lists if vocabulary else None
    first_memo: dict[str, str] = {}
    first_measure: dict[str, str] = {}
    for source in memoranda:
        memo = source.model
        if memo.id in first_memo:
            yield source.problem(
                f"duplicate memorandum id '{memo.id}' (also at {first_memo[memo.id]})", "id"
            )
        first_memo.setdefault(memo.id, source.where("id"))
        for i, trigger in enumerate(memo.triggers):
            if isinstance(trigger, GradeTrigger):
                continue  # checked against the grades model (_grade_trigger_problems)
            if lists is not None and trigger.list not in lists:
                yield source.problem(f"unknown list '{trigger.list}'", "triggers", i, "list")
            too_large = condition_problem(trigger.when)
            if too_large:
                yield source.problem(too_large, "triggers", i, "when")
        for i, measure in enumerate(memo.measures):
            loc = ("measures", i)
            if measure.id in first_measure:
                yield source.problem(
                    f"duplicate measure id '{measure.id}' (also at {first_measure[measure.id]})",
                    *loc,
                    "id",
                )
            first_measure.setdefault(measure.id, source.where(*loc, "id"))
            yield from _measure_problems(source, measure, vocabulary, loc)
            yield from _effect_problems(source, memo.kind, measure, catalogue, loc)


def _effect_problems(
    source: Source[MemorandumFile],
    kind: MemorandumKind,
    measure: MeasureDefinition | MeasureReference,
    catalogue: Mapping[str, MeasureDefinition] | None,
    loc: Loc,
) -> Iterator[Problem]:
    """An unknown ``ref``, or an effect the memorandum's kind does not allow."""
    if isinstance(measure, MeasureDefinition):
        effect, key = measure.effect, "effect"
        subject = f"effect '{effect}' is"
    elif catalogue is None:
        return  # the catalogue is broken and reported; its effects are unknown
    elif measure.ref not in catalogue:
        yield source.problem(f"unknown catalogue measure '{measure.ref}'", *loc, "ref")
        return
    else:
        effect, key = catalogue[measure.ref].effect, "ref"
        subject = f"catalogue measure '{measure.ref}' has effect '{effect}', which is"
    if kind is MemorandumKind.punishment and effect is Effect.incentive:
        yield source.problem(f"{subject} not allowed in a punishment memorandum", *loc, key)
    elif kind is MemorandumKind.incentive and effect is not Effect.incentive:
        yield source.problem(
            f"{subject} not allowed in an incentive memorandum (only 'incentive')", *loc, key
        )


def legal_basis_problems(parsed: ParsedBundle) -> list[Problem]:
    """Memorandum measures that neither give a legal basis nor say plainly that there is none.

    ``jrp lint --require-legal-basis`` (docs/policy-format.md#legal-basis): a written-out measure
    needs ``legal_basis``, or ``legal_basis: null`` with a ``note``; a ``ref`` takes the
    catalogue measure's legal basis, so that measure needs one, or ``legal_basis: null`` with a
    ``note`` there or on the ``ref``. Each problem is at the line of the measure's ``id``.
    """
    catalogue = (
        {m.id: m for m in parsed.catalogue.model.measures} if parsed.catalogue is not None else {}
    )
    problems: list[Problem] = []
    for source in parsed.memoranda:
        for i, measure in enumerate(source.model.measures):
            if isinstance(measure, MeasureDefinition):
                if not measure.states_legal_basis:
                    problems.append(source.problem(
                        f"measure '{measure.id}' has no legal_basis: give one, or write "
                        "'legal_basis: null' with a 'note' saying its document gives none",
                        "measures", i, "id",
                    ))  # fmt: skip
                continue
            base = catalogue.get(measure.ref)
            if base is None or base.legal_basis is not None:
                continue  # an unknown ref is reported by check_bundle
            if "legal_basis" in base.model_fields_set and (base.note or measure.note):
                continue
            problems.append(source.problem(
                f"measure '{measure.id}' has no legal_basis: its catalogue measure "
                f"'{measure.ref}' gives none; give one there, or write 'legal_basis: null' there "
                "with a 'note' (there or on this ref) saying its document gives none",
                "measures", i, "id",
            ))  # fmt: skip
    grades = parsed.grades
    if grades is not None and not grades.model.states_legal_basis:
        problems.append(grades.problem(
            f"grades model '{grades.model.id}' has no legal_basis: give one, or write "
            "'legal_basis: null' with a 'note' saying it rests on no verified document",
            "id",
        ))  # fmt: skip
    return problems


def _absence_problems(
    source: Source[DerivationsFile],
    derivation: AbsenceDerivation,
    vocabulary: Vocabulary | None,
    loc: Loc,
) -> Iterator[Problem]:
    """An absence derivation's lists: known, a red ``derive_list``, not among those it counts."""
    lists = vocabulary.lists if vocabulary else None
    yield from _unknown(source, "list", derivation.absent_lists or [], lists, *loc, "absent_lists")
    if lists is None:
        return
    target = lists.get(derivation.derive_list)
    if target is None:
        yield source.problem(f"unknown list '{derivation.derive_list}'", *loc, "derive_list")
        return
    if target.kind is not ListKind.red:
        yield source.problem(
            f"derive_list '{derivation.derive_list}' is a {target.kind} list: a clean record "
            "puts the subject on a red list",
            *loc,
            "derive_list",
        )
    counted = set(derivation.absent_lists or []) | {
        code for code, d in lists.items() if d.kind in (derivation.absent_kinds or [])
    }
    if derivation.derive_list in counted:
        yield source.problem(
            f"derive_list '{derivation.derive_list}' is among the lists whose absence it needs",
            *loc,
            "derive_list",
        )


def _selector_problems(
    source: Source[GradesFile], selector: ListSelector, vocabulary: Vocabulary | None, loc: Loc
) -> Iterator[Problem]:
    lists = vocabulary.lists if vocabulary else None
    yield from _unknown(source, "list", selector.lists or [], lists, *loc, "lists")


def _grades_problems(
    source: Source[GradesFile], vocabulary: Vocabulary | None
) -> Iterator[Problem]:
    """Unknown lists, duplicate rule ids or grades, thresholds out of order (grades.yaml)."""
    model = source.model
    first: dict[str, str] = {}
    for key in ("deductions", "bonuses"):
        for i, rule in enumerate(getattr(model, key)):
            if rule.id in first:
                yield source.problem(
                    f"duplicate rule id '{rule.id}' (also at {first[rule.id]})", key, i, "id"
                )
            first.setdefault(rule.id, source.where(key, i, "id"))
            yield from _selector_problems(source, rule, vocabulary, (key, i))
    if model.clean_years is not None:
        yield from _selector_problems(source, model.clean_years, vocabulary, ("clean_years",))
    if (
        model.min_score is not None
        and model.max_score is not None
        and model.min_score > model.max_score
    ):
        yield source.problem(
            f"min_score ({model.min_score:g}) is more than max_score ({model.max_score:g})",
            "min_score",
        )
    seen: dict[str, str] = {}
    previous: float | None = None
    last = len(model.grades) - 1
    for i, level in enumerate(model.grades):
        if level.grade in seen:
            yield source.problem(
                f"duplicate grade '{level.grade}' (also at {seen[level.grade]})", "grades", i
            )
        seen.setdefault(level.grade, source.where("grades", i))
        if i == last:
            if level.min_score is not None:
                yield source.problem(
                    f"the last grade '{level.grade}' takes every lower score: leave out min_score",
                    "grades",
                    i,
                    "min_score",
                )
            continue
        if level.min_score is None:
            yield source.problem(
                f"grade '{level.grade}' needs min_score (only the last grade has none)",
                "grades",
                i,
            )
            continue
        if previous is not None and level.min_score >= previous:
            yield source.problem(
                f"min_score {level.min_score:g} of grade '{level.grade}' is not below the "
                f"grade above it ({previous:g}): grades go from highest to lowest",
                "grades",
                i,
                "min_score",
            )
        previous = level.min_score


def _grade_trigger_problems(
    memoranda: Iterable[Source[MemorandumFile]], known: Collection[str] | None
) -> Iterator[Problem]:
    """Grade triggers in a bundle without grades.yaml, or naming a grade it does not have."""
    for source in memoranda:
        for i, trigger in enumerate(source.model.triggers):
            if not isinstance(trigger, GradeTrigger):
                continue
            if known is None:
                yield source.problem(
                    "a grade trigger needs a grades model: the bundle has no grades.yaml",
                    "triggers",
                    i,
                    "grade",
                )
                continue
            for j, grade in enumerate(trigger.grade):
                if grade not in known:
                    yield source.problem(
                        f"unknown grade '{grade}'; grades.yaml has: {', '.join(sorted(known))}",
                        "triggers",
                        i,
                        "grade",
                        j,
                    )
