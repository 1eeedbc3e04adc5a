"""``jrp impact``'s engine at scale, in memory: time and memory of a one-measure edit.

Builds a ``State`` directly from events (no database: the figure is the impact computation
itself, on top of the state a running service already holds), with ``--entries`` entries
spread over every shipped black list, one org per entry and ``--holdings`` persons holding
roles in those orgs, then runs ``engine.policy.impact.impact`` for the shipped bundle with
one measure's effect changed (``djd-procurement`` ... ``gp-bidding``: restrict -> review).

    .venv/bin/python -m bench.impact_scale --entries 200000 --holdings 300000
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from engine.policy.impact import impact
from engine.policy.versions import compile_policy
from engine.registry.identifiers import ric_check_char, uscc_check_char
from engine.settings import SHIPPED_POLICY_DIR
from engine.state import State
from engine.store.events import EventType
from measures.loader import load_bundle


def _org_id(i: int) -> str:
    body = f"91440101{i:09d}"
    return body + uscc_check_char(body)


def _person_id(i: int) -> str:
    body = f"440106198001{i % 28 + 1:02d}{i % 1000:03d}"[:17]
    return body + ric_check_char(body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--holdings", type=int, default=300_000)
    args = parser.parse_args()
    bundle = load_bundle(SHIPPED_POLICY_DIR)
    lists = [code for code, d in bundle.vocabulary.lists.items() if d.kind == "black"]
    owners = {code: bundle.vocabulary.lists[code].owners[0] for code in lists}
    state = State()
    seq = 0
    started = time.perf_counter()
    for i in range(args.entries):
        org, code = _org_id(i), lists[i % len(lists)]
        seq += 1
        state.apply(seq, EventType.subject_upserted.value,
                    {"id": org, "kind": "org", "name": f"org{i}", "region": None})  # fmt: skip
        attributes = {"amount": 2_000_000, "category": "tax_evasion"} if "tax" in code else {}
        entry = {"id": f"e{i}", "list": code, "subject_id": org, "subject_kind": "org",
                 "department": owners[code], "decided_on": "2025-03-01",
                 "effective_from": "2025-03-01", "effective_to": None, "doc_no": f"d{i}",
                 "reason": None, "attributes": attributes}  # fmt: skip
        seq += 1
        state.apply(seq, EventType.entry_registered.value, {"entry": entry, "triggered": []})
    for j in range(args.holdings):
        person = f"P{j:017d}"
        seq += 1
        state.apply(seq, EventType.subject_upserted.value,
                    {"id": person, "kind": "person", "name": None, "region": None})  # fmt: skip
        seq += 1
        state.apply(seq, EventType.relation_recorded.value,
                    {"org_id": _org_id(j % args.entries), "person_id": person,
                     "role": "legal_representative" if j % 3 else "responsible_manager",
                     "start": "2020-01-01", "end": None})  # fmt: skip
    built = time.perf_counter() - started
    current = compile_policy(bundle)
    current.runtime.prepare(state.entries.values())
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as tmp:
        edited_dir = Path(tmp) / "edited"
        shutil.copytree(SHIPPED_POLICY_DIR, edited_dir)
        memo = edited_dir / "punishment" / "government-procurement.yaml"
        text = memo.read_text(encoding="utf-8")
        marker = "    text: 依法限制参与政府投资工程建设项目投标活动\n    effect: restrict"
        assert marker in text
        memo.write_text(text.replace(marker, marker.replace("restrict", "review")), "utf-8")
        edited = load_bundle(edited_dir)
    t0 = time.perf_counter()
    report = impact(state, current.runtime, edited)
    seconds = time.perf_counter() - t0
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"state: {args.entries} entries, {args.holdings} holdings, built in {built:.1f} s")
    print(f"impact: {seconds:.1f} s, peak RSS +{(rss_after - rss_before) / 1024:.0f} MiB "
          f"(state and current policy: {rss_before / 1024:.0f} MiB)")  # fmt: skip
    print(f"pairs changed: {report['summary']['pairs_changed']}, "
          f"by measure: {report['summary']['by_measure']}")  # fmt: skip


if __name__ == "__main__":
    main()
