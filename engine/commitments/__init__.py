"""Credit commitments (信用承诺): recorded by a department, fulfilled or breached; a breach is
an entry on the breach list (docs/commitments.md).

``schemas`` the requests, ``service`` the writes and reads, ``views`` the Commitment object.
"""

from engine.commitments.schemas import BreachBody, CommitmentCreate, FulfilmentBody
from engine.commitments.service import (
    BREACH_LIST,
    breach,
    commitments_of,
    commitments_page,
    fulfil,
    record,
    show,
)

__all__ = [
    "BREACH_LIST",
    "BreachBody",
    "CommitmentCreate",
    "FulfilmentBody",
    "breach",
    "commitments_of",
    "commitments_page",
    "fulfil",
    "record",
    "show",
]
