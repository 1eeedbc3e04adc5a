"""The exchange between instances, in process: feed pages, verification and application.

``python -m bench.exchange [N] [LIMIT]``: instance A (SQLite) with N judgment-debtor entries
(default 20,000) and its subjects, B pulls them in pages of LIMIT records (default 500). The
feed is read through ``feed_page`` and a JSON round trip (what travels), not HTTP, so the
figures are the service's work on both sides. docs/performance.md has the results.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import engine.registry  # noqa: F401 (before engine.entries: an import cycle otherwise)
from bench.publication import org
from engine import entries
from engine.exchange.feed import feed_page
from engine.exchange.peers import Peer
from engine.exchange.pull import pull
from engine.exchange.verify import Cursor
from engine.service import Service
from engine.settings import SHIPPED_POLICY_DIR, Settings


def main(n: int, limit: int) -> None:
    tmp = Path(tempfile.mkdtemp())
    shutil.copytree(SHIPPED_POLICY_DIR, tmp / "bundle")
    a = Service.start(Settings(db=f"sqlite:///{tmp}/a.db", policy=tmp / "bundle"))
    b = Service.start(Settings(db=f"sqlite:///{tmp}/b.db", policy=tmp / "bundle"))
    key = Ed25519PrivateKey.generate()
    a.verifiable.use_key(key)
    rows = [
        {"list": "dishonest_judgment_debtor", "subject_id": org(i), "subject_kind": "org",
         "subject_name": f"示例公司{i}", "decided_on": "2025-03-01", "doc_no": f"(2025)执{i}号"}
        for i in range(n)
    ]  # fmt: skip
    started = time.perf_counter()
    entries.import_rows(a, rows, department="court")
    print(f"A: {n} entries ({a.state.seq} events) in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    a.verifiable.checkpoint_now()
    took = time.perf_counter() - started
    print(f"A: tree and checkpoint of {a.state.seq} events in {took:.1f} s")
    feed_seconds: list[float] = []
    sizes: list[int] = []

    def fetch(_peer: Peer, cursor: Cursor, page_limit: int) -> Any:
        begun = time.perf_counter()
        page = feed_page(a, after=cursor.after, limit=page_limit, known_size=cursor.size,
                         region="440100")  # fmt: skip
        text = json.dumps(page)
        feed_seconds.append(time.perf_counter() - begun)
        sizes.append(len(text))
        return json.loads(text)

    peer = Peer("a", "440100", "http://a.invalid", "unused", key.public_key())
    started = time.perf_counter()
    report = pull(b, peer, limit=limit, fetch=fetch)
    total = time.perf_counter() - started
    assert report.refused is None, report.refused
    feed = sum(feed_seconds)
    print(report.summary())
    print(f"pull: {total:.1f} s in all, {report.records / total:,.0f} records/s, "
          f"{report.imported / total:,.0f} entries/s")  # fmt: skip
    print(f"feed (A): {feed:.1f} s, {1000 * feed / len(feed_seconds):.0f} ms a page, "
          f"{sum(sizes) / len(sizes) / 1024:.0f} KiB a page")  # fmt: skip
    print(f"verify + apply (B): {total - feed:.1f} s")
    a.close()
    b.close()
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000,
         int(sys.argv[2]) if len(sys.argv) > 2 else 500)  # fmt: skip
