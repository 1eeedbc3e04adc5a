"""The canonical encoding each decision's hash is computed over, the same on every database.

``hash = sha256(prev_hash.encode("ascii") + canonical_record(...)).hexdigest()``, the genesis
``prev_hash`` being 64 zeros. ``canonical_record`` is, byte for byte,

    json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
               allow_nan=False).encode("utf-8")

over the dict of every recorded field except ``hash``: ``seq``, ``decision_id``,
``decided_at`` (UTC, ``isoformat(timespec="microseconds")``, e.g.
``2026-05-01T02:00:00.000000+00:00``), ``caller``, ``department``, ``subject_id``, ``matter``,
``request``, ``response``, ``policy_version``, ``event_seq``, ``prev_hash``; ``request`` and
``response`` pass through ``normalise_json`` first.

Why normalise: a JSON value does not come back from the database exactly as it went in.
PostgreSQL JSONB reorders keys (``sort_keys`` absorbs that) and stores numbers as decimals:
``1e16`` comes back as the integer ``10000000000000000``, ``-0.0`` as ``0.0``. So every number
with an integral value (an int, or a float such as ``1.0`` or ``1e16``) is encoded as the
plain integer of its shortest decimal form (``1``, ``10000000000000000``), and every other
float as Python's shortest round-trip ``repr``; the decimal JSONB keeps parses back to that
same float. Values neither database can store the same way are refused up front: NaN and
infinities, non-string keys (JSON would turn ``1`` into ``"1"``), NUL characters (JSONB and
PostgreSQL text reject them), lone surrogates (not encodable as UTF-8), non-JSON types.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from typing import Any

import orjson

GENESIS_HASH = "0" * 64

_text = json.encoder.encode_basestring
"""How json.dumps(..., ensure_ascii=False) writes a str (the C encoder when available)."""


def _walker(float_out: Callable[[float], Any]) -> Callable[[Any], Any]:
    """A ``normalise_json`` whose non-integral floats become ``float_out(value)``."""

    def walk(value: Any) -> Any:
        # Exact types first (what checks produce): each decision's request and response pass
        # here in the request's thread, so the common case must be cheap.
        kind = type(value)
        if kind is str:
            _check_text(value)
            return value
        if kind is dict:
            normalised: dict[str, Any] = {}
            for key, item in value.items():
                if type(key) is not str and not isinstance(key, str):
                    raise TypeError(f"JSON object key {key!r} is not a string")
                _check_text(key)
                normalised[key] = walk(item)
            return normalised
        if kind is list:
            return [walk(item) for item in value]
        if value is None or kind is bool:
            return value
        return other(value)

    def other(value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            _check_text(value)
            return value
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ValueError(f"{value!r} is not a JSON number")
            # Decimal(repr()) keeps the float's shortest decimal, which is what JSONB stores.
            return int(Decimal(repr(value))) if value.is_integer() else float_out(value)
        if isinstance(value, dict):
            normalised = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise TypeError(f"JSON object key {key!r} is not a string")
                _check_text(key)
                normalised[key] = walk(item)
            return normalised
        if isinstance(value, list | tuple):
            return [walk(item) for item in value]
        raise TypeError(f"{type(value).__name__} is not a JSON value")

    return walk


normalise_json: Callable[[Any], Any] = _walker(float)
"""``value`` with integral numbers as ints; raises ValueError/TypeError on non-portable JSON."""

_normalise_for_orjson = _walker(lambda value: orjson.Fragment(float.__repr__(value)))
"""``normalise_json`` with each remaining float as the text ``json.dumps`` writes for it
(``repr``), so that orjson, which formats some floats otherwise (``1e-05``), writes it so."""


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise ValueError("NUL characters cannot be stored")
    if not text.isascii():
        text.encode("utf-8")  # raises UnicodeEncodeError (a ValueError) on a lone surrogate


def encode_json(value: Any) -> str:
    """The canonical JSON text of a JSON value (normalised, sorted keys, no spaces).

    Written by orjson (a third of ``json.dumps``' time, docs/performance.md): byte for byte
    ``dumps_sorted(normalise_json(value))`` (the same escapes for every code point, keys
    sorted by code point, floats as ``repr`` through ``_normalise_for_orjson``); integers
    past 64 bits, which orjson refuses, take ``json.dumps``. Pinned by
    tests/engine/decisions/test_canonical_record.py.
    """
    normalised = _normalise_for_orjson(value)
    try:
        return orjson.dumps(normalised, option=orjson.OPT_SORT_KEYS).decode("utf-8")
    except orjson.JSONEncodeError:
        return dumps_sorted(normalise_json(value))


def dumps_sorted(value: Any) -> str:
    """JSON text with sorted keys, no spaces, UTF-8 characters as they are, no NaN: the same
    value in any key order gives the same text (``encode_json`` without the number
    normalisation)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def canonical_time(moment: dt.datetime) -> str:
    """A timestamp as it is hashed: UTC, microseconds, ``+00:00``."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime in a decision record")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical_record(
    *,
    seq: int,
    decision_id: str,
    decided_at: dt.datetime,
    caller: str,
    department: str,
    subject_id: str,
    matter: str,
    request_json: str,
    response_json: str,
    policy_version: str,
    event_seq: int,
    prev_hash: str,
) -> bytes:
    """The bytes hashed for one record; ``request_json``/``response_json`` from ``encode_json``.

    Assembled from pre-encoded request and response so the single writer thread does not
    encode them again; the result equals ``json.dumps`` of the whole record (module docstring).
    """
    # Written out field by field, in sorted key order, exactly as json.dumps would (str values
    # through the encoder json.dumps itself uses): a third of the cost of two dumps calls,
    # paid by the one writer thread for every decision. Pinned against json.dumps in tests.
    text = (
        f'{{"caller":{_text(caller)},"decided_at":{_text(canonical_time(decided_at))},'
        f'"decision_id":{_text(decision_id)},"department":{_text(department)},'
        f'"event_seq":{int(event_seq)},"matter":{_text(matter)},'
        f'"policy_version":{_text(policy_version)},"prev_hash":{_text(prev_hash)},'
        f'"request":{request_json},"response":{response_json},"seq":{int(seq)},'
        f'"subject_id":{_text(subject_id)}}}'
    )
    return text.encode("utf-8")


def chain_hash(prev_hash: str, record: bytes) -> str:
    """``sha256(prev_hash as ASCII hex + record)`` as lower-case hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + record).hexdigest()


def field_reader(record: Mapping[str, Any] | object) -> Callable[[str], Any]:
    """Read a stored record's fields by name, from a mapping or from an object's attributes."""
    if isinstance(record, Mapping):
        return record.__getitem__
    return partial(getattr, record)


def record_hash(record: Mapping[str, Any] | object) -> str:
    """A decision record's hash recomputed from its recorded fields, as an auditor would.

    ``record`` is a mapping (an audit item, with ``decided_at`` a datetime) or an object with
    the fields as attributes (``StoredDecision``, a ``decision`` row). Raises ValueError or
    TypeError on values the service could never have written.
    """
    field = field_reader(record)
    text = canonical_record(
        seq=field("seq"),
        decision_id=field("decision_id"),
        decided_at=field("decided_at"),
        caller=field("caller"),
        department=field("department"),
        subject_id=field("subject_id"),
        matter=field("matter"),
        request_json=encode_json(field("request")),
        response_json=encode_json(field("response")),
        policy_version=field("policy_version"),
        event_seq=field("event_seq"),
        prev_hash=field("prev_hash"),
    )
    return chain_hash(field("prev_hash"), text)
