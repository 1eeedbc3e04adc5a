"""Credit reports (信用报告): a subject's entries with their history, as JSON or as a PDF."""

from typing import Any

from engine.reports.credit import MAX_LIMIT, public_org_report, subject_report
from engine.reports.pdf import render_pdf
from engine.service import Service

__all__ = [
    "MAX_LIMIT",
    "public_org_report",
    "public_org_report_pdf",
    "render_pdf",
    "subject_report",
    "subject_report_pdf",
]


def subject_report_pdf(service: Service, raw_id: str, **options: Any) -> bytes:
    """``subject_report`` drawn as a PDF (engine/reports/pdf.py)."""
    return render_pdf(subject_report(service, raw_id, **options))


def public_org_report_pdf(service: Service, raw_id: str) -> bytes:
    """``public_org_report`` drawn as a PDF."""
    return render_pdf(public_org_report(service, raw_id))
