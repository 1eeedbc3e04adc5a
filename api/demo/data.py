"""A small demo data set for ``jrp serve --demo``, loaded through the same calls the API makes.

Four enterprises and their people in 广州: a dishonest judgment debtor whose legal
representative changed after the court's decision, a major tax violator, an A-grade taxpayer
(red list) whose legal representative is himself a judgment debtor, and a restaurant with
three administrative penalties in a year (derived onto 重点关注名单). Ids carry valid check
characters; the people and companies are invented (marked 示例).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog

from engine import checks, commitments, decisions, entries
from engine.calendar import add_working_days
from engine.commitments import BreachBody, CommitmentCreate, FulfilmentBody
from engine.entries.schemas import EntryCreate
from engine.registry import service as registry
from engine.service import Service
from engine.timing import china_today

log = structlog.get_logger(__name__)

SUBJECTS: list[dict[str, Any]] = [
    {"id": "91440101000010014P", "kind": "org", "name": "示例建设工程有限公司", "region": "440106"},
    {"id": "91440101000010022J", "kind": "org", "name": "示例贸易有限公司", "region": "440104"},
    {"id": "91440101000010030D", "kind": "org", "name": "示例科技股份有限公司", "region": "440106"},
    {"id": "91440101000010049A", "kind": "org", "name": "示例餐饮管理有限公司", "region": "440103"},
    # No entry at all: a clean record (绿色通道 by the absence derivation, docs/grades.md).
    {"id": "91440101000010073T", "kind": "org", "name": "示例守信商贸有限公司", "region": "440106"},
    {"id": "440106198001010115", "kind": "person", "name": "张示例"},
    {"id": "440106198001010123", "kind": "person", "name": "李示例"},
    {"id": "440106198001010131", "kind": "person", "name": "王示例"},
    {"id": "44010619800101014X", "kind": "person", "name": "赵示例"},
]

RELATIONS: list[dict[str, Any]] = [
    # 张示例 was legal representative of the construction company when the court decided,
    # 李示例 after him: 失信被执行人 measures reach 张示例 (held on the decision day).
    {
        "org_id": "91440101000010014P",
        "person_id": "440106198001010115",
        "role": "legal_representative",
        "start": "2018-03-01",
        "end": "2025-06-30",
    },
    {
        "org_id": "91440101000010014P",
        "person_id": "440106198001010123",
        "role": "legal_representative",
        "start": "2025-07-01",
        "end": None,
    },
    {
        "org_id": "91440101000010022J",
        "person_id": "440106198001010131",
        "role": "legal_representative",
        "start": "2019-05-01",
        "end": None,
    },
    {
        "org_id": "91440101000010022J",
        "person_id": "44010619800101014X",
        "role": "financial_officer",
        "start": "2020-01-01",
        "end": None,
    },
    {
        "org_id": "91440101000010030D",
        "person_id": "440106198001010123",
        "role": "legal_representative",
        "start": "2022-01-01",
        "end": None,
    },
]

ENTRIES: list[tuple[str, dict[str, Any]]] = [
    (
        "court",
        {
            "list": "dishonest_judgment_debtor",
            "subject_id": "91440101000010014P",
            "subject_kind": "org",
            "decided_on": "2025-03-01",
            "doc_no": "(2025)粤0106执1234号",
            "reason": "有履行能力而拒不履行生效法律文书确定义务(示例)",
            "attributes": {"court": "广州市天河区人民法院", "performance": "全部未履行"},
        },
    ),
    (
        "court",
        {
            "list": "dishonest_judgment_debtor",
            "subject_id": "440106198001010123",
            "subject_kind": "person",
            "decided_on": "2026-02-10",
            "doc_no": "(2026)粤0106执88号",
            "reason": "违反财产报告制度(示例)",
            "attributes": {"court": "广州市天河区人民法院"},
        },
    ),
    (
        "tax",
        {
            "list": "major_tax_violation",
            "subject_id": "91440101000010022J",
            "subject_kind": "org",
            "decided_on": "2026-05-20",
            "doc_no": "穗税稽罚〔2026〕15号",
            "reason": "偷税(示例)",
            "attributes": {
                "category": "tax_evasion",
                "unpaid_tax_amount": 1850000,
                "unpaid_tax_ratio": 0.16,
            },
        },
    ),
    (
        "tax",
        {
            "list": "a_grade_taxpayer",
            "subject_id": "91440101000010030D",
            "subject_kind": "org",
            "decided_on": "2026-04-01",
            "doc_no": "2025年度纳税信用A级(示例)",
        },
    ),
    *[
        (
            "market_regulation",
            {
                "list": "administrative_penalty",
                "subject_id": "91440101000010049A",
                "subject_kind": "org",
                "decided_on": day,
                "doc_no": f"穗天市监罚〔2026〕{number}号",
                "reason": "食品安全违法行为(示例)",
            },
        )
        for number, day in ((101, "2026-01-15"), (230, "2026-05-08"), (377, "2026-09-21"))
    ],
]


def load(service: Service) -> None:
    """Load the demo data unless the database already holds entries (a second start)."""
    service.catch_up()
    if service.state.entries:
        log.info("demo.already_loaded", entries=len(service.state.entries))
        return
    registry.upsert_subjects(service, SUBJECTS, actor="demo", department="market_regulation")
    registry.record_relations(service, RELATIONS, actor="demo", department="market_regulation")
    for department, body in ENTRIES:
        entries.register(
            service, EntryCreate.model_validate(body), caller_name="demo", department=department
        )
    _console_examples(service)
    _commitments(service)
    log.info("demo.loaded", subjects=len(SUBJECTS), entries=len(service.state.entries))


CHECKS: list[tuple[str, str, str, str]] = [
    # (department, caller, subject, matter): decisions for the console's log and statistics.
    ("finance", "某市财政局(政府采购监管)", "91440101000010014P", "government_procurement"),
    ("finance", "某市财政局(政府采购监管)", "440106198001010115", "government_procurement"),
    ("finance", "某市财政局(政府采购监管)", "91440101000010030D", "government_procurement"),
    ("housing_construction", "某市住房和城乡建设局", "91440101000010022J", "bidding"),
    ("housing_construction", "某市住房和城乡建设局", "91440101000010049A", "bidding"),
    ("tax", "某市税务局", "91440101000010030D", "tax_administration"),
    # Graded supervision (docs/grades.md): the judgment debtor is graded D, its answer logs it.
    ("market_regulation", "某市市场监管局", "91440101000010014P", "supervision_inspection"),
    ("market_regulation", "某市市场监管局", "91440101000010073T", "market_access"),
]


def _console_examples(service: Service) -> None:
    """Checks with feedback and one objection, so every console page shows something real."""
    for department, caller, subject_id, matter in CHECKS:
        if matter not in service.policy.bundle.vocabulary.matters:
            continue
        request = checks.CheckRequest(subject_id=subject_id, matter=matter, reference="示例")
        stored = service.decisions.append(
            checks.draft(service, request, caller=caller, department=department)
        )
        for position, hit in enumerate(stored.response["hits"][:1]):
            decisions.report_feedback(
                service.engine,
                stored.decision_id,
                measure_id=hit["measure_id"],
                executed=position == 0 and department != "housing_construction",
                note="示例反馈",
                caller=caller,
                department=department,
            )
    penalties = [e for e in service.state.entries.values() if e.list == "administrative_penalty"]
    if penalties:
        entries.raise_objection(
            service,
            penalties[0].id,
            "当事人称已整改并申请复核(示例)",
            actor="某市发展改革委(信用主管部门)",
            department="ndrc",
        )


def _commitments(service: Service) -> None:
    """信用承诺 (docs/commitments.md): one open and due soon (an early warning), one fulfilled,
    one breached (its entry on ``commitment_breach`` triggers the local rule's measure).
    Dates are relative to today so the warning shows whatever day the demo starts."""
    vocabulary = service.policy.bundle.vocabulary
    if commitments.BREACH_LIST not in vocabulary.lists or "market_access" not in vocabulary.matters:
        return
    today = china_today()

    def day(days_ago: int) -> str:
        return (today - dt.timedelta(days=days_ago)).isoformat()

    def commit(subject_id: str, doc_no: str, content: str, made: int, due: int | str) -> str:
        deadline = {"due_on": due} if isinstance(due, str) else {"due_working_days": due}
        body = {
            "subject_id": subject_id,
            "subject_kind": "org",
            "matter": "market_access",
            "content": content,
            "doc_no": doc_no,
            "made_on": day(made),
            **deadline,
        }
        answer = commitments.record(
            service,
            CommitmentCreate.model_validate(body),
            caller_name="demo",
            department="market_regulation",
        )
        commitment_id: str = answer["commitment"]["id"]
        return commitment_id

    commit("91440101000010049A", "穗天市监容缺〔2026〕8号(示例)",
           "容缺受理食品经营许可:承诺 10 个工作日内补交经营场所平面图(示例)", 10,
           add_working_days(today, 3).day.isoformat())  # fmt: skip
    kept = commit("91440101000010030D", "穗天市监容缺〔2026〕5号(示例)",
                  "容缺受理变更登记:承诺 5 个工作日内补交股东会决议(示例)", 20, 5)  # fmt: skip
    commitments.fulfil(
        service, kept, FulfilmentBody(note="已按期补交(示例)"), actor="demo",
        department="market_regulation",
    )  # fmt: skip
    broken = commit("91440101000010022J", "穗天市监容缺〔2026〕3号(示例)",
                    "容缺受理食品经营许可:承诺 10 个工作日内补交健康证明", 40, 10)  # fmt: skip
    breach = {"decided_on": day(5), "doc_no": "穗天市监违诺〔2026〕1号(示例)",
              "reason": "承诺期限届满未补交健康证明,经催告仍未补交(示例)"}  # fmt: skip
    commitments.breach(
        service, broken, BreachBody.model_validate(breach), caller_name="demo",
        department="market_regulation",
    )  # fmt: skip
