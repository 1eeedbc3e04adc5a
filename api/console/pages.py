"""The console's pages (../shared/contract/console.md): each makes engine calls and renders.

No SQL, no sessions of the database, no business rules here: counts, queries, checks,
replay and lifecycle steps are ``engine`` functions, the same the ``/v1`` routes call.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.auth import Role
from api.console import bundle_upload, grades, publication
from api.console.frame import (
    LABELS,
    PAGES,
    ConsoleRoute,
    CsrfRejected,
    Visit,
    codec,
    current_session,
    error_page,
    read_form,
    render,
    set_session,
    to_login,
    visit,
)
from api.console.session import COOKIE
from api.deps import admit, sees_personal_data
from engine import checks, decisions, entries
from engine.audit.replay import replay_decision
from engine.checks import overview as check_overview
from engine.decisions import browse
from engine.decisions.running_stats import fast_feedback_stats, feedback_totals
from engine.entries import overview as entry_overview
from engine.entries.objections import readable_fields
from engine.entries.schemas import ResolutionBody
from engine.errors import InvalidRequest, NotFound
from engine.policy import history
from engine.registry.identifiers import mask_subject_id
from engine.registry.masking import mask_name, masked_detail
from engine.registry.views import subject_detail
from engine.timing import CHINA, china_today
from measures.bundle import Memorandum
from measures.schema import AllOf, AnyOf, Comparison, Condition

router = APIRouter(prefix="/console", include_in_schema=False, route_class=ConsoleRoute)

OPERATORS = {
    "eq": "等于",
    "ne": "不等于",
    "gt": "大于",
    "gte": "大于等于",
    "lt": "小于",
    "lte": "小于等于",
    "in": "属于",
    "not_in": "不属于",
}


# --- sign in and out ---------------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request) -> Response:
    """The form; an anonymous session carries its CSRF token."""
    session = current_session(request)
    if session is None:
        session = codec(request).new(None)
    response = render(request, "login.html", {"message": None}, session=session)
    set_session(request, response, session)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    """A known key starts a signed-in session; anything else shows the form with a message."""
    session = current_session(request)
    if session is None:  # no cookie, expired or forged: a fresh form
        fresh = codec(request).new(None)
        response = render(
            request,
            "login.html",
            {"message": "登录表单已过期,请重新输入密钥。"},
            status=400,
            session=fresh,
        )
        set_session(request, response, fresh)
        return response
    fields = await read_form(request, session)
    key = fields.get("key", "").strip()
    caller = request.app.state.callers.authenticate(key) if key else None
    if caller is None:
        response = render(
            request,
            "login.html",
            {"message": "密钥无效,请检查后重试。" if key else "请输入密钥。"},
            status=401,
            session=session,
        )
        return response
    from api.auth import hash_key

    signed_in = codec(request).new(hash_key(key))
    redirect = RedirectResponse("/console/", status_code=303)
    set_session(request, redirect, signed_in)
    return redirect


@router.get("/logout")
async def logout_get(_request: Request) -> Response:
    """Ends the session (the cookie is SameSite=Strict: no other site can send it here)."""
    return _logged_out()


@router.post("/logout")
async def logout(request: Request) -> Response:
    session = current_session(request)
    if session is not None:
        await read_form(request, session)
    return _logged_out()


def _logged_out() -> Response:
    response = to_login()
    response.delete_cookie(COOKIE, path="/console")
    return response


# --- overview ------------------------------------------------------------------------------


@router.get("/")
async def overview(request: Request) -> Response:
    you = visit(request, PAGES["overview"])
    service = you.service
    today = china_today()
    lists = entry_overview.in_force_by_list(service, today)
    per_day = feedback_totals(service.engine).checks_per_day(days=14, today=today)
    checks_total = sum(day["checks"] for day in per_day)
    hits_total = sum(day["with_hits"] for day in per_day)
    feedback = fast_feedback_stats(service.engine)
    departments = service.policy.bundle.vocabulary.departments
    objections = entry_overview.objection_counts(service)
    checks_chart = {
        "kind": "bar",
        "categories": [day["day"][5:] for day in per_day],
        "series": [
            {"name": "查询次数", "data": [day["checks"] for day in per_day]},
            {"name": "命中次数", "data": [day["with_hits"] for day in per_day]},
        ],
    }
    rate_chart = {
        "kind": "bar",
        "percent": True,
        "categories": [departments.get(d["department"], d["department"]) for d in feedback],
        "series": [
            {
                "name": "执行率",
                "data": [
                    None if d["execution_rate"] is None else round(100 * d["execution_rate"], 1)
                    for d in feedback
                ],
            }
        ],
    }
    return render(
        request,
        "overview.html",
        {
            "title": "概览",
            "today": today.isoformat(),
            "lists": lists,
            "in_force_total": sum(item["in_force"] for item in lists),
            "checks_total": checks_total,
            "hit_rate": None if not checks_total else hits_total / checks_total,
            "checks_chart": checks_chart,
            "rate_chart": rate_chart,
            "feedback": feedback,
            "departments": departments,
            "objections": objections,
        },
        visitor=you,
    )


# --- memoranda ----------------------------------------------------------------------------


@router.get("/memoranda")
async def memoranda(request: Request) -> Response:
    you = visit(request, PAGES["memoranda"])
    policy = you.service.policy
    items = sorted(
        policy.bundle.memoranda.values(), key=lambda m: (m.kind.value != "punishment", m.id)
    )
    return render(
        request,
        "memoranda.html",
        {"title": "合作备忘录", "memoranda": items, "version": policy.bundle.version,
         "loaded_at": policy.loaded_at.isoformat()},
        visitor=you,
    )  # fmt: skip


@router.get("/memoranda/{memorandum_id}")
async def memorandum(request: Request, memorandum_id: str) -> Response:
    you = visit(request, PAGES["memoranda"])
    bundle = you.service.policy.bundle
    memo: Memorandum | None = bundle.memoranda.get(memorandum_id)
    if memo is None:
        raise NotFound("当前政策中没有这份备忘录。", code="unknown_memorandum")
    vocabulary = bundle.vocabulary
    triggers = [
        {
            "list": trigger.list,
            "list_name": vocabulary.lists[trigger.list].name
            if trigger.list in vocabulary.lists
            else trigger.list,
            "subject_kinds": [kind.value for kind in trigger.subject_kinds],
            "when": None if trigger.when is None else describe_condition(trigger.when),
        }
        for trigger in memo.triggers
    ]
    triggers += [
        {
            "list": None,
            "list_name": "信用等级 " + "、".join(trigger.grades),
            "subject_kinds": [kind.value for kind in trigger.subject_kinds],
            "when": "查询当日主体的信用等级为其中之一(grades.yaml)",
        }
        for trigger in memo.grade_triggers
    ]
    return render(
        request,
        "memorandum.html",
        {
            "title": memo.title,
            "memo": memo,
            "triggers": triggers,
            "vocabulary": vocabulary,
        },
        visitor=you,
    )


def describe_condition(condition: Condition) -> str:
    """A trigger's ``when`` as a person reads it: ``amount 大于等于 1000000``."""
    if isinstance(condition, Comparison):
        value = condition.value
        if condition.op == "exists":
            return f"{condition.field} {'存在' if value else '不存在'}"
        shown = "、".join(map(str, value)) if isinstance(value, list) else str(value)
        return f"{condition.field} {OPERATORS[condition.op]} {shown}"
    if isinstance(condition, AllOf):
        return "全部满足:(" + ";".join(describe_condition(c) for c in condition.all) + ")"
    if isinstance(condition, AnyOf):
        return "满足其一:(" + ";".join(describe_condition(c) for c in condition.any) + ")"
    return str(condition)


