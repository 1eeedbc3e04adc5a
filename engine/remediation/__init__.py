"""Remediation (恢复信誉): what a wrong entry caused, and whom to tell.

``engine.decisions.hit_index`` the decision-hit index (which logged decisions had a hit
from which entry), written with each decision batch and rebuildable from the log;
``queries`` an entry's decisions (``GET /v1/entries/{id}/decisions``), notices to
implementing departments
(``GET /v1/notices``) and the decision log filtered by entry.
"""

from engine.decisions.hit_index import hit_rows, rebuild
from engine.remediation.queries import entry_decisions, notices

__all__ = ["entry_decisions", "hit_rows", "notices", "rebuild"]
