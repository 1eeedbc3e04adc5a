"""Opaque paging cursors: a named position (``<prefix><number>``), URL-safe base64."""

from __future__ import annotations

import base64
import binascii

from engine.errors import InvalidRequest

MAX_POSITION = 2**63 - 1
"""Beyond BIGINT a database would fail, not the client."""


def encode_position(prefix: str, position: int) -> str:
    """The cursor meaning "after ``position``"."""
    return base64.urlsafe_b64encode(f"{prefix}{position}".encode()).decode().rstrip("=")


def decode_position(prefix: str, cursor: str) -> int:
    """The position a cursor of ``prefix`` points after; 422 naming ``cursor`` otherwise."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        if not text.startswith(prefix):
            raise ValueError(text)
        position = int(text.removeprefix(prefix))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        position = -1
    if not 0 <= position <= MAX_POSITION:
        message = "is not a cursor this service issued"
        raise InvalidRequest(f"cursor {message}", details=[{"field": "cursor", "message": message}])
    return position
