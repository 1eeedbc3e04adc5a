"""List entries and their life: registration (with derivations), lifecycle, bulk import.

``schemas`` the requests and the Entry object, ``registration`` and ``derivations`` the
write of a new entry, ``lifecycle`` revocation/repair, ``objections`` objections and
corrections, ``cascades`` derived entries ending with their sources, ``bulk`` ``jrp import
entries``, ``idempotency`` stored first answers, ``views`` what an entry shows.
"""

from engine.entries.bulk import EntryLine, import_rows
from engine.entries.lifecycle import repair, revoke, show_entry
from engine.entries.objections import objections_page, raise_objection, resolve_objection
from engine.entries.registration import register
from engine.entries.schemas import (
    EntryCreate,
    EntryOut,
    ObjectionBody,
    RepairBody,
    ResolutionBody,
)

__all__ = [
    "EntryCreate",
    "EntryLine",
    "EntryOut",
    "ObjectionBody",
    "RepairBody",
    "ResolutionBody",
    "import_rows",
    "objections_page",
    "raise_objection",
    "register",
    "repair",
    "resolve_objection",
    "revoke",
    "show_entry",
]
