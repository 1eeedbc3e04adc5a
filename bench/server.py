"""The HTTP service as ``jrp serve`` runs it, for the benchmark; optionally without the log.

    python -m bench.server --db URL --callers FILE --port P [--workers N] [--no-decision-log]

Same app (``api.app.create_app``), same uvicorn options as ``jrp serve`` (``api/cli/serve.py``):
loop and HTTP parser ``auto`` (uvloop and httptools when installed), ``log_config=None``,
``access_log=False``, the same worker start timeout.
``--no-decision-log`` swaps the service's ``DecisionLog`` for ``DiscardingLog`` below, after
start. That switch exists only here: nothing in ``engine/`` or ``api/`` can turn the decision
log off, so a production process cannot run without it by accident.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import uvicorn
from fastapi import FastAPI

from api.cli import metricsdir
from api.cli.serve import WORKER_START_TIMEOUT
from api.http_protocol import http_protocol
from engine.decisions import DecisionDraft, StoredDecision
from engine.decisions.writer import _prepare
from engine.settings import Settings


class DiscardingLog:
    """A stand-in for ``DecisionLog`` that prepares each record as the real one does (validation
    and canonical encoding, in the caller's thread) and then drops it: no chain, no commit."""

    def append(self, draft: DecisionDraft) -> StoredDecision:
        _prepare(draft)
        return _stored(draft)

    async def append_async(self, draft: DecisionDraft) -> StoredDecision:
        _prepare(draft)
        return _stored(draft)

    def close(self) -> None:
        """Nothing to flush."""


def _stored(draft: DecisionDraft) -> StoredDecision:
    return StoredDecision.from_draft(draft, seq=0, prev_hash="", hash="")


def create_bench_app() -> FastAPI:
    """Build the app as ``api.worker.create_worker_app`` does, then apply the bench switches."""
    from api.worker import create_worker_app

    app = create_worker_app()
    if os.environ.get("JRP_BENCH_NO_DECISION_LOG") == "1":
        service: Any = app.state.service
        service.decisions.close()
        service.decisions = DiscardingLog()
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--callers", required=True)
    parser.add_argument("--policy", default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-decision-log", action="store_true")
    args = parser.parse_args()
    os.environ.update(JRP_DB=args.db, JRP_CALLERS=args.callers)
    if args.policy:
        os.environ["JRP_POLICY"] = args.policy
    if args.no_decision_log:
        os.environ["JRP_BENCH_NO_DECISION_LOG"] = "1"
    with metricsdir.metrics_directory():  # metrics on, as in `jrp serve`
        _run(args)


def _run(args: argparse.Namespace) -> None:
    uvicorn.run(
        "bench.server:create_bench_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        timeout_worker_healthcheck=WORKER_START_TIMEOUT,
        # The protocol `jrp serve` runs (a deadline for request heads): both servers of the
        # log on/off comparison pay the same per request.
        http=http_protocol(Settings.model_fields["header_timeout"].default),
    )


if __name__ == "__main__":
    main()