# --- policy -------------------------------------------------------------------------------


def _policy_page(
    request: Request,
    you: Visit,
    *,
    review: dict[str, Any] | None = None,
    upload_message: str | None = None,
    status: int = 200,
) -> Response:
    engine = you.service.engine
    versions = history.versions(engine)
    old = request.query_params.get("from")
    new = request.query_params.get("to")
    diff = None
    if old and new:
        diff = history.text_diff(engine, old, new)
    return render(
        request,
        "policy.html",
        {
            "title": "政策版本",
            "versions": versions,
            "in_force": you.service.policy.bundle.version,
            "old": old,
            "new": new,
            "diff": diff,
            "review": review,
            "upload_message": upload_message,
            "vocabulary": you.service.policy.bundle.vocabulary,
        },
        status=status,
        visitor=you,
    )


@router.get("/policy")
async def policy(request: Request) -> Response:
    you = visit(request, PAGES["policy"])
    return _policy_page(request, you)


@router.post("/policy/upload")
async def upload_bundle(request: Request) -> Response:
    """A zipped bundle: lint, policy tests and impact (``api.console.bundle_upload``), the
    roles of ``POST /v1/policy/impact`` (policy_admin, auditor). Nothing is stored."""
    you = visit(request, PAGES["policy"])
    try:
        _name, data = await bundle_upload.read_upload(request, you.session)
        unzipped = bundle_upload.unzip_bundle(data)
    except bundle_upload.CsrfMissing:
        raise CsrfRejected from None
    except bundle_upload.UploadRejected as exc:
        return _policy_page(request, you, upload_message=exc.message, status=exc.status)
    review = await run_in_threadpool(bundle_upload.review, you.service, unzipped)
    return _policy_page(request, you, review=review)


