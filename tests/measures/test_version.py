"""The policy version: a hash of the bundle's content, not of where it lives."""

from __future__ import annotations

import hashlib
from pathlib import Path

from measures import bundle_version, load_bundle, read_bundle_files
from tests.measures.editing import DJD, copy_example


def test_version_is_the_documented_canonical_hash() -> None:
    files = {"b/m.yaml": b"id: m\n", "a.yaml": b"", "vocabulary.yaml": "名: x\n".encode()}
    canonical = b"".join(
        path.encode() + b"\0" + str(len(files[path])).encode() + b"\0" + files[path]
        for path in ["a.yaml", "b/m.yaml", "vocabulary.yaml"]
    )

    assert bundle_version(files) == hashlib.sha256(canonical).hexdigest()


def test_identical_bundles_in_different_directories_share_a_version(tmp_path: Path) -> None:
    first = copy_example(tmp_path / "one")
    second = copy_example(tmp_path / "elsewhere" / "two")

    assert load_bundle(first).version == load_bundle(second).version


def test_a_one_byte_edit_changes_the_version(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    before = load_bundle(root).version
    path = root / DJD
    path.write_bytes(path.read_bytes().replace(b"value: 1000000", b"value: 1000001"))

    assert load_bundle(root).version != before


def test_moving_a_file_changes_the_version(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    before = load_bundle(root).version
    (root / DJD).rename(root / "dishonest-judgment-debtors.yaml")

    assert load_bundle(root).version != before


def test_dot_files_do_not_change_the_version(tmp_path: Path) -> None:
    root = copy_example(tmp_path / "bundle")
    before = bundle_version(read_bundle_files(root))
    (root / ".scratch.yaml").write_text("anything: 1\n")
    (root / ".git").mkdir()
    (root / ".git" / "x.yaml").write_text("anything: 2\n")

    assert bundle_version(read_bundle_files(root)) == before
