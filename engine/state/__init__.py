"""The facts as of an event-log position: ``State`` (a projection of the log) and its values."""

from engine.state.facts import Entry, EntryStatus, Objection, StateView, Subject
from engine.state.graph import CompactRoleGraph, RoleHolding
from engine.state.projection import State

__all__ = [
    "CompactRoleGraph",
    "Entry",
    "EntryStatus",
    "Objection",
    "RoleHolding",
    "State",
    "StateView",
    "Subject",
]