# --- decisions ----------------------------------------------------------------------------


def _day_start(text: str | None, field: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(
            f"{field} 应为日期(YYYY-MM-DD)", details=[{"field": field, "message": "not a date"}]
        ) from None
    return dt.datetime.combine(day, dt.time(), tzinfo=CHINA)


@router.get("/decisions")
async def decision_log(request: Request) -> Response:
    you = visit(request, PAGES["decisions"])
    query = request.query_params
    since_text, until_text = query.get("since", ""), query.get("until", "")
    until = _day_start(until_text, "until")
    filters = browse.DecisionFilter(
        subject_id=query.get("subject") or None,
        department=query.get("department") or None,
        outcome=query.get("outcome") or None,
        since=_day_start(since_text, "since"),
        until=None if until is None else until + dt.timedelta(days=1),
    )
    before = query.get("before")
    page = browse.newest_decisions(you.service.engine, filters, limit=50, before=before)
    kept = {k: v for k, v in query.items() if k != "before" and v}
    return render(
        request,
        "decisions.html",
        {
            "title": "决策日志",
            "items": page["items"],
            "next_cursor": page["next_cursor"],
            "filters": kept,
            "outcomes": browse.OUTCOMES,
            "departments": you.service.policy.bundle.vocabulary.departments,
            "matters": you.service.policy.bundle.vocabulary.matters,
        },
        visitor=you,
    )


@router.get("/decisions/{decision_id}")
async def decision(request: Request, decision_id: str) -> Response:
    you = visit(request, PAGES["decisions"])
    engine = you.service.engine
    item = decisions.decision_item(engine, decision_id)
    replayed = None
    replay_diff: list[str] = []
    if request.query_params.get("replay"):
        replayed = replay_decision(engine, decision_id)
        if not replayed["identical"]:
            replay_diff = list(
                difflib.unified_diff(
                    _json_lines(replayed["recorded"]),
                    _json_lines(replayed["replayed"]),
                    "记录的答复",
                    "重放的答复",
                    lineterm="",
                )
            )
    return render(
        request,
        "decision.html",
        {
            "title": "决策详情",
            "item": item,
            "replayed": replayed,
            "replay_diff": replay_diff,
            "feedback": browse.decision_feedback(engine, decision_id),
            "vocabulary": you.service.policy.bundle.vocabulary,
            "bundle": you.service.policy.bundle,
        },
        visitor=you,
    )


def _json_lines(value: Any) -> list[str]:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).splitlines()


# --- subjects -----------------------------------------------------------------------------


@router.get("/subjects")
async def subject_lookup(request: Request) -> Response:
    """The lookup form; with ``?id=`` it goes to that subject's page."""
    you = visit(request, PAGES["subjects"])
    wanted = request.query_params.get("id", "").strip()
    if wanted:
        return RedirectResponse(f"/console/subjects/{wanted.upper()}", status_code=303)
    return render(request, "subject_lookup.html", {"title": "主体查询"}, visitor=you)


