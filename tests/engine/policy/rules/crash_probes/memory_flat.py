"""10,000 evaluations for distinct entries after a warm-up: resident memory stays flat.

Prints ``rss_mib <after warm-up> <after> evaluations <n> matched <m>``.
"""

from __future__ import annotations

import gc
import sys

from _common import ROOT, rss_mib

from engine.policy.rules import CompiledPolicy
from measures.loader import load_bundle

CATEGORIES = ["tax_evasion", "export_rebate_fraud", "facilitation", "ordinary_invoice_fraud", "x"]


def evaluate(policy: CompiledPolicy, lists: list[str], n: int) -> int:
    entry_list = lists[n % len(lists)]
    attributes = {
        "category": CATEGORIES[n % len(CATEGORIES)],
        "unpaid_tax_amount": 900_000 + n * 37,
        "unpaid_tax_ratio": (n % 20) / 100,
        "case_no": f"(2024)京01执{n}号",
        "subject": f"subject-{n}",
    }
    kind = "org" if n % 3 else "person"
    return len(policy.triggered(list_code=entry_list, subject_kind=kind, attributes=attributes))


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    bundle = load_bundle(ROOT / "memoranda")
    policy = CompiledPolicy.compile(bundle)
    lists = [*bundle.triggers_by_list, "unwatched_list"]
    for n in range(2_000):
        evaluate(policy, lists, -n - 1)
        policy.derivations_met(
            list_code="administrative_penalty", window_counts={"repeat-penalties": n % 5}
        )
    gc.collect()
    before = rss_mib()
    matched = 0
    for n in range(count):
        matched += evaluate(policy, lists, n)
        policy.derivations_met(
            list_code="administrative_penalty", window_counts={"repeat-penalties": n % 5}
        )
    gc.collect()
    after = rss_mib()
    policy.close()
    print(f"rss_mib {before:.2f} {after:.2f} evaluations {count} matched {matched}")


if __name__ == "__main__":
    main()
