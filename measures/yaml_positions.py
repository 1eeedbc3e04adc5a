"""Reading one policy YAML file into plain data, remembering the line of every key and item.

PyYAML's SafeLoader is used with two changes: timestamps are not resolved (a date stays the
string it was written as, so pydantic judges it and no ``datetime.date`` reaches the rule
engine through a condition value), and the document is built by walking the node tree here,
which records ``path -> line`` for every mapping key and sequence item and reports duplicate
keys, which SafeLoader silently overwrites.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Loc = tuple[str | int, ...]
"""A path into a document: mapping keys and sequence indexes, like a pydantic error ``loc``."""

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


@dataclass(frozen=True)
class Problem:
    """One problem in a policy bundle; line 0 means the whole file (or directory)."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"

    def as_detail(self) -> dict[str, Any]:
        """The error detail form: ``{"path", "line", "message"}``."""
        return {"path": self.path, "line": self.line, "message": self.message}


class InvalidBundle(ValueError):
    """A policy bundle with problems: ``problems`` lists every one, sorted by path and line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted_problems(problems)
        count = len(self.problems)
        super().__init__(f"policy bundle invalid: {count} problem{'' if count == 1 else 's'}")


def sorted_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems by path, then line; problems on one line keep the order they were found in."""
    return sorted(problems, key=lambda p: (p.path, p.line))


class PolicyLoader(yaml.SafeLoader):
    """SafeLoader without timestamp resolution (``2016-01-20`` stays a string) and with
    YAML 1.2 booleans: only ``true``/``false`` are booleans, so ``category: no`` or
    ``value: off`` stay the strings policy staff wrote rather than turning into ``False``.
    """


def _timestamp_as_text(loader: PolicyLoader, node: Node) -> str:
    # An explicit ``!!timestamp`` tag must not smuggle a date object in either.
    return str(node.value)


_BOOL = "tag:yaml.org,2002:bool"
PolicyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_TIMESTAMP, _BOOL)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
PolicyLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
PolicyLoader.add_constructor(_TIMESTAMP, _timestamp_as_text)


@dataclass(frozen=True)
class Positions:
    """Line numbers (1-based) of the keys and items of one document, by path."""

    lines: dict[Loc, int]

    def line(self, loc: Iterable[str | int], *, skip: frozenset[str] = frozenset()) -> int:
        """The line of ``loc``, or of its closest ancestor that exists; ``skip`` names no key."""
        path = tuple(part for part in loc if part not in skip)
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)

    def has(self, loc: Loc) -> bool:
        """Whether ``loc`` exists in the document."""
        return loc in self.lines


@dataclass(frozen=True)
class YamlDocument:
    """A parsed file: its data (None when empty or broken), positions and reading problems."""

    data: Any
    positions: Positions
    problems: list[Problem]


MAX_FILE_BYTES = 1024 * 1024
"""A policy file larger than this is refused, wherever it comes from (directory, upload,
impact request); the shipped ones are under 20 KiB."""
MAX_NODES = 200_000
"""At most this many YAML nodes are built from one file, aliases expanded: an alias bomb
stops here (well under a second and a few MB) instead of at ten nodes per character."""


def read_yaml(path: str, raw: bytes) -> YamlDocument:
    """Parse one file's bytes; problems (encoding, syntax, duplicate keys, size, alias bombs)
    come back located."""
    if len(raw) > MAX_FILE_BYTES:
        return _broken(path, 1, f"file too large: {len(raw)} bytes; at most {MAX_FILE_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return _broken(path, line, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})")
    try:
        return _parse(path, text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        context = f"{exc.context}: " if exc.context else ""
        line = mark.line + 1 if mark is not None else 1
        return _broken(path, line, f"YAML syntax error: {context}{exc.problem}")
    except yaml.reader.ReaderError as exc:
        # Non-printable characters: the reader knows only a character offset.
        line = text[: exc.position].count("\n") + 1
        return _broken(path, line, f"YAML syntax error: {exc.reason} (#x{exc.character:04x})")


MAX_NODES_PER_CHARACTER = 10
"""Nodes built per character of text: far above any real file, far below an alias bomb."""


class _TooManyNodes(Exception):
    pass


def _parse(path: str, text: str) -> YamlDocument:
    loader = PolicyLoader(text)
    try:
        node = loader.get_single_node()
        budget = min(MAX_NODES_PER_CHARACTER * len(text) + 10_000, MAX_NODES)
        builder = _Builder(loader, path, max_nodes=budget)
        try:
            data = None if node is None else builder.build(node, ())
        except _TooManyNodes:
            return _broken(path, builder.bomb_line, "YAML aliases expand too far (an alias bomb?)")
        return YamlDocument(data, Positions(builder.lines), builder.problems)
    finally:
        loader.dispose()


def _broken(path: str, line: int, message: str) -> YamlDocument:
    return YamlDocument(None, Positions({}), [Problem(path, line, message)])


class _Builder:
    """Builds plain dicts, lists and scalars from a node tree, recording positions."""

    def __init__(self, loader: PolicyLoader, path: str, *, max_nodes: int) -> None:
        self.loader = loader
        self.path = path
        self.max_nodes = max_nodes
        self.built = 0
        self.bomb_line = 1
        self.lines: dict[Loc, int] = {}
        self.problems: list[Problem] = []
        self._open: set[int] = set()

    def build(self, node: Node, loc: Loc) -> Any:
        self.built += 1
        if self.built > self.max_nodes:
            # Aliases repeated inside aliases: the data grows exponentially with the text.
            self.bomb_line = node.start_mark.line + 1
            raise _TooManyNodes
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if id(node) in self._open:
            # An alias to one of its own ancestors: the data would be infinite.
            self._problem(node, "recursive YAML alias")
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, MappingNode) and node.tag == _MAP:
                return self._mapping(node, loc)
            if isinstance(node, SequenceNode) and node.tag == _SEQ:
                return [self._item(item, (*loc, i)) for i, item in enumerate(node.value)]
            return self.loader.construct_object(node, deep=True)
        finally:
            self._open.discard(id(node))

    def _item(self, node: Node, loc: Loc) -> Any:
        self.lines[loc] = node.start_mark.line + 1
        return self.build(node, loc)

    def _mapping(self, node: MappingNode, loc: Loc) -> dict[Any, Any]:
        own = {id(key) for key, _ in node.value if key.tag != _MERGE}
        self.loader.flatten_mapping(node)  # resolves ``<<: *anchor`` merge keys in place
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        from_merge: set[Any] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._problem(key_node, "a mapping key must be a plain value")
                continue
            key = self.loader.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in first_line and key not in from_merge:
                self._problem(key_node, f"duplicate key '{key}' (first on line {first_line[key]})")
                continue
            # A key written in the mapping overrides one merged in with ``<<``, as YAML says.
            first_line[key] = line
            from_merge.discard(key)
            if id(key_node) not in own:
                from_merge.add(key)
            self.lines[(*loc, key)] = line
            result[key] = self.build(value_node, (*loc, key))
        return result

    def _problem(self, node: Node, message: str) -> None:
        self.problems.append(Problem(self.path, node.start_mark.line + 1, message))
