"""Loading a policy bundle: read the files, check each against its schema, then the whole.

File roles (docs/policy-format.md): ``vocabulary.yaml`` (required), ``catalogue.yaml``,
``derivations.yaml``, ``grades.yaml`` (optional, docs/grades.md) and ``exchange.yaml``
(optional, docs/exchange.md) are read at the bundle
root only; every other ``*.yaml`` file, in the root or any sub-directory, is one
memorandum. A file named like a root file inside a sub-directory (e.g.
``tax/catalogue.yaml``) is reported as misplaced rather than read as a memorandum, since it
is almost certainly a mistake. Paths with a component starting with
``.`` are skipped, as are files with other extensions (``.yml`` too), and policy tests
(``*_test.yaml``, run by ``jrp test``): they are no part of the bundle or its version.

Every problem is collected and reported together; line 0 means the whole file.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from measures import validate
from measures.bundle import Bundle
from measures.schema import (
    UNION_TAGS,
    CatalogueFile,
    DerivationsFile,
    ExchangeFile,
    GradesFile,
    MemorandumFile,
    Vocabulary,
)
from measures.validate import ParsedBundle, Source, build_bundle, check_bundle
from measures.version import bundle_version
from measures.yaml_positions import InvalidBundle, Positions, Problem, read_yaml, sorted_problems

VOCABULARY = "vocabulary.yaml"
CATALOGUE = "catalogue.yaml"
DERIVATIONS = "derivations.yaml"
GRADES = "grades.yaml"
EXCHANGE = "exchange.yaml"
TEST_SUFFIX = "_test.yaml"
"""Files named ``*_test.yaml`` are policy tests: never read as part of the bundle."""
ROOT_MODELS: dict[str, type[BaseModel]] = {
    VOCABULARY: Vocabulary,
    CATALOGUE: CatalogueFile,
    DERIVATIONS: DerivationsFile,
    GRADES: GradesFile,
    EXCHANGE: ExchangeFile,
}
"""The files with a role of their own, read at the bundle root only."""

M = TypeVar("M", bound=BaseModel)


def read_bundle_files(directory: Path) -> dict[str, bytes]:
    """Every ``*.yaml`` under ``directory`` by relative POSIX path, sorted; dot-paths skipped."""
    if not directory.is_dir():
        raise InvalidBundle([Problem("", 0, f"not a directory: {directory}")])
    found: dict[str, bytes] = {}
    problems: list[Problem] = []

    def relative(path: str | Path) -> str:
        return Path(path).relative_to(directory).as_posix()

    def unreadable(exc: OSError) -> None:
        # A sub-directory skipped in silence would drop its memoranda from the policy.
        problems.append(Problem(relative(exc.filename), 0, f"cannot read: {exc.strerror}"))

    for root, dirs, names in os.walk(directory, onerror=unreadable):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # never descend into .git etc.
        for name in names:
            if name.startswith(".") or not name.endswith(".yaml") or is_test_file(name):
                continue
            path = Path(root) / name
            try:
                relative(path).encode("utf-8")  # the version hashes paths as UTF-8
                found[relative(path)] = path.read_bytes()
            except UnicodeEncodeError:
                printable = os.fsencode(relative(path)).decode("utf-8", "backslashreplace")
                problems.append(Problem(printable, 0, "file name is not valid UTF-8"))
            except OSError as exc:
                problems.append(Problem(relative(path), 0, f"cannot read: {exc.strerror}"))
    if problems:
        raise InvalidBundle(problems)
    return dict(sorted(found.items()))


def is_test_file(name: str) -> bool:
    """Whether a file name is a policy test's (``*_test.yaml``), which the bundle ignores."""
    return PurePosixPath(name).name.endswith(TEST_SUFFIX)


def parse_bundle(files: Mapping[str, bytes]) -> Bundle:
    """The valid ``Bundle`` of these files (relative path -> bytes), or ``InvalidBundle``."""
    files = {path: data for path, data in files.items() if not is_test_file(path)}
    problems: list[Problem] = []
    parsed = _parse_files(files, problems)
    problems += check_bundle(parsed)
    vocabulary, catalogue, derivations = parsed.vocabulary, parsed.catalogue, parsed.derivations
    if problems or vocabulary is None or catalogue is None or derivations is None:
        raise InvalidBundle(problems)
    return build_bundle(
        vocabulary=vocabulary.model,
        catalogue=catalogue.model,
        derivations=derivations.model,
        memoranda=parsed.memoranda,
        version=bundle_version(files),
        files=dict(sorted(files.items())),
        grades=None if parsed.grades is None else parsed.grades.model,
        exchange=None if parsed.exchange is None else parsed.exchange.model,
    )


def load_bundle(directory: Path) -> Bundle:
    """Read and parse the bundle in ``directory``; ``InvalidBundle`` lists every problem."""
    return parse_bundle(read_bundle_files(directory))


def lint_bundle(directory: Path) -> list[Problem]:
    """Every problem of the bundle in ``directory``, sorted by path then line; [] when valid."""
    try:
        load_bundle(directory)
    except InvalidBundle as exc:
        return exc.problems
    return []


def legal_basis_problems(files: Mapping[str, bytes]) -> list[Problem]:
    """Measures of a valid bundle's files that state no legal basis (``--require-legal-basis``)."""
    files = {path: data for path, data in files.items() if not is_test_file(path)}
    return sorted_problems(validate.legal_basis_problems(_parse_files(files, [])))


