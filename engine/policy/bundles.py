"""Policy bundles read for the service: ``measures`` parses, problems become ``InvalidPolicy``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from engine.errors import InvalidPolicy
from measures import loader
from measures.bundle import Bundle
from measures.yaml_positions import InvalidBundle


def load_bundle(directory: Path) -> Bundle:
    """The valid bundle in ``directory``; ``InvalidPolicy`` lists every problem."""
    try:
        return loader.load_bundle(directory)
    except InvalidBundle as exc:
        raise InvalidPolicy.of(exc) from None


def parse_bundle(files: Mapping[str, bytes]) -> Bundle:
    """The valid bundle of these files (relative path -> bytes); ``InvalidPolicy`` otherwise."""
    try:
        return loader.parse_bundle(files)
    except InvalidBundle as exc:
        raise InvalidPolicy.of(exc) from None
