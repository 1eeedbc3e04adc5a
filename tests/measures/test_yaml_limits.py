"""A policy file's size and an alias bomb: a located problem, found quickly."""

from __future__ import annotations

import time

from measures.yaml_positions import MAX_FILE_BYTES, read_yaml


def _bomb() -> bytes:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines).encode()


def test_an_alias_bomb_padded_to_a_megabyte_stops_within_seconds() -> None:
    # Before the absolute node budget: 10 nodes per character, 16.7 s for this file.
    text = b"# " + b"x" * (MAX_FILE_BYTES - 4096) + b"\n" + _bomb()
    started = time.perf_counter()
    document = read_yaml("court/bomb.yaml", text)
    assert time.perf_counter() - started < 5
    assert [str(p) for p in document.problems] == [
        "court/bomb.yaml:2: YAML aliases expand too far (an alias bomb?)"
    ]


def test_a_file_over_the_size_limit_is_a_problem() -> None:
    document = read_yaml("big.yaml", b"# " + b"x" * MAX_FILE_BYTES)
    assert document.data is None
    assert document.problems[0].message.startswith("file too large")
    assert str(document.problems[0]).startswith("big.yaml:1: ")
