"""Personal data as callers without the right to see it are shown it.

Ids: ``engine.registry.identifiers.mask_subject_id`` (org codes are public and stay whole;
a citizen number keeps its region and last 4 characters). A person's name keeps its first
character (``张*``, ``欧阳**`` → ``欧**``: one star per hidden character). Org names are
public (business licences) and stay whole.
"""

from __future__ import annotations

from typing import Any

from engine.registry.identifiers import mask_subject_id


def mask_name(name: str | None) -> str | None:
    """``张三`` → ``张*``; None stays None."""
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)


def masked_person(subject_id: str, name: str | None, kind: str) -> tuple[str, str | None]:
    """The id and name as shown to a caller who may not see personal data."""
    return mask_subject_id(subject_id), (mask_name(name) if kind == "person" else name)


def masked_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """A ``subject_detail`` with every personal id masked and a person's name masked."""
    masked = dict(detail)
    masked["id"], masked["name"] = masked_person(detail["id"], detail["name"], detail["kind"])
    masked["relations"] = [
        {**r, "person_id": mask_subject_id(r["person_id"])} for r in detail["relations"]
    ]

    def entry(item: dict[str, Any]) -> dict[str, Any]:
        shown = {**item, "subject_id": mask_subject_id(item["subject_id"])}
        via = item.get("via")
        if via is not None:
            shown["via"] = {k: (mask_subject_id(v) if k.endswith("_id") else v)
                            for k, v in via.items()}  # fmt: skip
        return shown

    masked["entries"] = [entry(e) for e in detail["entries"]]
    masked["reaching_entries"] = [entry(e) for e in detail["reaching_entries"]]
    masked["commitments"] = [entry(c) for c in detail.get("commitments", ())]
    return masked
