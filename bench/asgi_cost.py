"""Process CPU per request of ``GET /healthz`` and ``POST /v1/checks``, in-process (no HTTP).

    cd TREE && PYTHONPATH=TREE PROJECT/.venv/bin/python -m bench.asgi_cost --db URL
        [--requests 6000] [--concurrency 50] [--runs 4]

From the tree measured: ``python -m`` puts the working directory first on ``sys.path``,
before ``PYTHONPATH``, so run from the project root it measures the project's code.

The app exactly as ``jrp serve`` builds it (``api.app.create_app``, decision log on, metrics
on in a temporary multi-process directory as ``jrp serve`` sets it), called through ASGI by
``--concurrency`` coroutines on one event loop, each request a hand-made scope (no HTTP
parsing, no sockets: what is left is the app's own work plus the decision log's writer
thread). Figures are ``time.process_time()`` (every thread of the process) divided by the
requests answered: CPU, so steadier than wall-clock rates on a machine others load. Alternates
the two endpoints ``--runs`` times and prints one JSON line: µs per request of each run, and
the ratio of the medians (trivial / check), which is what the HTTP throughput ratio would be
if uvicorn's own per-request cost were zero.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--callers", default=str(ROOT / "bench" / "out" / "bench-callers.yaml"))
    parser.add_argument(
        "--checks", default=str(ROOT / "bench" / "out" / "data-small" / "checks.jsonl")
    )
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    made = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # metrics on, as in `jrp serve`
        made = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="jrp-metrics-")

    from api.app import create_app
    from api.auth import load_callers
    from engine import logging as logging_setup
    from engine.service import Service
    from engine.settings import Settings

    sys.stdout = open(os.devnull, "w")  # the request log: written, not shown  # noqa: SIM115
    logging_setup.configure(log_format="json", level="info")
    settings = Settings(db=args.db, callers=Path(args.callers))
    service = Service.start(settings)
    app = create_app(service, load_callers(Path(args.callers), service.policy.bundle.vocabulary))
    bodies = [line.encode() for line in Path(args.checks).read_text().splitlines() if line]
    key = b"Bearer bench-implementer-key"
    results: dict[str, list[float]] = {"trivial": [], "check": []}

    async def request(method: str, path: str, body: bytes) -> int:
        headers = [(b"host", b"bench"), (b"authorization", key)]
        if body:
            headers += [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())]  # fmt: skip
        scope: dict[str, Any] = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "headers": headers,
            "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000), "state": {},
        }  # fmt: skip
        status = 0
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    async def load(kind: str, count: int) -> float:
        method, path = ("GET", "/healthz") if kind == "trivial" else ("POST", "/v1/checks")
        counter = iter(range(count))

        async def worker() -> None:
            for n in counter:
                body = b"" if kind == "trivial" else bodies[n % len(bodies)]
                status = await request(method, path, body)
                if status != 200:
                    raise SystemExit(f"{kind}: status {status}")

        gc.collect()
        began = time.process_time()
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        return (time.process_time() - began) / count * 1e6

    async def run() -> None:
        async with app.router.lifespan_context(app):
            await load("trivial", 1000)
            await load("check", 1000)
            for _ in range(args.runs):
                for kind in ("trivial", "check"):
                    results[kind].append(round(await load(kind, args.requests), 1))

    try:
        import uvloop

        uvloop.run(run())
    except ImportError:
        asyncio.run(run())
    finally:  # the app's lifespan closed the service
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
    trivial, check = (statistics.median(results[k]) for k in ("trivial", "check"))
    print(
        json.dumps(
            {
                "trivial_us": results["trivial"],
                "check_us": results["check"],
                "ratio_of_medians": round(trivial / check, 3),
                "load": round(os.getloadavg()[0], 2),
            }
        ),
        file=sys.__stdout__,
    )


if __name__ == "__main__":
    main()
