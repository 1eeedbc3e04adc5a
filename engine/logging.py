"""structlog, configured once: JSON lines when not on a terminal, readable lines on one."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

from engine.registry.identifiers import mask_subject_id


def _mask_personal_ids(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # Citizen ids are personal information (PIPL): never write them to application logs.
    for key in ("subject_id", "person_id", "org_id"):
        value = event_dict.get(key)
        if isinstance(value, str):
            event_dict[key] = mask_subject_id(value)
    return event_dict


def configure(
    *,
    log_format: Literal["auto", "json", "console"] = "auto",
    level: str = "info",
) -> None:
    """Configure structlog and the standard library loggers it shares output with."""
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if use_json
        else structlog.dev.ConsoleRenderer()
    )
    numeric_level = logging.getLevelNamesMapping()[level.upper()]
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _mask_personal_ids,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=numeric_level, stream=sys.stderr, format="%(message)s")
    # Alembic narrates every migration step at INFO; only its problems belong in service logs.
    logging.getLogger("alembic").setLevel(max(numeric_level, logging.WARNING))
