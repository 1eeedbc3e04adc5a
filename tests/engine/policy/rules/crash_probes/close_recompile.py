"""Compile, evaluate, close, many times: no crash, and resident memory stays flat.

Each cycle compiles a new version (two lists spread over several rulesets, one ruleset shared
by many small lists), posts matched and unmatched entries (so sessions exist in every state
the engine allows) and closes the policy. Prints ``rss_mib <after warm-up> <after> cycles <n>``.
"""

from __future__ import annotations

import gc
import sys

from _common import ROOT, rss_mib

sys.path.insert(0, str(ROOT))

from engine.policy.rules import CompiledPolicy
from tests.engine.policy.rules.rules_helpers import make_bundle


def cycle(number: int) -> None:
    memoranda = [
        {
            "id": f"big-{n}",
            "triggers": [{"list": "big", "when": {"field": "x", "op": "gte", "value": n}}],
        }
        for n in range(120)
    ] + [{"id": f"small-{n}", "triggers": [{"list": f"small_{n}"}]} for n in range(30)]
    bundle = make_bundle(memoranda, salt=str(number), loader=False)
    policy = CompiledPolicy.compile(bundle)
    assert len(policy.rulesets) >= 4, policy.rulesets
    for x in (-1, 50, 500):  # the first post to every "big" ruleset matches nothing
        policy.triggered(list_code="big", subject_kind="org", attributes={"x": x})
    for n in range(0, 30, 2):  # half of the small lists' ruleset sessions, matched
        assert policy.triggered(list_code=f"small_{n}", subject_kind="person", attributes={})
    policy.close()


def main() -> None:
    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    for number in range(20):
        cycle(-number - 1)
    gc.collect()
    before = rss_mib()
    for number in range(cycles):
        cycle(number)
    gc.collect()
    print(f"rss_mib {before:.2f} {rss_mib():.2f} cycles {cycles}")


if __name__ == "__main__":
    main()
