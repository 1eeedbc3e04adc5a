"""The only module that imports durable_rules: rulesets, sessions, facts and their hazards.

It drives the engine's C extension (``durable_rules_engine``) the way ``durable.engine.Ruleset``
does, without ``durable.engine.Host``: the Host starts timer threads that crash after
``delete_state`` and runs actions inside a wrapper that swallows their exceptions
(docs/rule-engine.md#crashes-and-hangs); here no Python code runs inside the engine at all. A rule's
action is a name: the engine queues one action message per matching rule, and ``post`` reads
them (2-4x faster than the Host's action machinery, measured in bench/rules_throughput.py).

Workarounds, each pinned by tests/engine/policy/rules/test_rules*.py:

- One fixed sid per ruleset and at most one fact alive in it: assert, read the actions,
  retract. Every rule matching a *fact* fires (an *event* fires one rule only, notes). Nothing
  depends on sid or fact id uniqueness (32-bit hashes, notes): the live fact has a fixed id,
  evaluations run under one lock, and an action message is accepted only with the current
  evaluation's token, which the engine hands back inside the fact.
- A ruleset's sid state is first created by a "prime" fact matching a dedicated rule:
  ``delete_state`` on sessions created by partly matched facts crashes the process (notes;
  ``free(): invalid pointer``, tests/engine/policy/rules/crash_probes/unprimed_delete_state.py), and
  releasing a ruleset without ``delete_state`` leaks ~0.6 MiB.
- Every rule's first test is on a property only our facts carry (engine.rules.policy), so no
  rule matches the session's own state object, which durable also evaluates as a fact.
- Every queued action is completed, even after an error: an action left started blocks every
  later action of its sid, which would silently answer "nothing matched". A match whose action
  does not start is an error, as is any failure while reading the queue.
- The C extension holds the GIL and keeps process-wide state (its ruleset table), so one
  process-wide lock serialises every call into it: threads never ran it in parallel anyway.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import durable_rules_engine

from engine.errors import RuleEngineError

SID = "0"
FACT_ID = "f"
PRIME_ID = "prime"
PRIME_RULE = "prime"
PRIME_PROPERTY = "prm"
TOKEN_PROPERTY = "tok"
RESERVED_PROPERTIES = ("sid", "id", TOKEN_PROPERTY, PRIME_PROPERTY, "$s", "$forward", "$i")
"""Properties durable or this adapter give a meaning; rule data must not use them otherwise."""

ENGINE_LOCK = threading.RLock()
"""Serialises every call into durable_rules, for every compiled policy in the process."""

Rule = dict[str, Any]
"""A durable rule as data: ``{"all": [{"m": expression}], "run": action_name}``."""

_HANDLED, _NOT_HANDLED, _OBSERVED, _QUEUED = 0, 1, 2, 3
"""Result codes of the engine's assert/retract calls (see durable.engine.Ruleset)."""

_ERROR_CODES = {
    "202": "unknown operator or malformed rule",
    "204": "unparsable value",
    "303": "a message matched more than 64 condition nodes",
}


def fnv1a_32(name: str) -> int:
    """durable's hash of a property name (32-bit FNV-1a); names are compared by it alone."""
    value = 0x811C9DC5
    for byte in name.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFF_FFFF
    return value


def check_property_names(names: Sequence[str]) -> None:
    """Raise unless the names (and durable's own) have distinct hashes: durable would merge them."""
    seen: dict[int, str] = {}
    for name in (*RESERVED_PROPERTIES, *names):
        other = seen.setdefault(fnv1a_32(name), name)
        if other != name:
            raise RuleEngineError(f"property names {other!r} and {name!r} share a durable hash")


class _Ruleset:
    """One registered ruleset: its engine handle, its rules' actions, its session's state."""

    __slots__ = ("actions", "broken", "handle", "primed")

    def __init__(self, handle: int, actions: dict[str, str]) -> None:
        self.handle = handle
        self.actions = actions
        self.primed = False
        self.broken = False


