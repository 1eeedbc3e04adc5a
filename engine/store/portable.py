"""Request values every store keeps exactly: no NaN/Infinity, no NUL characters; and the
limits on the free-form JSON a request carries (an entry's ``attributes``).

Python's JSON parser accepts ``NaN`` and ``Infinity``, which PostgreSQL's JSONB refuses (a
500) and SQLite's JSON turns into ``null`` (silently changing what a department registered);
PostgreSQL text refuses the NUL character outright. So request models refuse them up front,
with the field named, and what is stored is what was sent on every database.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from pydantic import AfterValidator


def refuse_nul(value: str) -> str:
    """``value``, or ValueError when it holds a NUL character (use after StringConstraints)."""
    if "\x00" in value:
        raise ValueError("must not contain the NUL character")
    return value


def portable_json(value: Any, path: str = "") -> Any:
    """``value`` unchanged, or ValueError naming where it holds NaN, Infinity or a NUL."""
    where = f" at {path}" if path else ""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{value!r}{where} is not a number JSON can carry")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"the NUL character{where} cannot be stored")
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                raise ValueError(f"the NUL character in a key{where} cannot be stored")
            portable_json(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            portable_json(item, f"{path}[{index}]")
    return value


MAX_JSON_BYTES = 64 * 1024
"""Free-form JSON (``attributes``) is at most this long, written as compact UTF-8 JSON."""
MAX_JSON_DEPTH = 32
"""...and nested at most this deep: the object itself is level 1, each object or array in it
one level more."""


def bounded_json(value: Any) -> Any:
    """``value`` unchanged, or ValueError when it is nested deeper than ``MAX_JSON_DEPTH`` or
    longer than ``MAX_JSON_BYTES`` as JSON. Iterative: a value nested 900 deep (as deep as
    Python's JSON parser goes) must not exhaust the stack here."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        pending.extend((child, depth + 1) for child in children)
    try:
        size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    except ValueError:  # an integer of more digits than Python writes (4,300)
        raise ValueError("holds a number too long to store") from None
    if size > MAX_JSON_BYTES:
        raise ValueError(f"{size} bytes as JSON; at most {MAX_JSON_BYTES}")
    return value


SafeText = Annotated[str, AfterValidator(refuse_nul)]
"""A string without NUL characters. With length or whitespace rules write
``Annotated[str, StringConstraints(...), AfterValidator(refuse_nul)]``: nesting ``SafeText``
inside ``StringConstraints`` loses the constraints."""

PortableObject = Annotated[
    dict[str, Any], AfterValidator(bounded_json), AfterValidator(portable_json)
]
"""A JSON object every database stores unchanged, within ``MAX_JSON_BYTES`` and
``MAX_JSON_DEPTH`` (checked first: ``portable_json`` recurses)."""