@router.get("/subjects/{subject_id}")
async def subject(request: Request, subject_id: str) -> Response:
    you = visit(request, PAGES["subjects"])
    service = you.service
    if len(subject_id) > 64:
        raise InvalidRequest("主体标识过长。")
    detail = subject_detail(service, subject_id)
    detail_id = detail["id"]
    today = china_today()
    matters = check_overview.by_matter(service, detail["id"], today)
    unmasked = sees_personal_data(you.caller)
    if not unmasked:
        detail = masked_detail(detail)
        for matter in matters:
            for hit in matter["hits"]:
                via = hit.get("via")
                if via:
                    hit["via"] = {k: mask_subject_id(v) if k.endswith("_id") else v
                                  for k, v in via.items()}  # fmt: skip
    timeline = sorted(
        [*(dict(e, reaching=False) for e in detail["entries"]),
         *(dict(e, reaching=True) for e in detail["reaching_entries"])],
        key=lambda e: (e["effective_from"], e["id"]),
        reverse=True,
    )  # fmt: skip
    return render(
        request,
        "subject.html",
        {
            "title": "主体",
            "subject": detail,
            "timeline": timeline,
            "matters": matters,
            "masked": not unmasked,
            "vocabulary": service.policy.bundle.vocabulary,
            "today": today.isoformat(),
            **publication.subject_extras(you, detail_id),
            **grades.grade_extras(you, detail_id),
        },
        visitor=you,
    )


# --- objections ---------------------------------------------------------------------------


def _objection_scope(you: Visit) -> str | None:
    """Whose objections: the credit office all (None), an initiator its department's, as
    ``GET /v1/objections`` decides."""
    return None if you.caller.has(Role.credit_office) else you.caller.department


def _objection_items(you: Visit) -> list[dict[str, Any]]:
    items = entry_overview.open_objections(you.service, department=_objection_scope(you))
    if not sees_personal_data(you.caller):
        for item in items:
            item["subject_id"] = mask_subject_id(item["subject_id"])
            if item["subject_kind"] == "person" and item["subject_name"]:
                item["subject_name"] = mask_name(item["subject_name"])
    return items


def _objections_page(
    request: Request, you: Visit, *, message: str | None = None, status: int = 200
) -> Response:
    items = _objection_items(you)
    bundle = you.service.policy.bundle
    return render(
        request,
        "objections.html",
        {
            "title": "异议处理",
            "items": items,
            "overdue": sum(1 for item in items if item["overdue"]),
            "scope": _objection_scope(you),
            "fields": {
                code: sorted(readable_fields(bundle, code)) for code in {i["list"] for i in items}
            },
            "working_days": bundle.vocabulary.settings.objection_verify_working_days,
            "vocabulary": bundle.vocabulary,
            "message": message,
            "done": request.query_params.get("resolved"),
        },
        status=status,
        visitor=you,
    )


@router.get("/objections")
async def objections(request: Request) -> Response:
    you = visit(request, PAGES["objections"])
    return _objections_page(request, you)


RESOLUTION_FIELDS = {
    "outcome": "处理结果",
    "note": "处理说明",
    "attributes": "更正的属性",
    "effective_to": "新的截止日期",
}


@router.post("/objections/{entry_id}/resolution")
async def resolve(request: Request, entry_id: str) -> Response:
    """Resolve an objection: the engine's ``resolve_objection`` with the caller's roles, as
    ``POST /v1/entries/{id}/objection/resolution`` (the credit office, or an initiator of the
    entry's department)."""
    you = visit(request, PAGES["objections"])
    fields = await read_form(request, you.session)
    admit(you.caller, (Role.credit_office, Role.initiator))
    raw: dict[str, Any] = {"outcome": fields.get("outcome", "")}
    if fields.get("note"):
        raw["note"] = fields["note"]
    if fields.get("outcome") == "corrected":
        if fields.get("attributes", "").strip():
            try:
                raw["attributes"] = json.loads(fields["attributes"])
            except ValueError:
                message = '更正的属性应为 JSON 对象,例如 {"amount": 500000}。'
                return _objections_page(request, you, message=message, status=422)
        if fields.get("effective_to"):
            raw["effective_to"] = fields["effective_to"]
    try:
        body = ResolutionBody.model_validate(raw)
    except ValidationError as exc:
        return _objections_page(request, you, message=_resolution_problems(exc), status=422)
    try:
        entries.resolve_objection(
            you.service,
            entry_id,
            body,
            actor=you.caller.name,
            department=you.caller.department,
            credit_office=you.caller.has(Role.credit_office),
        )
    except InvalidRequest as exc:
        return _objections_page(request, you, message=f"未能处理:{exc.message}", status=422)
    return RedirectResponse(f"/console/objections?resolved={entry_id}", status_code=303)