class RuleHost:
    """A set of durable rulesets; ``post`` evaluates facts and reports the actions that fired."""

    def __init__(self) -> None:
        self._rulesets: dict[str, _Ruleset] = {}
        self._token = 0
        self._closed = False

    def add_ruleset(self, name: str, rules: Mapping[str, Rule]) -> None:
        """Register a ruleset (plus the prime rule); engine error codes become RuleEngineError."""
        if PRIME_RULE in rules:
            raise RuleEngineError(f"rule name {PRIME_RULE!r} is reserved")
        actions = {rule: str(definition["run"]) for rule, definition in rules.items()}
        definition = {
            rule: {key: value for key, value in body.items() if key != "run"}
            for rule, body in rules.items()
        }
        definition[PRIME_RULE] = {"all": [{"m": {PRIME_PROPERTY: 1}}]}
        text = json.dumps(definition, ensure_ascii=False)
        with ENGINE_LOCK:
            self._check_open()
            if name in self._rulesets:
                raise RuleEngineError(f"ruleset {name} is already registered")
            try:
                handle = durable_rules_engine.create_ruleset(name, text)
            except durable_rules_engine.error as error:
                raise _engine_error(f"ruleset {name} refused", error) from error
            self._rulesets[name] = _Ruleset(handle, actions)

    def post(self, facts: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
        """Assert each fact in its ruleset and retract it; the actions fired, in firing order."""
        with ENGINE_LOCK:
            self._check_open()
            self._token += 1
            fired: list[str] = []
            for name, fact in facts:
                ruleset = self._rulesets.get(name)
                if ruleset is None:
                    raise RuleEngineError(f"unknown ruleset {name}")
                if ruleset.broken:
                    raise RuleEngineError(f"ruleset {name} failed earlier; reload the policy")
                if not ruleset.primed:
                    self._prime(name, ruleset)
                message = {**fact, "sid": SID, "id": FACT_ID, TOKEN_PROPERTY: self._token}
                for rule in self._evaluate(name, ruleset, message, FACT_ID):
                    if rule not in ruleset.actions:
                        raise RuleEngineError(f"ruleset {name}: unexpected rule {rule} fired")
                    fired.append(ruleset.actions[rule])
            return fired

    def close(self) -> None:
        """Release every ruleset and its state; the host cannot be used afterwards."""
        with ENGINE_LOCK:
            if self._closed:
                return
            self._closed = True
            failures: list[str] = []
            for name, ruleset in self._rulesets.items():
                try:
                    if ruleset.primed:  # never on a state not created by a match (see above)
                        durable_rules_engine.delete_state(ruleset.handle, SID)
                    durable_rules_engine.delete_ruleset(ruleset.handle)
                except durable_rules_engine.error as error:
                    failures.append(f"{name}: {error}")
            self._rulesets.clear()
            if failures:
                raise RuleEngineError(
                    "releasing rulesets failed", details=[{"message": m} for m in failures]
                )

    def _prime(self, name: str, ruleset: _Ruleset) -> None:
        message = {"sid": SID, "id": PRIME_ID, PRIME_PROPERTY: 1, TOKEN_PROPERTY: self._token}
        if self._evaluate(name, ruleset, message, PRIME_ID) != [PRIME_RULE]:
            ruleset.broken = True
            raise RuleEngineError(f"ruleset {name} did not run its prime rule")
        ruleset.primed = True

    def _evaluate(
        self, name: str, ruleset: _Ruleset, message: dict[str, Any], fact_id: str
    ) -> list[str]:
        """Assert one fact, read every action it queued, retract it; the rules that fired."""
        handle = ruleset.handle
        try:
            code, state = durable_rules_engine.assert_fact(
                handle, json.dumps(message, ensure_ascii=False)
            )
        except durable_rules_engine.error as error:
            self._retract(name, ruleset, fact_id)
            raise _engine_error(f"ruleset {name} refused a fact", error) from error
        if code == _NOT_HANDLED:
            return []  # no rule matched: nothing queued, nothing stored
        if code == _OBSERVED:
            # A fact with our id is still alive (a failed retract): drop it, fail this post.
            self._retract(name, ruleset, fact_id)
            raise RuleEngineError(f"ruleset {name} still held a fact")
        rules, problem = self._drain(ruleset, 0 if code == _QUEUED else state, message)
        self._retract(name, ruleset, fact_id)
        if problem:
            raise RuleEngineError(f"ruleset {name}: {problem}")
        return rules

    def _drain(
        self, ruleset: _Ruleset, state: int, message: Mapping[str, Any]
    ) -> tuple[list[str], str | None]:
        """Complete every queued action; the rules named, and the first problem seen."""
        rules: list[str] = []
        problem: str | None = None
        try:
            started = durable_rules_engine.start_action_for_state(ruleset.handle, state)
            text = started[1] if started else None
            if text is None:
                problem = "a rule matched but its action did not start"
            while text is not None:
                try:
                    rule, fact = _action(text)
                    if fact.get(TOKEN_PROPERTY) != message[TOKEN_PROPERTY]:
                        raise ValueError(
                            f"fact of evaluation {fact.get(TOKEN_PROPERTY)} seen in evaluation "
                            f"{message[TOKEN_PROPERTY]}"
                        )
                    rules.append(rule)
                except Exception as error:  # keep draining: see the module docstring
                    problem = problem or f"reading an action failed: {error!r}"
                text = durable_rules_engine.complete_and_start_action(ruleset.handle, state)
        except durable_rules_engine.error as error:
            ruleset.broken = True  # its queue may hold a started action forever
            problem = problem or f"the action queue failed: {error}"
        return rules, problem

    def _retract(self, name: str, ruleset: _Ruleset, fact_id: str) -> None:
        try:
            code, state = durable_rules_engine.retract_fact(
                ruleset.handle, json.dumps({"sid": SID, "id": fact_id})
            )
            # No rule reacts to a retraction (none has a "not" condition): nothing may start.
            started = code in (_HANDLED, _QUEUED) and durable_rules_engine.start_action_for_state(
                ruleset.handle, 0 if code == _QUEUED else state
            )
        except durable_rules_engine.error as error:
            ruleset.broken = True
            raise _engine_error(f"ruleset {name} could not retract a fact", error) from error
        if started:
            ruleset.broken = True
            raise RuleEngineError(f"ruleset {name}: retracting a fact started an action")

    def _check_open(self) -> None:
        if self._closed:
            raise RuleEngineError("the rule engine for this policy has been closed")


def _action(text: str) -> tuple[str, dict[str, Any]]:
    """An action message ``{rule: {"m": fact}}`` as (rule, fact)."""
    ((rule, payload),) = json.loads(text).items()
    return rule, payload["m"]


def _engine_error(message: str, error: Exception) -> RuleEngineError:
    text = str(error)
    code = text.rsplit("error code:", 1)[-1].strip() if "error code:" in text else None
    meaning = _ERROR_CODES.get(code or "", "")
    return RuleEngineError(
        f"{message}: {text}{f' ({meaning})' if meaning else ''}",
        details=[{"engine_code": code, "message": text}],
    )
