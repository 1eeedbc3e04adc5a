"""Reading one YAML file: positions, dates, duplicate keys and reading problems."""

from __future__ import annotations

import pytest

from measures.yaml_positions import Problem, read_yaml


def test_lines_of_keys_and_items_are_recorded() -> None:
    document = read_yaml("f.yaml", b"# comment\na: 1\nb:\n  - x\n  -\n    c: 2\n")

    assert document.data == {"a": 1, "b": ["x", {"c": 2}]}
    assert document.positions.lines == {
        (): 2,
        ("a",): 2,
        ("b",): 3,
        ("b", 0): 4,
        ("b", 1): 6,
        ("b", 1, "c"): 6,
    }


def test_a_missing_path_falls_back_to_its_closest_ancestor() -> None:
    positions = read_yaml("f.yaml", b"a: 1\nb:\n  - x\n  - {c: 2}\n").positions

    assert positions.line(("b", 1, "missing", "deeper")) == 4
    assert positions.line(("b", "<tag>", 1, "c"), skip=frozenset({"<tag>"})) == 4
    assert positions.line(("nothing",)) == 1


@pytest.mark.parametrize(
    "text",
    ["2016-01-20", "2016-01-20T10:00:00Z", "!!timestamp 2016-01-20"],
)
def test_timestamps_stay_strings(text: str) -> None:
    value = text.removeprefix("!!timestamp ")

    assert read_yaml("f.yaml", f"d: {text}\n".encode()).data == {"d": value}


def test_duplicate_key_is_a_problem_at_the_second_key() -> None:
    document = read_yaml("f.yaml", b"a: 1\nb:\n  c: 1\n  c: 2\n")

    assert document.problems == [Problem("f.yaml", 4, "duplicate key 'c' (first on line 3)")]


def test_merge_keys_are_resolved_and_may_be_overridden() -> None:
    document = read_yaml("f.yaml", b"base: &b {k: 1, m: 2}\nuse:\n  <<: *b\n  k: 5\n")

    assert document.problems == []
    assert document.data["use"] == {"k": 5, "m": 2}
    assert document.positions.line(("use", "k")) == 4


@pytest.mark.parametrize(
    ("raw", "line", "message"),
    [
        (
            b"a: [1\nb: 2\n",
            2,
            "YAML syntax error: while parsing a flow sequence: expected ',' or ']', but got ':'",
        ),
        (b"a: 1\n\x01\n", 2, "YAML syntax error: special characters are not allowed (#x0001)"),
        (
            b"a: 1\n---\nb: 2\n",
            2,
            "YAML syntax error: expected a single document in the stream: "
            "but found another document",
        ),
        (
            b"a: !custom 1\n",
            1,
            "YAML syntax error: could not determine a constructor for the tag '!custom'",
        ),
        (b"a: &x [*x]\n", 1, "recursive YAML alias"),
        (b"a: 1\n\xff\n", 2, "not valid UTF-8 (byte 0xff)"),
    ],
)
def test_reading_problems_carry_their_line(raw: bytes, line: int, message: str) -> None:
    assert read_yaml("f.yaml", raw).problems == [Problem("f.yaml", line, message)]


def test_problem_prints_as_path_line_message() -> None:
    assert (
        str(Problem("tax/x.yaml", 12, "unknown key 'efect'"))
        == "tax/x.yaml:12: unknown key 'efect'"
    )


def test_only_true_and_false_are_booleans() -> None:
    """YAML 1.1 reads ``no``/``off``/``yes`` as booleans: a condition value stays as written."""
    import yaml

    from measures.yaml_positions import PolicyLoader

    loaded = yaml.load("a: no\nb: off\nc: yes\nd: true\ne: False\n", Loader=PolicyLoader)
    assert loaded == {"a": "no", "b": "off", "c": "yes", "d": True, "e": False}
