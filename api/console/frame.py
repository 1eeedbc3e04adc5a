"""The console's frame: sessions in and out of requests, the page table, rendering, errors.

Every page handler starts with ``visit(request, page)``: no valid session redirects to the
login page, a caller without the page's roles gets the 403 page, through ``api.deps.admit``,
the same role check ``/v1`` runs. Engine errors become HTML pages with the status the API
would answer; nothing a client sends gives a 500.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import structlog
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import Caller, CallerRegistry, Role
from api.console.session import (
    COOKIE,
    LIFETIME_SECONDS,
    ConsoleSession,
    SessionCodec,
    csrf_matches,
)
from api.deps import admit
from engine.commitments.views import STATUS_NAMES as COMMITMENT_STATUS_NAMES
from engine.errors import JrpError
from engine.service import Service
from engine.timing import CHINA

log = structlog.get_logger(__name__)

HERE = Path(__file__).resolve().parent
STATIC_URL = "/console/static"
MAX_FORM_BYTES = 64 * 1024

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
"""Scripts only from the service's own files: stored text can never run as script."""


@dataclass(frozen=True, slots=True)
class Page:
    path: str
    title: str
    roles: tuple[Role, ...]
    """Roles that may open it; empty: any signed-in caller."""
    in_nav: bool = True


PAGES: dict[str, Page] = {
    "overview": Page("/console/", "概览", ()),
    "memoranda": Page("/console/memoranda", "合作备忘录", ()),
    "policy": Page("/console/policy", "政策版本", (Role.policy_admin, Role.auditor)),
    "decisions": Page("/console/decisions", "决策日志", (Role.auditor,)),
    "subjects": Page("/console/subjects", "主体查询", ()),
    "objections": Page("/console/objections", "异议处理", (Role.credit_office, Role.initiator)),
    "stats": Page("/console/stats", "反馈统计", (Role.auditor,)),
    "check": Page("/console/check", "联合奖惩查询", (Role.implementer,)),
    "warnings": Page("/console/warnings", "诚信预警", (Role.credit_office,)),
}

EFFECTS = {
    "prohibit": "禁止",
    "restrict": "限制",
    "review": "从严审核",
    "notice": "提示",
    "incentive": "激励",
    "clear": "无措施",
}
STATUSES = {
    "active": "有效",
    "under_objection": "异议中",
    "revoked": "已撤销",
    "repaired": "已修复",
    "expired": "已到期",
}
REASONS = {
    "under_objection": "条目异议中,核实期间暂不执行",
    "revoked": "条目已撤销",
    "repaired": "条目已信用修复",
    "expired": "条目已过有效期",
    "not_yet_effective": "条目尚未生效",
    "no_memorandum": "该名单对此类主体未触发任何备忘录",
    "condition_false": "备忘录的触发条件不满足",
    "matter_not_listed": "措施不适用于本事项",
    "kind_not_covered": "措施不适用于此类主体",
    "not_propagated": "措施不向此关联角色传导",
    "role_not_held": "在规定日期未担任该职务",
    "duration_over": "措施的实施期限已满",
    "incentive_withheld": "存在失信记录,激励措施暂停",
    "grade_not_matched": "主体的信用等级不在触发等级之内",
    "record_not_clean": "近年有不良信用记录,不满足连续无记录的年限",
}
"""Every reason code of the explanation contract (docs/api.md#explanations) in Chinese; the
page shows the code beside it (tests check the table covers ``engine.checks.explain.Reason``)."""

LABELS: dict[str, Mapping[str, str]] = {
    "effect": EFFECTS,
    "status": STATUSES,
    "memo_kind": {"punishment": "惩戒", "incentive": "激励"},
    "list_kind": {"black": "黑名单", "red": "红名单", "record": "记录"},
    "subject_kind": {"org": "法人和其他组织", "person": "自然人"},
    "role": {
        "registrar": "登记机关",
        "initiator": "发起部门",
        "implementer": "实施部门",
        "credit_office": "信用主管部门",
        "auditor": "审计",
        "policy_admin": "政策管理",
        "peer": "对端实例",
    },
    "outcome": {
        "upheld": "异议成立(撤销)",
        "rejected": "异议不成立(恢复)",
        "corrected": "更正后恢复",
    },
    "reason": REASONS,
    "commitment_status": COMMITMENT_STATUS_NAMES,
    "warning_kind": {
        "derivation_threshold": "差一条达到派生条件",
        "entry_expiring": "条目即将到期",
        "publicity_ending": "即将结束公示",
        "objection_due": "异议核实将到期",
        "commitment_due": "信用承诺将到期",
    },
}


def _china_time(value: str | None) -> str:
    """An RFC 3339 time as China time ``YYYY-MM-DD HH:MM:SS``."""
    if not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["china_time"] = _china_time
templates.env.filters["pretty_json"] = lambda value: json.dumps(
    value, ensure_ascii=False, indent=2, sort_keys=True
)
templates.env.globals["STATIC"] = STATIC_URL
templates.env.globals["LABELS"] = LABELS


