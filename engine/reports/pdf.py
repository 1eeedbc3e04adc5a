"""A credit report as a PDF (reportlab), Chinese text in an embedded CJK TrueType font.

The font is Debian's WenQuanYi Micro Hei (``fonts-wqy-microhei``, installed by
``scripts/install-browser``), or the file ``JRP_REPORT_FONT`` names. reportlab embeds
TrueType outlines only; Noto CJK (also installed, for the browser) has CFF outlines, which it
cannot embed. Without a usable font a PDF is refused (503 ``not_ready``), never drawn with
boxes. The PDF shows what the JSON report holds, in the same order, with the report id and
its SHA-256 in every page's footer.
"""

from __future__ import annotations

import io
import os
import re
import threading
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from engine.errors import NotReady

FONT_NAME = "jrp-cjk"
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)
_registered = False
_lock = threading.Lock()
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

STATUS_NAMES = {
    "active": "有效",
    "under_objection": "异议处理中",
    "revoked": "已撤销",
    "repaired": "已修复",
    "expired": "已到期",
}
STEP_NAMES = {
    "registered": "登记",
    "objection": "异议",
    "resolution": "异议处理结果",
    "repair": "信用修复",
    "revocation": "撤销",
}
OUTCOME_NAMES = {
    "prohibit": "禁止",
    "restrict": "限制",
    "review": "审慎核查",
    "notice": "提示",
    "incentive": "激励",
    "clear": "无",
}


def font_path() -> Path | None:
    """The CJK TrueType font reports are drawn with, None when none is installed."""
    named = os.environ.get("JRP_REPORT_FONT")
    candidates = (Path(named),) if named else FONT_CANDIDATES
    return next((path for path in candidates if path.is_file()), None)


def _font() -> str:
    global _registered
    with _lock:
        if not _registered:
            path = font_path()
            if path is None:
                raise NotReady(
                    "no CJK font for PDF reports: run scripts/install-browser "
                    "(fonts-wqy-microhei) or set JRP_REPORT_FONT"
                )
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), subfontIndex=0))
            _registered = True
    return FONT_NAME


def _text(value: Any) -> str:
    return escape(_CONTROL.sub("", "" if value is None else str(value)))


