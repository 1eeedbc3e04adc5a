"""Publication (公示): the public feed of published lists, its rate limit, 双公示 timeliness."""

from engine.publication.feed import (
    MAX_LIMIT,
    MAX_Q_LENGTH,
    list_entries,
    public_entries_of,
    published_lists,
    warm,
)
from engine.publication.ratelimit import admit_public
from engine.publication.timeliness import publication_stats

__all__ = [
    "MAX_LIMIT",
    "MAX_Q_LENGTH",
    "admit_public",
    "list_entries",
    "public_entries_of",
    "publication_stats",
    "published_lists",
    "warm",
]
