"""``jrp serve``: run the HTTP service."""

from __future__ import annotations

import gc
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import structlog
import typer
import uvicorn

from api.auth import load_callers
from api.cli import metricsdir
from api.cli.common import (
    EXIT_USAGE,
    fail,
    print_policy_problems,
    require_database,
    settings_from,
)
from api.cli.signing import demo_signing_key
from api.demo import DEMO_CALLERS, announce
from api.http_protocol import http_protocol
from api.limits import Limits
from engine import logging as logging_setup
from engine.errors import ConfigurationError, InvalidPolicy
from engine.settings import Settings

if TYPE_CHECKING:
    from engine.service import Service


WORKER_START_TIMEOUT = 600
"""Seconds a worker may take to start (or be unresponsive) before uvicorn replaces it."""


def serve(
    policy: Annotated[
        Path | None, typer.Option(help="policy bundle directory [env JRP_POLICY]")
    ] = None,
    callers: Annotated[Path | None, typer.Option(help="callers YAML [env JRP_CALLERS]")] = None,
    db: Annotated[str | None, typer.Option(help="database URL [env JRP_DB]")] = None,
    host: Annotated[str | None, typer.Option(help="interface to bind [env JRP_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port [env JRP_PORT]")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes [env JRP_WORKERS]")] = None,
    demo: Annotated[
        bool | None, typer.Option("--demo", help="demo callers (keys printed) and demo data")
    ] = None,
    signing_key: Annotated[
        Path | None,
        typer.Option(help="Ed25519 PEM key signing checkpoints [env JRP_SIGNING_KEY]"),
    ] = None,
    peers: Annotated[
        Path | None, typer.Option(help="peers file, for --pull-every [env JRP_PEERS]")
    ] = None,
    pull_every: Annotated[
        float | None,
        typer.Option(help="pull every peer every SECONDS in the background [env JRP_PULL_EVERY]"),
    ] = None,
    accept_truncated_log: Annotated[
        bool | None,
        typer.Option(
            "--accept-truncated-log",
            help="start although a log lost records a checkpoint covered (recorded as an event)",
        ),
    ] = None,
) -> None:
    """Run the HTTP service (migrates the database and loads the policy first)."""
    settings = settings_from(
        policy=policy, callers=callers, db=db, host=host, port=port, workers=workers, demo=demo,
        signing_key=signing_key, accept_truncated_log=accept_truncated_log, peers=peers,
        pull_every=pull_every,
    )  # fmt: skip
    require_database(settings.db)
    logging_setup.configure(log_format=settings.log_format, level=settings.log_level)
    with metricsdir.metrics_directory():  # before any metric exists (api/cli/metricsdir.py)
        _serve(settings, callers_file=settings.callers or (DEMO_CALLERS if settings.demo else None))


def _serve(settings: Settings, *, callers_file: Path | None) -> None:
    if settings.demo and settings.signing_key is None:
        settings.signing_key = demo_signing_key(settings.db)
    if callers_file is None:
        fail("no callers configured: pass --callers FILE (or --demo to try the service)")
    service = _start(settings)
    try:
        registry = load_callers(callers_file, service.policy.bundle.vocabulary)
    except ConfigurationError as exc:
        fail(exc.message)
    try:
        _attach_puller(service, settings)
    except ConfigurationError as exc:
        service.close()
        fail(exc.message, code=EXIT_USAGE)
    if settings.demo:
        from api.demo import data as demo_data

        demo_data.load(service)
        if settings.callers is None:
            announce(callers_file, base_url=f"http://{settings.host}:{settings.port}")
    structlog.get_logger("jrp").info(
        "serve.starting", host=settings.host, port=settings.port, workers=settings.workers
    )
    if settings.workers == 1:
        from api.app import create_app

        service.snapshot_if_behind()
        uvicorn.run(
            create_app(service, registry, limits=Limits.of(settings)),
            host=settings.host,
            port=settings.port,
            http=http_protocol(settings.header_timeout),
            log_config=None,
            access_log=False,  # the request log middleware logs each request, ids masked
        )
        return
    # Worker processes build their own service from the environment; the parent has already
    # migrated, validated the bundle and callers, loaded demo data, and stored a snapshot of
    # the state if the log had grown, so that every worker starts from it.
    service.snapshot_if_behind()
    service.close()
    from engine import metrics

    metrics.process_stopped()  # the supervisor serves nothing: no jrp_state_seq of its own
    # The supervisor serves nothing: give back the state (GBs at city scale) before it waits.
    del service, registry
    gc.unfreeze()
    gc.collect()
    # One console secret for every worker, or a session signed by one is refused by the others.
    os.environ.setdefault("JRP_CONSOLE_SECRET", secrets.token_urlsafe(32))
    os.environ.update(
        JRP_DB=settings.db,
        JRP_POLICY=str(settings.policy),
        JRP_CALLERS=str(callers_file),
        JRP_LOG_FORMAT=settings.log_format,
        JRP_LOG_LEVEL=settings.log_level,
    )
    if settings.signing_key is not None:
        os.environ["JRP_SIGNING_KEY"] = str(settings.signing_key)
    if settings.pull_every is not None and settings.peers is not None:
        os.environ.update(JRP_PEERS=str(settings.peers), JRP_PULL_EVERY=str(settings.pull_every))
    uvicorn.run(
        "api.worker:create_worker_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        http=http_protocol(settings.header_timeout),  # a module-level class: picklable
        log_config=None,
        access_log=False,
        # uvicorn kills a worker that does not answer its supervisor's ping within this many
        # seconds, and gives a restarted worker as long to become ready; its default (5 s) is
        # shorter than a start at city scale (loading the state snapshot: tens of seconds),
        # which made workers restart forever.
        timeout_worker_healthcheck=WORKER_START_TIMEOUT,
    )


def _attach_puller(service: Service, settings: Settings) -> None:
    from engine.exchange.schedule import attach_puller

    attach_puller(service, settings)


def _start(settings: Settings) -> Service:
    # Imported here so that `jrp lint` and `jrp --help` never load the rule engine.
    from engine.service import Service
    from engine.verifiable.startup import TruncatedLog

    try:
        return Service.start(settings)
    except TruncatedLog as exc:
        fail(exc.message)
    except InvalidPolicy as exc:
        print_policy_problems(exc, directory=str(settings.policy))
        fail(f"policy bundle {settings.policy} is invalid: the service does not start")
