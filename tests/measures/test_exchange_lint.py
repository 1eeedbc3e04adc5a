"""Lint of exchange.yaml (docs/exchange.md#policy-exchangeyaml): each problem at its line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.settings import SHIPPED_POLICY_DIR
from measures import lint_bundle
from measures.loader import load_bundle

EXCHANGE = "exchange.yaml"


def _bundle(tmp_path: Path, text: str | None) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(SHIPPED_POLICY_DIR, target)
    if text is None:
        (target / EXCHANGE).unlink()
    else:
        (target / EXCHANGE).write_text(text, encoding="utf-8")
    return target


def test_the_shipped_file_is_read() -> None:
    exchange = load_bundle(SHIPPED_POLICY_DIR).exchange
    assert exchange is not None
    assert "dishonest_judgment_debtor" in exchange.exports
    assert exchange.imports["major_tax_violation"] == "major_tax_violation"


def test_a_bundle_without_it_exchanges_nothing(tmp_path: Path) -> None:
    assert load_bundle(_bundle(tmp_path, None)).exchange is None


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("exports: [dishonest_judgment_debtor, nope]\n", 1, "unknown list 'nope'"),
        ("imports:\n  theirs: ours_unknown\n", 2, "unknown list 'ours_unknown' (local list)"),
        ("imports:\n  theirs: major_tax_violation\nignore: [other, theirs]\n", 3,
         "'theirs' is both imported (at exchange.yaml:2) and ignored"),
        ("exports: []\nmapping: {}\n", 2, "unknown key 'mapping'"),
        ("imports:\n  Theirs: major_tax_violation\n", 2, "is not a valid code"),
        ("exports: dishonest_judgment_debtor\n", 1, "expected a list"),
    ],
)  # fmt: skip
def test_problems_name_their_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    problems = lint_bundle(_bundle(tmp_path, text))
    found = [(p.path, p.line, p.message) for p in problems]
    assert any(path == EXCHANGE and at == line and message in said for path, at, said in found), (
        found
    )
