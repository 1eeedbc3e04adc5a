"""A policy bundle compiled to durable_rules rulesets: which triggers an entry fires, which
derivations a window count meets.

Layout (docs/rule-engine.md; pinned in tests/engine/policy/rules/test_rules_durable.py and
test_rules.py): a message fails (engine code 303) when more than 64 matched condition nodes
wait on durable's evaluation stack, and a node with 512 children testing one field breaks the
ruleset (more freezes the process). Every rule here starts with its own always-true marker
test, so rules share no node, and continues as a chain in which at most one alternative of any
``$or`` can hold: a message keeps exactly one node pending per rule (measured: 64 rules pass,
65 fail), and the root has one child per rule. Rulesets hold at most ``RULES_PER_RULESET``
rules. Consecutive lists share a ruleset while their rules fit (a ruleset and its session cost
~1.2 MiB at 48 rules), a list with more rules spreads over several, and an entry is posted to
the rulesets holding its list. Derivations are compiled the same way, into rulesets of their
own.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from engine.errors import RuleEngineError
from engine.policy.rules.adapter import Rule, RuleHost, check_property_names
from engine.policy.rules.conditions import Encoder, Expression
from measures.bundle import Bundle
from measures.limits import RULES_PER_RULESET
from measures.schema import SubjectKind, condition_fields

MARKER, LIST, KIND = "q", "l", "k"
_SUBJECT_KINDS = frozenset(kind.value for kind in SubjectKind)
_serial = itertools.count(1)


@dataclass(frozen=True, slots=True, order=True)
class TriggerMatch:
    """One trigger that matched: the memorandum and the trigger's index in it."""

    memorandum_id: str
    index: int


@dataclass(frozen=True, slots=True)
class RulesetInfo:
    """What one compiled ruleset holds (for diagnostics, benchmarks and tests)."""

    name: str
    lists: tuple[str, ...]
    rules: int


@dataclass(slots=True)
class _Item:
    """Rules that must stay in one ruleset: one trigger or one derivation."""

    action: str
    list_code: str
    fields: frozenset[str]
    conjunctions: list[list[Expression]]


@dataclass(slots=True)
class _Chunk:
    name: str
    items: list[_Item] = field(default_factory=list)

    @property
    def rules(self) -> int:
        return sum(len(item.conjunctions) for item in self.items)


@dataclass(frozen=True, slots=True)
class _Route:
    """One ruleset an entry of a list is posted to, and the fields its rules read."""

    ruleset: str
    fields: tuple[str, ...]