def _parse_files(files: Mapping[str, bytes], problems: list[Problem]) -> ParsedBundle:
    """Each file against its schema; schema and YAML problems are appended to ``problems``."""
    roots: dict[str, Source[Any] | None] = {}
    memoranda: list[Source[MemorandumFile]] = []
    for path in sorted(files):
        name = PurePosixPath(path).name
        if path in ROOT_MODELS:
            roots[path] = _source(path, files[path], ROOT_MODELS[path], problems)
        elif name in ROOT_MODELS:
            problems.append(
                Problem(path, 0, f"{name} is read only at the bundle root; move or rename it")
            )
        else:
            source = _source(path, files[path], MemorandumFile, problems)
            if source is not None:
                memoranda.append(source)
    if VOCABULARY not in files:
        problems.append(Problem(VOCABULARY, 0, "missing: a bundle needs a vocabulary.yaml"))
    empty = Positions({})
    return ParsedBundle(
        vocabulary=roots.get(VOCABULARY),
        catalogue=roots.get(CATALOGUE, Source(CATALOGUE, CatalogueFile(), empty)),
        derivations=roots.get(DERIVATIONS, Source(DERIVATIONS, DerivationsFile(), empty)),
        memoranda=memoranda,
        grades=roots.get(GRADES),
        grades_broken=GRADES in files and roots.get(GRADES) is None,
        exchange=roots.get(EXCHANGE),
    )


def _source(path: str, raw: bytes, model: type[M], problems: list[Problem]) -> Source[M] | None:
    """One file parsed and validated against ``model``; None (problems appended) when broken."""
    document = read_yaml(path, raw)
    problems += document.problems
    if document.problems:
        return None
    if document.data is None:
        problems.append(Problem(path, 1, "empty file: expected a mapping of keys"))
        return None
    try:
        return Source(path, model.model_validate(document.data), document.positions)
    except ValidationError as exc:
        problems += (
            Problem(path, document.positions.line(error["loc"], skip=UNION_TAGS), _message(error))
            for error in exc.errors()
        )
        return _salvaged(path, document.data, document.positions, model, exc)


def _salvaged(
    path: str, data: Any, positions: Positions, model: type[M], error: ValidationError
) -> Source[M] | None:
    """The file without its unknown keys, when nothing else is wrong with it; else None.

    Its cross-references are then checked too, so that a file with both kinds of problem
    (an unknown key, an unknown department) shows both at once. The problems already
    reported keep the bundle invalid; a salvaged file is only read, never used.
    """
    errors = error.errors()
    if any(e["type"] != "extra_forbidden" for e in errors):
        return None
    pruned = copy.deepcopy(data)
    for e in errors:
        loc = [part for part in e["loc"] if part not in UNION_TAGS]
        parent = pruned
        try:
            for part in loc[:-1]:
                parent = parent[part]
            del parent[loc[-1]]
        except (KeyError, IndexError, TypeError):
            return None
    try:
        return Source(path, model.model_validate(pruned), positions)
    except ValidationError:
        return None


_ENUM_LABELS = {
    "op": "operator",
    "incentives_blocked_by": "list kind",
    "subject_kinds": "subject kind",
    "to": "propagation target",
    "kinds": "list kind",
    "absent_kinds": "list kind",
}
_PATTERNS = {
    r"^[a-z0-9_]+$": "code: use lower case letters, digits and '_'",
    r"^[a-z0-9-]+$": "id: use lower case letters, digits and '-'",
    r"^[A-Z][A-Z0-9+-]*$": "grade: an upper case letter, then letters, digits, '+' or '-'",
}
_TYPE_MESSAGES = {
    "model_type": "expected a mapping",
    "dict_type": "expected a mapping",
    "list_type": "expected a list",
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
    "invalid_key": "keys must be text",
}


def _message(error: ErrorDetails) -> str:
    """A pydantic error as a sentence for policy staff."""
    kind, raw_loc, given = error["type"], error["loc"], error.get("input")
    loc = [part for part in raw_loc if part not in UNION_TAGS]
    names = [part for part in loc if isinstance(part, str) and part != "[key]"]
    key = names[-1] if names else None
    ref_measure = len(raw_loc) >= 2 and raw_loc[-2] == "<ref>"
    ctx = error.get("ctx", {})
    if kind == "extra_forbidden":
        if ref_measure:
            return (
                f"unknown key '{key}': a measure with 'ref' may only set id, mandatory, "
                "subject_kinds, duration_days and propagate"
            )
        return f"unknown key '{key}'"
    if kind == "missing":
        if ref_measure and key == "id":
            return "'ref' without 'id': a measure taken from the catalogue needs its own id"
        return f"missing required key '{key}'"
    if kind in ("enum", "literal_error"):
        allowed = ", ".join(re.findall(r"'([^']*)'", ctx.get("expected", "")))
        return f"unknown {_ENUM_LABELS.get(key or '', key)} '{given}'; expected one of: {allowed}"
    if kind.startswith("date"):
        reason = ctx.get("error")
        return f"'{given}' is not a valid date (YYYY-MM-DD)" + (f": {reason}" if reason else "")
    if kind == "string_pattern_mismatch":
        return f"'{given}' is not a valid {_PATTERNS.get(ctx.get('pattern', ''), 'value')}"
    if kind == "value_error":
        text = str(ctx.get("error", error["msg"]))
    elif kind == "condition_form":
        return error["msg"]
    else:
        text = _TYPE_MESSAGES.get(kind) or error["msg"].replace("Input should be", "should be")
    return f"{key}: {text}" if key else text