def _resolution_problems(exc: ValidationError) -> str:
    """The form's problems in Chinese, each naming its field."""
    problems = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        if field == "outcome":
            problems.append("请选择处理结果(成立、不成立或更正后恢复)。")
        else:
            label = RESOLUTION_FIELDS.get(field, field)
            problems.append(f"{label}({'.'.join(map(str, error['loc']))}):{error['msg']}")
    return ";".join(dict.fromkeys(problems))


# --- stats --------------------------------------------------------------------------------


@router.get("/stats")
async def stats(request: Request) -> Response:
    you = visit(request, PAGES["stats"])
    rows = fast_feedback_stats(you.service.engine)
    departments = you.service.policy.bundle.vocabulary.departments
    names = [departments.get(row["department"], row["department"]) for row in rows]
    chart = {
        "kind": "bar",
        "categories": names,
        "series": [
            {"name": "查询次数", "data": [row["checks"] for row in rows]},
            {"name": "有命中的查询", "data": [row["checks_with_hits"] for row in rows]},
            {"name": "已反馈的查询", "data": [row["feedback_received"] for row in rows]},
        ],
    }
    return render(
        request,
        "stats.html",
        {"title": "反馈统计", "rows": rows, "departments": departments, "feedback_chart": chart,
         **publication.timeliness(you)},
        visitor=you,
    )  # fmt: skip


# --- check --------------------------------------------------------------------------------


def _check_page(
    request: Request,
    you: Visit,
    *,
    form: dict[str, str],
    answer: dict[str, Any] | None = None,
    message: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "check.html",
        {
            "title": "联合奖惩查询",
            "form": form,
            "answer": answer,
            "message": message,
            "vocabulary": you.service.policy.bundle.vocabulary,
            "bundle": you.service.policy.bundle,
        },
        status=status,
        visitor=you,
    )


@router.get("/check")
async def check_form(request: Request) -> Response:
    you = visit(request, PAGES["check"])
    return _check_page(request, you, form={"explain": "1"})


@router.post("/check")
async def run_check(request: Request) -> Response:
    """A real check through ``engine.checks.decide_async``: logged like any check."""
    you = visit(request, PAGES["check"])
    fields = await read_form(request, you.session)
    names = ("subject_id", "matter", "as_of", "reference", "explain")
    form = {name: fields.get(name, "") for name in names}
    raw: dict[str, Any] = {"subject_id": form["subject_id"], "matter": form["matter"]}
    if form["explain"]:
        raw["explain"] = True
    if form["as_of"]:
        raw["as_of"] = form["as_of"]
    if form["reference"]:
        raw["reference"] = form["reference"]
    try:
        body = checks.CheckRequest.model_validate(raw)
    except ValidationError as exc:
        problems = ";".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        return _check_page(request, you, form=form, message=problems, status=422)
    try:
        stored = await checks.decide_async(
            you.service, body, caller=you.caller.name, department=you.caller.department
        )
    except InvalidRequest as exc:
        return _check_page(request, you, form=form, message=exc.message, status=422)
    return _check_page(request, you, form=form, answer=stored.response)


# --- anything else under /console -----------------------------------------------------------


@router.api_route("/{rest:path}", methods=["GET", "POST"])
async def unknown(request: Request, rest: str) -> Response:
    """Signed in: a 404 page; otherwise the login page (as every console path)."""
    visit(request, PAGES["overview"])
    return error_page(request, 404, "未找到", f"没有这个页面:/console/{rest}")


__all__ = ["LABELS", "router"]
