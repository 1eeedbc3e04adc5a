"""Each problem class of docs/policy-format.md, reported alone at its exact file and line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from measures import Problem, lint_bundle
from measures.limits import MAX_CONDITION_NODES
from tests.measures.editing import ATP, DJD, copy_example, line_of, replace_once

EFFECTS = "prohibit, restrict, review, notice, incentive"
OPERATORS = "eq, ne, gt, gte, lt, lte, in, not_in, exists"
BIG_IN_LIST = ", ".join(f"c{i}" for i in range(MAX_CONDITION_NODES))
# An ``all`` of six two-way ``any``: 12 comparisons, but 2**6 = 64 engine rules.
MANY_ALTERNATIVES = "\n".join(
    f"        - any: [{{field: a{i}, op: gt, value: 1}}, {{field: b{i}, op: lt, value: 0}}]"
    for i in range(6)
)


@dataclass(frozen=True)
class Case:
    id: str
    file: str
    old: str
    new: str
    at: str
    """Text (unique in the reported file after the edit) on the line the problem must name."""
    message: str
    reported_in: str | None = None
    """The file the problem is reported in, when not the edited one."""


CASES = [
    Case(
        "yaml-syntax-error",
        DJD,
        "doc_no: 发改财金〔2016〕141号",
        "doc_no: 发改财金: 141号",
        "doc_no:",
        "YAML syntax error: mapping values are not allowed here",
    ),
    Case(
        "unknown-key",
        "vocabulary.yaml",
        "    repairable: false\n    min_publicity_days: 0\n  administrative_penalty:",
        "    repairable: false\n    colour: red\n    min_publicity_days: 0\n"
        "  administrative_penalty:",
        "colour: red",
        "unknown key 'colour'",
    ),
    Case(
        "missing-required-key-at-root",
        DJD,
        "doc_no: 发改财金〔2016〕141号\n",
        "",
        "id: dishonest-judgment-debtors",
        "missing required key 'doc_no'",
    ),
    Case(
        "missing-required-key-in-item",
        DJD,
        "    text: 限制参与政府采购活动\n",
        "",
        "- id: djd-procurement",
        "missing required key 'text'",
    ),
    Case(
        "duplicate-memorandum-id",
        ATP,
        "id: a-grade-taxpayers",
        "id: dishonest-judgment-debtors",
        "id: dishonest-judgment-debtors",
        "duplicate memorandum id 'dishonest-judgment-debtors' (also at a-grade-taxpayers.yaml:1)",
        reported_in=DJD,
    ),
    Case(
        "duplicate-measure-id-across-memoranda",
        ATP,
        "id: atp-bidding-priority",
        "id: djd-procurement",
        "- id: djd-procurement",
        "duplicate measure id 'djd-procurement' (also at a-grade-taxpayers.yaml:10)",
        reported_in=DJD,
    ),
    Case(
        "duplicate-measure-id-via-ref",
        DJD,
        "id: djd-financing",
        "id: djd-procurement",
        "    id: djd-procurement",
        f"duplicate measure id 'djd-procurement' (also at {DJD}:16)",
    ),
    Case(
        "unknown-department-list-owner",
        "vocabulary.yaml",
        "owners: [court]",
        "owners: [courts]",
        "owners: [courts]",
        "unknown department 'courts'",
    ),
    Case(
        "unknown-department-implementing",
        DJD,
        "implementing: [finance]",
        "implementing: [finanse]",
        "implementing: [finanse]",
        "unknown department 'finanse'",
    ),
    Case(
        "unknown-list-trigger",
        DJD,
        "- list: dishonest_judgment_debtor",
        "- list: dishonest_debtor",
        "- list: dishonest_debtor",
        "unknown list 'dishonest_debtor'",
    ),
    Case(
        "unknown-list-derivation",
        "derivations.yaml",
        "from_list: administrative_penalty",
        "from_list: admin_penalty",
        "from_list: admin_penalty",
        "unknown list 'admin_penalty'",
    ),
    Case(
        "derivation-onto-its-own-list",
        "derivations.yaml",
        "derive_list: focus_supervision",
        "derive_list: administrative_penalty",
        "derive_list: administrative_penalty",
        "derive_list 'administrative_penalty' is the list it counts (from_list): "
        "a derived entry would count towards deriving itself",
    ),
    Case(
        "unknown-matter",
        DJD,
        "matters: [government_procurement]",
        "matters: [procurement]",
        "matters: [procurement]",
        "unknown matter 'procurement'",
    ),
    Case(
        "unknown-role",
        DJD,
        "roles: [legal_representative]",
        "roles: [legal_rep]",
        "roles: [legal_rep]",
        "unknown role 'legal_rep'",
    ),
    Case(
        "unknown-catalogue-measure",
        DJD,
        "- ref: restrict-financing",
        "- ref: restrict-finance",
        "- ref: restrict-finance",
        "unknown catalogue measure 'restrict-finance'",
    ),
    Case(
        "ref-without-id",
        DJD,
        "    id: djd-financing\n",
        "",
        "- ref: restrict-financing",
        "'ref' without 'id': a measure taken from the catalogue needs its own id",
    ),
    Case(
        "unknown-effect",
        DJD,
        "effect: prohibit",
        "effect: forbid",
        "effect: forbid",
        f"unknown effect 'forbid'; expected one of: {EFFECTS}",
    ),
    Case(
        "unknown-operator",
        DJD,
        "{field: amount, op: gte, value: 1000000}",
        "{field: amount,\n           op: between, value: 1000000}",
        "op: between",
        f"unknown operator 'between'; expected one of: {OPERATORS}",
    ),
    Case(
        "incentive-effect-in-punishment-memorandum",
        DJD,
        "effect: prohibit",
        "effect: incentive",
        "effect: incentive",
        "effect 'incentive' is not allowed in a punishment memorandum",
    ),
    Case(
        "incentive-effect-in-punishment-memorandum-via-ref",
        DJD,
        "- ref: restrict-financing",
        "- ref: simplified-approval",
        "- ref: simplified-approval",
        "catalogue measure 'simplified-approval' has effect 'incentive', which is not allowed "
        "in a punishment memorandum",
    ),
    Case(
        "punishment-effect-in-incentive-memorandum",
        ATP,
        "effect: incentive",
        "effect: notice",
        "effect: notice",
        "effect 'notice' is not allowed in an incentive memorandum (only 'incentive')",
    ),
    Case(
        "punishment-effect-in-incentive-memorandum-via-ref",
        ATP,
        "- ref: simplified-approval",
        "- ref: restrict-financing",
        "- ref: restrict-financing",
        "catalogue measure 'restrict-financing' has effect 'restrict', which is not allowed "
        "in an incentive memorandum (only 'incentive')",
    ),
    Case(
        "date-that-is-not-a-date",
        DJD,
        "issued_on: 2016-01-20",
        "issued_on: 2016-13-45",
        "issued_on:",
        "'2016-13-45' is not a valid date (YYYY-MM-DD): month value is outside expected range "
        "of 1-12",
    ),
    Case(
        "date-written-as-a-number",
        DJD,
        "issued_on: 2016-01-20",
        "issued_on: 20160120",
        "issued_on:",
        "issued_on: a date is written YYYY-MM-DD",
    ),
    Case(
        "duplicate-yaml-key",
        DJD,
        "doc_no: 发改财金〔2016〕141号\n",
        "doc_no: 发改财金〔2016〕141号\ntitle: 重复的标题\n",
        "title: 重复的标题",
        "duplicate key 'title' (first on line 2)",
    ),
    Case(
        "condition-too-large",
        DJD,
        "value: [tax_fraud, export_rebate_fraud]",
        f"value: [{BIG_IN_LIST}]",
        "when:",
        f"condition too large: {MAX_CONDITION_NODES + 2} comparisons (in/not_in count one per "
        f"value); at most {MAX_CONDITION_NODES}",
    ),
    Case(
        "condition-with-too-many-alternatives",
        DJD,
        "        - {field: amount, op: gte, value: 1000000}\n",
        f"        - {{field: amount, op: gte, value: 1000000}}\n{MANY_ALTERNATIVES}\n",
        "when:",
        "condition expands to 64 alternatives ('any' inside 'all' multiplies); at most 48",
    ),
    Case(
        "nan-constant",
        DJD,
        "{field: amount, op: gte, value: 1000000}",
        "{field: amount, op: gte, value: .nan}",
        "when:",
        "amount: NaN is not a value a condition can compare with",
    ),
    Case(
        "string-constant-too-long",
        DJD,
        "{field: category, op: eq, value: tax_evasion}",
        "{field: category, op: eq, value: " + "x" * 16_001 + "}",
        "when:",
        "category: a string constant of 16001 bytes; at most 16000",
    ),
    Case(
        "unknown-list-kind-blocking-incentives",
        "vocabulary.yaml",
        "incentives_blocked_by: [black]",
        "incentives_blocked_by: [black,\n    grey]",
        "grey]",
        "unknown list kind 'grey'; expected one of: black, red, record",
    ),
    Case(
        "code-with-capitals",
        "vocabulary.yaml",
        "  bidding: 招标投标",
        "  Bidding: 招标投标",
        "Bidding:",
        "'Bidding' is not a valid code: use lower case letters, digits and '_'",
    ),
    Case(
        "comparison-value-is-a-mapping",
        DJD,
        "{field: category, op: eq, value: tax_evasion}",
        "{field: category, op: eq, value: {kind: tax_evasion}}",
        "value: {kind: tax_evasion}",
        "value: value must be a string, a number, true/false or a list of these",
    ),
    Case(
        "condition-with-no-form",
        DJD,
        "{field: category, op: eq, value: tax_evasion}",
        "{name: category}",
        "{name: category}",
        "a condition is a mapping with 'field', 'op' and 'value', or with 'all', or with 'any'",
    ),
    Case(
        "ref-measure-with-a-key-it-cannot-override",
        DJD,
        "    mandatory: false\n",
        "    mandatory: false\n    text: 改写\n",
        "text: 改写",
        "unknown key 'text': a measure with 'ref' may only set id, mandatory, subject_kinds, "
        "duration_days and propagate",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_problem_is_reported_alone_at_its_file_and_line(tmp_path: Path, case: Case) -> None:
    root = copy_example(tmp_path / "bundle")
    replace_once(root / case.file, case.old, case.new)
    reported = case.reported_in or case.file
    text = (root / reported).read_text(encoding="utf-8")

    assert lint_bundle(root) == [Problem(reported, line_of(text, case.at), case.message)]


def test_typo_in_a_key_is_unknown_there_and_missing_at_its_mapping(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    text = replace_once(root / DJD, "effect: prohibit", "efect: prohibit")

    assert lint_bundle(root) == [
        Problem(DJD, line_of(text, "- id: djd-procurement"), "missing required key 'effect'"),
        Problem(DJD, line_of(text, "efect: prohibit"), "unknown key 'efect'"),
    ]


def test_broken_catalogue_is_reported_once_not_at_every_ref(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    text = replace_once(root / "catalogue.yaml", "effect: restrict", "effect: restricts")

    assert lint_bundle(root) == [
        Problem(
            "catalogue.yaml",
            line_of(text, "effect: restricts"),
            f"unknown effect 'restricts'; expected one of: {EFFECTS}",
        )
    ]


def test_broken_vocabulary_is_reported_once_not_at_every_code(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    text = replace_once(root / "vocabulary.yaml", "matters:\n", "maters:\n")

    assert lint_bundle(root) == [
        Problem("vocabulary.yaml", line_of(text, "departments:"), "missing required key 'matters'"),
        Problem("vocabulary.yaml", line_of(text, "maters:"), "unknown key 'maters'"),
    ]
