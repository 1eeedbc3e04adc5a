"""Request values every store keeps exactly: no NaN/Infinity, no NUL characters.

Python's JSON parser accepts ``NaN`` and ``Infinity``, which PostgreSQL's JSONB refuses (a
500) and SQLite's JSON turns into ``null`` (silently changing what a department registered);
PostgreSQL text refuses the NUL character outright. So request models refuse them up front,
with the field named, and what is stored is what was sent on every database.
"""

from __future__ import annotations

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


SafeText = Annotated[str, AfterValidator(refuse_nul)]
"""A string without NUL characters. With length or whitespace rules write
``Annotated[str, StringConstraints(...), AfterValidator(refuse_nul)]``: nesting ``SafeText``
inside ``StringConstraints`` loses the constraints."""

PortableObject = Annotated[dict[str, Any], AfterValidator(portable_json)]
"""A JSON object every database stores unchanged."""