def render_pdf(report: dict[str, Any]) -> bytes:
    """The report as a PDF document."""
    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=11)
    title = ParagraphStyle("title", parent=body, fontSize=18, leading=24, spaceAfter=6)
    heading = ParagraphStyle("heading", parent=body, fontSize=12, leading=18, spaceBefore=8)
    subject = report["subject"]
    public = bool(report.get("public"))
    story: list[Any] = [
        Paragraph("公共信用信息报告(公示版)" if public else "信用报告", title),
        Paragraph(f"主体名称:{_text(subject.get('name') or '(未登记名称)')}", heading),
        Paragraph(
            f"统一代码/身份号码:{_text(subject['id'])} · 主体类别:"
            f"{'法人和其他组织' if subject['kind'] == 'org' else '自然人'}",
            body,
        ),
        Paragraph(
            f"报告编号:{_text(report['report_id'])} · 生成时间:{_text(report['generated_at'])}"
            f" · 信息截至:{_text(report['as_of'])} · 政策版本:{_text(report['policy_version'])}",
            small,
        ),
        Paragraph(f"SHA-256:{_text(report['sha256'])}", small),
        Spacer(1, 4 * mm),
    ]
    story += _entries(report, body, small, heading)
    if not public:
        story += _in_force(report, body, heading)
        story += _commitments(report, small, heading)
        story += _holdings(report, small, heading)
        decisions = report["decisions"]
        story.append(Paragraph("核查记录", heading))
        story.append(
            Paragraph(
                f"共 {decisions['count']} 次核查(应查必查)"
                + (f",最近一次 {_text(decisions['last_at'])}" if decisions["last_at"] else ""),
                body,
            )
        )
    story.append(Spacer(1, 4 * mm))
    story.append(
        Paragraph(
            "说明:SHA-256 为本报告 JSON 形式(键排序、UTF-8、去除 sha256 键)的摘要,"
            "可与接口返回的 JSON 报告核对。"
            + ("公示版仅含公示名单中处于公示期内的记录,自然人信息已隐去。" if public else ""),
            small,
        ),
    )
    footer = f"报告编号 {report['report_id']} · SHA-256 {report['sha256']}"

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7)
        canvas.drawString(15 * mm, 8 * mm, footer)
        canvas.drawRightString(A4[0] - 15 * mm, 8 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"信用报告 {subject.get('name') or subject['id']}",
        author="jrp",
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()


def _entries(
    report: dict[str, Any], body: ParagraphStyle, small: ParagraphStyle, heading: ParagraphStyle
) -> list[Any]:
    entries = report["entries"]
    total = report.get("entries_total", len(entries))
    story: list[Any] = [Paragraph(f"名单记录(本页 {len(entries)} 条,共 {total} 条)", heading)]
    if report.get("next_cursor"):
        story.append(
            Paragraph(f"后续记录请以 cursor={_text(report['next_cursor'])} 取下一页。", small)
        )
    if not entries:
        story.append(Paragraph("无。", body))
    for number, entry in enumerate(entries, 1):
        status = STATUS_NAMES.get(entry.get("status", ""), entry.get("status", ""))
        lines = [
            f"<b>{number}. {_text(entry.get('list_name') or entry['list'])}</b>"
            + (f" · {_text(status)}" if status else ""),
            f"文号:{_text(entry['doc_no'])} · 认定部门:{_text(entry['department'])}"
            f" · 决定日期:{_text(entry['decided_on'])}",
            f"有效期:{_text(entry['effective_from'])} 至 {_text(entry['effective_to'] or '长期')}"
            + (f" · 事由:{_text(entry['reason'])}" if entry.get("reason") else ""),
        ]
        if public_subject := entry.get("subject_name"):
            lines.insert(1, f"主体:{_text(public_subject)} {_text(entry.get('subject_id'))}")
        for step in entry.get("history", []):
            detail = step.get("detail")
            lines.append(
                f"  · {_text(step['on'])} {STEP_NAMES.get(step['step'], step['step'])}"
                + (f":{_text(detail)}" if detail else "")
                + (f"({_text(step['note'])})" if step.get("note") else "")
            )
        story.append(Paragraph("<br/>".join(lines), body))
        story.append(Spacer(1, 2 * mm))
    return story


def _in_force(report: dict[str, Any], body: ParagraphStyle, heading: ParagraphStyle) -> list[Any]:
    rows = [[Paragraph("事项", body), Paragraph("结果", body), Paragraph("措施", body)]]
    for item in report["in_force"]:
        rows.append(
            [
                Paragraph(_text(item.get("name") or item["matter"]), body),
                Paragraph(_text(OUTCOME_NAMES.get(item["outcome"], item["outcome"])), body),
                Paragraph(_text("、".join(item["measure_ids"]) or "—"), body),
            ]
        )
    table = Table(rows, colWidths=[45 * mm, 25 * mm, 110 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return [Paragraph(f"各事项现行措施({_text(report['as_of'])})", heading), table]


def _holdings(report: dict[str, Any], small: ParagraphStyle, heading: ParagraphStyle) -> list[Any]:
    story: list[Any] = [
        Paragraph(f"任职关系(共 {report['holdings_total']} 项)", heading),
    ]
    for holding in report["holdings"]:
        story.append(
            Paragraph(
                f"{_text(holding['org_id'])} · {_text(holding['person_id'])} · "
                f"{_text(holding.get('role_name') or holding['role'])} · "
                f"{_text(holding['start'])} 至 {_text(holding['end'] or '今')}",
                small,
            )
        )
    story.append(Paragraph(f"经任职关系传导的记录(共 {report['reaching_total']} 条)", heading))
    for item in report["reaching"]:
        via = item["via"]
        story.append(
            Paragraph(
                f"{_text(item['list'])} · 文号 {_text(item['doc_no'])} · 主体 "
                f"{_text(item['subject_id'])} · 经 {_text(', '.join(map(str, via.values())))}",
                small,
            )
        )
    return story


def _commitments(
    report: dict[str, Any], small: ParagraphStyle, heading: ParagraphStyle
) -> list[Any]:
    """信用承诺 (docs/commitments.md): matter, content, dates and status of each."""
    story: list[Any] = [
        Paragraph(f"信用承诺(共 {report['commitments_total']} 项)", heading),
    ]
    for item in report["commitments"]:
        breach = item["breach"]
        story.append(
            Paragraph(
                f"{_text(item['status_name'])} · 事项 {_text(item['matter_name'])} · "
                f"{_text(item['content'])} · 承诺书 {_text(item['doc_no'])} · 作出 "
                f"{_text(item['made_on'])} · 期限 {_text(item['due_on'] or '未设')}"
                + ("" if breach is None else f" · 违诺记录 {_text(breach['entry_id'])}"),
                small,
            )
        )
    return story