class LoginRequired(Exception):
    """No valid signed-in session: the handler answers with a redirect to the login page."""


class CsrfRejected(Exception):
    """A form post without the session's CSRF token."""


@dataclass(frozen=True, slots=True)
class Visit:
    """A signed-in caller on a page."""

    request: Request
    caller: Caller
    session: ConsoleSession
    service: Service

    @property
    def nav(self) -> list[tuple[str, Page]]:
        return [
            (name, page)
            for name, page in PAGES.items()
            if page.in_nav and (not page.roles or any(self.caller.has(r) for r in page.roles))
        ]


def codec(request: Request) -> SessionCodec:
    found: SessionCodec = request.app.state.console_sessions
    return found


def current_session(request: Request) -> ConsoleSession | None:
    """The request's valid session (anonymous or signed in), or None."""
    return codec(request).decode(request.cookies.get(COOKIE))


def visit(request: Request, page: Page) -> Visit:
    """The signed-in caller, admitted to ``page`` (LoginRequired, or Forbidden from ``admit``)."""
    session = current_session(request)
    if session is None or session.digest is None:
        raise LoginRequired
    registry: CallerRegistry = request.app.state.callers
    caller = registry.by_digest(session.digest)
    if caller is None:  # the key was removed from the callers file
        raise LoginRequired
    state = request.scope.setdefault("state", {})
    state["caller_department"] = caller.department
    state["caller_name"] = caller.name
    if page.roles:
        admit(caller, page.roles)
    return Visit(request, caller, session, request.app.state.service)


async def read_form(request: Request, session: ConsoleSession) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` post's fields (first value of each), after
    checking its CSRF token; CsrfRejected otherwise. Larger than 64 KiB: 413."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise StarletteHTTPException(413, "表单过大")
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    fields: dict[str, str] = {}
    if media == "application/x-www-form-urlencoded":
        text = body.decode("utf-8", errors="replace")
        for name, value in parse_qsl(text, keep_blank_values=True):
            fields.setdefault(name, value)
    if not csrf_matches(session, fields.get("csrf")):
        raise CsrfRejected
    return fields


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    visitor: Visit | None = None,
    session: ConsoleSession | None = None,
) -> HTMLResponse:
    """A page; ``visitor`` gives the navigation and the CSRF token of its forms."""
    active = visitor.session if visitor is not None else session
    full = {
        "visit": visitor,
        "caller": None if visitor is None else visitor.caller,
        "nav": [] if visitor is None else visitor.nav,
        "csrf": "" if active is None else active.csrf,
        "path": request.url.path,
        **context,
    }
    response = templates.TemplateResponse(request, template, full, status_code=status)
    secure_headers(response)
    return response


def secure_headers(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"


def set_session(request: Request, response: Response, session: ConsoleSession) -> None:
    """Put ``session`` in the cookie: HttpOnly, SameSite=Strict, signed, expiring."""
    response.set_cookie(
        COOKIE,
        codec(request).encode(session),
        max_age=LIFETIME_SECONDS if session.digest is not None else None,
        path="/console",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def to_login() -> RedirectResponse:
    return RedirectResponse("/console/login", status_code=303)


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    """An error page, with the navigation when the caller is signed in."""
    visitor: Visit | None
    try:
        visitor = visit(request, Page(request.url.path, title, ()))
    except (LoginRequired, JrpError):
        visitor = None
    return render(
        request,
        "error.html",
        {"title": title, "message": message, "status": status},
        status=status,
        visitor=visitor,
    )


_TITLES = {
    400: "请求有误",
    401: "未登录",
    403: "无权访问",
    404: "未找到",
    405: "不支持的请求方式",
    409: "状态冲突",
    413: "请求过大",
    422: "输入有误",
}


class ConsoleRoute(APIRoute):
    """Routes whose errors are HTML pages (the API's JSON envelope is for programs)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return to_login()
            except CsrfRejected:
                message = "表单已过期或来源不明,请刷新页面后重试。"
                return error_page(request, 403, "表单已失效", message)
            except JrpError as exc:
                if exc.status >= 500:
                    log.error("console.failed", code=exc.code, error=exc.message)
                    return error_page(request, exc.status, "服务暂不可用", exc.message)
                title = _TITLES.get(exc.status, "请求未完成")
                if exc.status == 403:
                    message = "您的角色无权查看此页面或执行此操作。" + f"({exc.message})"
                else:
                    message = exc.message
                return error_page(request, exc.status, title, message)
            except RequestValidationError as exc:
                problems = "; ".join(str(e.get("msg")) for e in exc.errors())
                return error_page(request, 422, _TITLES[422], problems)
            except StarletteHTTPException as exc:
                title = _TITLES.get(exc.status_code, "请求未完成")
                return error_page(request, exc.status_code, title, str(exc.detail))
            except Exception as exc:
                log.exception("console.crashed", error_type=type(exc).__name__)
                return error_page(request, 500, "内部错误", "内部错误,已记录日志。")

        return guarded
