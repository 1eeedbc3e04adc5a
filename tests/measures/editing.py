"""Broken variants of the contract example bundle, made by exact text edits."""

from __future__ import annotations

import shutil
from pathlib import Path

CONTRACT_EXAMPLE = (
    Path(__file__).resolve().parent.parent / "fixtures" / "bundles" / "contract_example"
)
DJD = "court/dishonest-judgment-debtors.yaml"
ATP = "a-grade-taxpayers.yaml"


def copy_example(target: Path) -> Path:
    """A fresh copy of the contract example bundle at ``target``."""
    shutil.copytree(CONTRACT_EXAMPLE, target)
    return target


def replace_once(path: Path, old: str, new: str) -> str:
    """Replace ``old`` (which must occur exactly once) by ``new``; the new text is returned."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    edited = text.replace(old, new)
    path.write_text(edited, encoding="utf-8")
    return edited


def line_of(text: str, needle: str) -> int:
    """The 1-based line of the only occurrence of ``needle`` in ``text``."""
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times"
    return text[: text.index(needle)].count("\n") + 1
