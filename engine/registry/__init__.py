"""The registry: subjects (orgs and persons), who holds which role where, identifiers.

``schemas`` the items and answers, ``service`` the batch writes, ``views`` a subject's page,
``identifiers`` 统一社会信用代码 and 公民身份号码.
"""

from engine.registry.schemas import (
    RelationIn,
    RelationsStored,
    SubjectDetail,
    SubjectIn,
    SubjectsStored,
)
from engine.registry.service import MAX_ITEMS, record_relations, upsert_subjects
from engine.registry.views import subject_detail

__all__ = [
    "MAX_ITEMS",
    "RelationIn",
    "RelationsStored",
    "SubjectDetail",
    "SubjectIn",
    "SubjectsStored",
    "record_relations",
    "subject_detail",
    "upsert_subjects",
]
