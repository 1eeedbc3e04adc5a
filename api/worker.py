"""Entry point of each ``jrp serve --workers N`` worker process."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from api.auth import load_callers
from api.limits import Limits
from engine import logging as logging_setup
from engine.errors import ConfigurationError
from engine.exchange.schedule import attach_puller
from engine.service import Service
from engine.settings import Settings


def create_worker_app() -> FastAPI:
    """Build the app from ``JRP_*`` variables set by the parent ``jrp serve``."""
    settings = Settings()
    logging_setup.configure(log_format=settings.log_format, level=settings.log_level)
    if settings.callers is None:
        raise ConfigurationError("JRP_CALLERS is not set for the worker")
    service = Service.start(settings)
    attach_puller(service, settings)
    callers = load_callers(settings.callers, service.policy.bundle.vocabulary)
    return create_app(service, callers, limits=Limits.of(settings))