class CompiledPolicy:
    """One policy version's triggers and derivations as durable_rules rulesets."""

    def __init__(
        self,
        *,
        version: str,
        host: RuleHost,
        encoder: Encoder,
        trigger_routes: dict[str, list[_Route]],
        derivation_routes: dict[str, list[_Route]],
        matches: dict[str, TriggerMatch],
        positions: dict[str, int],
        derivations: dict[str, tuple[str, int]],
        rulesets: tuple[RulesetInfo, ...],
    ) -> None:
        self.version = version
        self.rulesets = rulesets
        self._host = host
        self._encoder = encoder
        self._trigger_routes = trigger_routes
        self._derivation_routes = derivation_routes
        self._matches = matches
        self._positions = positions
        self._derivations = derivations

    @classmethod
    def compile(cls, bundle: Bundle) -> CompiledPolicy:
        """Compile a bundle; several versions (or copies of one) may be live in one process."""
        triggers = [t for memo in bundle.memoranda.values() for t in memo.triggers]
        encoder = Encoder.for_conditions(t.when for t in triggers)
        matches: dict[str, TriggerMatch] = {}
        positions: dict[str, int] = {}
        trigger_items: list[_Item] = []
        for code, list_triggers in bundle.triggers_by_list.items():
            for trigger in list_triggers:
                action = f"t{len(matches)}"
                matches[action] = TriggerMatch(trigger.memorandum_id, trigger.index)
                positions[action] = len(positions)
                kinds = {kind.value for kind in trigger.subject_kinds}
                if not kinds:
                    continue  # a trigger for no subject kind never fires
                try:
                    conjunctions = encoder.conjunctions(trigger.when, RULES_PER_RULESET)
                except RuleEngineError as error:
                    raise RuleEngineError(
                        f"memorandum {trigger.memorandum_id} trigger {trigger.index}: "
                        f"{error.message}"
                    ) from error
                head: list[Expression] = [{LIST: code}]
                if kinds != _SUBJECT_KINDS:
                    head.append({KIND: kinds.pop()})
                trigger_items.append(
                    _Item(
                        action=action,
                        list_code=code,
                        fields=frozenset(condition_fields(trigger.when)),
                        conjunctions=[head + conj for conj in conjunctions],
                    )
                )
        derivations: dict[str, tuple[str, int]] = {}
        derivation_items: list[_Item] = []
        for number, derivation in enumerate(bundle.derivations):
            derivations[derivation.id] = (derivation.from_list, number)
            derivation_items.append(
                _Item(
                    action=f"d:{derivation.id}",
                    list_code=derivation.from_list,
                    fields=frozenset(),
                    conjunctions=[
                        [
                            {LIST: derivation.from_list},
                            {"$gte": {_count_slot(number): derivation.at_least}},
                        ]
                    ],
                )
            )
        check_property_names(
            [MARKER, LIST, KIND]
            + [f"{prefix}{i}" for i in encoder.fields.values() for prefix in "tnsb"]
            + [_count_slot(n) for n in range(len(bundle.derivations))]
        )
        host = RuleHost()
        prefix = f"jrp.{bundle.version[:12]}.{next(_serial)}"
        try:
            trigger_chunks = _chunk(trigger_items, f"{prefix}.t")
            derivation_chunks = _chunk(derivation_items, f"{prefix}.d")
            for chunk in trigger_chunks + derivation_chunks:
                host.add_ruleset(chunk.name, _rules(chunk))
        except BaseException:
            host.close()
            raise
        return cls(
            version=bundle.version,
            host=host,
            encoder=encoder,
            trigger_routes=_routes(trigger_chunks),
            derivation_routes=_routes(derivation_chunks),
            matches=matches,
            positions=positions,
            derivations=derivations,
            rulesets=tuple(
                RulesetInfo(
                    name=chunk.name,
                    lists=tuple(dict.fromkeys(item.list_code for item in chunk.items)),
                    rules=chunk.rules,
                )
                for chunk in trigger_chunks + derivation_chunks
            ),
        )

    def triggered(
        self, *, list_code: str, subject_kind: str, attributes: Mapping[str, Any]
    ) -> list[TriggerMatch]:
        """Every trigger an entry matches, in bundle order (memorandum, then trigger index)."""
        if subject_kind not in _SUBJECT_KINDS:
            raise ValueError(f"subject_kind must be one of {sorted(_SUBJECT_KINDS)}")
        routes = self._trigger_routes.get(list_code, [])
        base = {MARKER: -1, LIST: list_code, KIND: subject_kind}
        slots = {  # each attribute once, though a long list spreads over many rulesets
            name: self._encoder.encode((name,), attributes)
            for name in {name for route in routes for name in route.fields}
        }
        facts = []
        for route in routes:
            fact = dict(base)
            for name in route.fields:
                fact.update(slots[name])
            facts.append((route.ruleset, fact))
        fired = set(self._host.post(facts)) if facts else set()
        return [self._matches[action] for action in sorted(fired, key=self._positions.__getitem__)]

    def derivations_met(self, *, list_code: str, window_counts: Mapping[str, int]) -> list[str]:
        """Ids of the derivations from ``list_code`` whose ``at_least`` the counts meet.

        ``window_counts`` maps each derivation id whose ``from_list`` is ``list_code`` to the
        number of qualifying entries in its window; ids of other lists' derivations are ignored.
        """
        wanted = [(d, n) for d, (code, n) in self._derivations.items() if code == list_code]
        fact: dict[str, Any] = {MARKER: -1, LIST: list_code}
        for derivation_id, number in wanted:
            count = window_counts.get(derivation_id)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise ValueError(
                    f"window_counts[{derivation_id!r}] must be a count (int >= 0), got {count!r}"
                )
            fact[_count_slot(number)] = count
        routes = self._derivation_routes.get(list_code, [])
        fired = set(self._host.post([(route.ruleset, fact) for route in routes]))
        return [d for d, _ in wanted if f"d:{d}" in fired]

    def close(self) -> None:
        """Release the engine's rulesets and state; later calls raise RuleEngineError."""
        self._host.close()

    def __enter__(self) -> CompiledPolicy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _chunk(items: Iterable[_Item], prefix: str) -> list[_Chunk]:
    chunks: list[_Chunk] = []
    for item in items:
        size = len(item.conjunctions)
        if not chunks or chunks[-1].rules + size > RULES_PER_RULESET:
            chunks.append(_Chunk(name=f"{prefix}{len(chunks)}"))
        chunks[-1].items.append(item)
    return chunks


def _rules(chunk: _Chunk) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for item in chunk.items:
        for conjunction in item.conjunctions:
            marker = len(rules)  # distinct per rule: no node is shared between rules
            expression = {"$and": [{"$neq": {MARKER: marker}}, *conjunction]}
            rules[f"r{marker}"] = {"all": [{"m": expression}], "run": item.action}
    return rules


def _routes(chunks: Sequence[_Chunk]) -> dict[str, list[_Route]]:
    fields: dict[str, dict[str, set[str]]] = {}
    for chunk in chunks:
        for item in chunk.items:
            fields.setdefault(item.list_code, {}).setdefault(chunk.name, set()).update(item.fields)
    return {
        code: [_Route(name, tuple(sorted(names))) for name, names in by_chunk.items()]
        for code, by_chunk in fields.items()
    }


def _count_slot(number: int) -> str:
    return f"c{number}"
