"""The console in a real browser: Debian's Chromium driven by Playwright, against ``jrp serve``.

The server is the real command (``jrp serve --demo``, a child process on a free port) with
the demo data, plus data sent through ``/v1`` whose text is HTML (a subject name, a reason,
a feedback note, a memorandum title in a copied bundle). Every test fails on a browser
console error, a page error, a request to a host other than 127.0.0.1, or a JavaScript
dialog (stored HTML must be shown as text, never run). Chinese text must render with a real
font (no boxes). Screenshots go to ``JRP_CONSOLE_SCREENSHOTS`` (a directory; the committed
ones are in docs/console/) when set.

Chromium is installed by scripts/install-browser (``scripts/test`` runs it).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from engine.settings import SHIPPED_POLICY_DIR
from tests.serving import ServeProcess

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
XSS_NAME = "<script>alert(1)</script>"
XSS_REASON = "<img src=x onerror=alert(2)>"
XSS_TITLE = "<script>alert(3)</script>"
ORG = "91440101000010057Y"
DEMO_DEBTOR = "91440101000010014P"
"""The demo's dishonest judgment debtor (api/demo/data.py)."""
SCREENSHOTS = os.environ.get("JRP_CONSOLE_SCREENSHOTS")

KEYS = {
    "auditor": "demo-auditor",
    "credit_office": "demo-credit-office",
    "implementer": "demo-finance",
    "registrar": "demo-registrar",
    "initiator": "demo-court",
}


def _valid_org_id() -> str:
    from engine.registry.identifiers import uscc_check_char

    body = ORG[:17]
    return body + uscc_check_char(body)


@dataclass
class Server:
    base: str
    data: dict[str, Any] = field(default_factory=dict)


def _v1(base: str, key: str, method: str, path: str, body: Any = None) -> Any:
    answer = httpx.request(
        method, base + path, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert answer.status_code < 300, (path, answer.status_code, answer.text)
    return answer.json()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``jrp serve --demo`` on SQLite with a bundle whose one memorandum title is HTML."""
    root = tmp_path_factory.mktemp("console-browser")
    bundle = root / "bundle"
    shutil.copytree(SHIPPED_POLICY_DIR, bundle)
    memo = bundle / "punishment" / "food-drug.yaml"
    text = memo.read_text(encoding="utf-8")
    title_line = next(line for line in text.splitlines() if line.startswith("title:"))
    memo.write_text(text.replace(title_line, title_line + XSS_TITLE, 1), encoding="utf-8")
    jrp = str(Path(sys.executable).with_name("jrp"))
    command = [
        jrp,
        "serve",
        "--demo",
        "--db",
        f"sqlite:///{root / 'jrp.db'}",
        "--policy",
        str(bundle),
    ]
    with ServeProcess(command, root / "serve.log") as process:
        process.wait_ready(120)
        base = process.base
        org = _valid_org_id()
        _v1(base, KEYS["registrar"], "POST", "/v1/subjects",
            [{"id": org, "kind": "org", "name": f"示例公司{XSS_NAME}"}])  # fmt: skip
        entry = _v1(
            base,
            KEYS["initiator"],
            "POST",
            "/v1/entries",
            {
                "list": "dishonest_judgment_debtor",
                "subject_id": org,
                "subject_kind": "org",
                "decided_on": "2026-01-05",
                "doc_no": "(2026)粤0106执999号",
                "reason": XSS_REASON,
            },
        )["entry"]
        check = _v1(base, KEYS["implementer"], "POST", "/v1/checks",
                    {"subject_id": org, "matter": "government_procurement"})  # fmt: skip
        _v1(
            base,
            KEYS["implementer"],
            "POST",
            f"/v1/decisions/{check['decision_id']}/feedback",
            {"measure_id": check["hits"][0]["measure_id"], "executed": True, "note": XSS_NAME},
        )
        _v1(base, KEYS["credit_office"], "POST", f"/v1/entries/{entry['id']}/objection",
            {"reason": XSS_REASON})  # fmt: skip
        explained = _v1(base, KEYS["implementer"], "POST", "/v1/checks",
                        {"subject_id": org, "matter": "air_travel", "explain": True})  # fmt: skip
        assert explained["explanation"], explained
        data = {"org": org, "entry": entry, "check": check, "explained": explained}
        yield Server(base, data)


@dataclass
class Watch:
    """What the browser saw that must not happen."""

    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert not self.errors, self.errors
        assert not self.foreign, self.foreign
        assert not self.dialogs, self.dialogs


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Chromium is missing: run scripts/install-browser"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[tuple[Any, Watch]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    opened = context.new_page()
    watch = Watch()

    def on_console(message: Any) -> None:
        if message.type == "error":
            watch.errors.append(f"{opened.url}: {message.text}")

    def on_request(request: Any) -> None:
        host = urlsplit(request.url).hostname
        if request.url.startswith(("data:", "blob:", "about:")):
            return
        if host != "127.0.0.1":
            watch.foreign.append(request.url)

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(dialog.message)
        dialog.dismiss()

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: watch.errors.append(f"{opened.url}: {error}"))
    opened.on("request", on_request)
    opened.on("dialog", on_dialog)
    yield opened, watch
    context.close()


def sign_in(page: Any, server: Server, role: str) -> None:
    page.goto(server.base + "/console/")
    assert page.url.endswith("/console/login")
    page.fill("input[name=key]", KEYS[role])
    page.click("button[type=submit]")
    page.wait_for_url(server.base + "/console/")


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=full_page)


CJK_RENDERS = """
(text) => {
  // Draw each distinct CJK character of `text` in the page's font; boxes (tofu) would all
  // look alike, real glyphs differ. Returns [distinct characters, distinct drawings].
  const chars = [...new Set([...text].filter(c => /[\\u4e00-\\u9fff]/.test(c)))].slice(0, 12);
  const font = getComputedStyle(document.body).fontFamily;
  const drawings = new Set();
  for (const c of chars) {
    const canvas = document.createElement("canvas");
    canvas.width = 40; canvas.height = 40;
    const g = canvas.getContext("2d");
    g.font = "32px " + font;
    g.fillText(c, 2, 32);
    drawings.add(canvas.toDataURL());
  }
  return [chars.length, drawings.size];
}
"""


def assert_cjk_renders(page: Any) -> None:
    chars, drawings = page.evaluate(CJK_RENDERS, page.inner_text("main"))
    assert chars >= 2
    assert drawings == chars, (
        "Chinese characters render as identical boxes: is a CJK font installed?"
    )


def test_cjk_check_tells_boxes_from_glyphs(page: tuple[Any, Watch], server: Server) -> None:
    """The tofu check can fail: characters of a font-less private-use range draw alike."""
    opened, watch = page
    opened.goto(server.base + "/console/login")
    same = opened.evaluate(
        """() => {
          const out = new Set();
          for (const c of ["\\ue000", "\\ue001", "\\ue002"]) {
            const canvas = document.createElement("canvas");
            canvas.width = 40; canvas.height = 40;
            const g = canvas.getContext("2d"); g.font = "32px sans-serif"; g.fillText(c, 2, 32);
            out.add(canvas.toDataURL());
          }
          return out.size;
        }"""
    )
    assert same == 1
    assert_cjk_renders(opened)
    shot(opened, "login")
    watch.assert_clean()


def test_wrong_key_then_logout(page: tuple[Any, Watch], server: Server) -> None:
    opened, watch = page
    opened.goto(server.base + "/console/login")
    opened.fill("input[name=key]", "wrong-key")
    opened.click("button[type=submit]")
    assert "密钥无效" in opened.inner_text("main")
    # The 401 of the login answer is the page itself, not a failed resource.
    watch.errors[:] = [e for e in watch.errors if "401" not in e]
    sign_in(opened, server, "auditor")
    opened.click("text=退出")
    opened.wait_for_url(server.base + "/console/login")
    opened.goto(server.base + "/console/decisions")
    assert opened.url.endswith("/console/login")
    watch.assert_clean()


def test_auditor_pages(page: tuple[Any, Watch], server: Server) -> None:
    opened, watch = page
    sign_in(opened, server, "auditor")
    decision_id = server.data["check"]["decision_id"]
    org = server.data["org"]
    visits = [
        ("overview", "/console/"),
        ("memoranda", "/console/memoranda"),
        ("memorandum", "/console/memoranda/dishonest-judgment-debtors"),
        ("memorandum-html-title", "/console/memoranda/food-drug"),
        ("policy", "/console/policy"),
        ("decisions", "/console/decisions"),
        ("decision", f"/console/decisions/{decision_id}"),
        ("decision-explained", f"/console/decisions/{server.data['explained']['decision_id']}"),
        ("subject-org", f"/console/subjects/{org}"),
        ("subject-person", "/console/subjects/440106198001010115"),
        ("stats", "/console/stats"),
    ]
    for name, path in visits:
        response = opened.goto(server.base + path)
        assert response is not None and response.status == 200, path
        opened.wait_for_load_state("networkidle")
        assert_cjk_renders(opened)
        shot(opened, name)
    # Charts drew (ECharts puts a canvas in each chart element).
    opened.goto(server.base + "/console/")
    opened.wait_for_load_state("networkidle")
    assert opened.locator(".chart canvas").count() >= 2
    opened.goto(server.base + "/console/stats")
    assert opened.locator(".chart canvas").count() == 2  # feedback, 双公示 timeliness
    # Stored HTML shows as text; the relationship map draws.
    opened.goto(server.base + f"/console/subjects/{org}")
    opened.wait_for_load_state("networkidle")
    assert opened.locator("#credit-report-pdf").count() == 1
    assert opened.locator(".chart canvas").count() == 1
    shot(opened, "subject-map")
    assert XSS_NAME in opened.inner_text("main") and XSS_REASON in opened.inner_text("main")
    opened.goto(server.base + "/console/memoranda/food-drug")
    assert XSS_TITLE in opened.inner_text("h1")
    # The logged explanation: the entry under objection, its reason in Chinese.
    opened.goto(server.base + f"/console/decisions/{server.data['explained']['decision_id']}")
    assert "条目异议中,核实期间暂不执行" in opened.inner_text("main")
    assert "under_objection" in opened.inner_text("main")
    # Replay of one decision.
    opened.goto(server.base + f"/console/decisions/{decision_id}")
    opened.click("text=重放此决策")
    opened.wait_for_selector("text=重放结果与记录一致")
    shot(opened, "decision-replayed")
    # Filters.
    opened.goto(server.base + "/console/decisions")
    opened.select_option("select[name=outcome]", "prohibit")
    opened.click("form.card button[type=submit]")
    opened.wait_for_url("**outcome=prohibit**")
    assert opened.locator("tbody tr").count() >= 1
    # A diff of two versions (the only stored version against itself).
    opened.goto(server.base + "/console/policy")
    opened.click("form.card button[type=submit]")
    opened.wait_for_selector("text=两个版本的文件完全相同")
    # A page the role may not see.
    response = opened.goto(server.base + "/console/check")
    assert response is not None and response.status == 403
    assert "无权" in opened.inner_text("main")
    watch.errors[:] = [e for e in watch.errors if "403" not in e]
    shot(opened, "forbidden")
    watch.assert_clean()


def _edited_shipped_bundle() -> bytes:
    """The shipped bundle, zipped, with one measure edited: djd-air-travel restricts instead
    of prohibiting."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(SHIPPED_POLICY_DIR.rglob("*.yaml")):
            relative = path.relative_to(SHIPPED_POLICY_DIR).as_posix()
            text = path.read_text(encoding="utf-8")
            if relative == "punishment/dishonest-judgment-debtors.yaml":
                start = text.index("  - id: djd-air-travel")
                head, tail = text[:start], text[start:]
                assert "effect: prohibit" in tail.split("  - id:", 2)[1]
                text = head + tail.replace("effect: prohibit", "effect: restrict", 1)
            archive.writestr(relative, text)
    return out.getvalue()


def test_auditor_uploads_an_edited_bundle_and_reads_its_impact(
    page: tuple[Any, Watch], server: Server
) -> None:
    opened, watch = page
    sign_in(opened, server, "auditor")
    opened.goto(server.base + "/console/policy")
    opened.set_input_files(
        "input[name=bundle]",
        files=[{"name": "memoranda.zip", "mimeType": "application/zip",
                "buffer": _edited_shipped_bundle()}],
    )  # fmt: skip
    opened.click("form[enctype] button[type=submit]")
    opened.wait_for_selector("#impact-summary")
    assert "格式检查通过" in opened.inner_text("#lint-ok")
    # The shipped policy tests pin djd-air-travel as prohibit: the page shows that the edit
    # breaks them.
    summary = opened.inner_text("#test-summary")
    assert re.search(r"失败 [1-9][0-9]* 项", summary), summary
    tiles = opened.locator("#impact-summary .tile b").all_inner_texts()
    assert int(tiles[0]) > 0 and int(tiles[1]) > 0  # the demo's debtor (and its people)
    changes = opened.inner_text("#impact-changes")
    assert "djd-air-travel" in changes and "限制" in changes
    assert "djd-air-travel" in opened.inner_text("#review")
    assert_cjk_renders(opened)
    shot(opened, "policy-upload")
    # Not a zip: a message in Chinese on the page, not an error page.
    opened.set_input_files(
        "input[name=bundle]",
        files=[{"name": "notes.zip", "mimeType": "application/zip", "buffer": b"not a zip"}],
    )
    opened.click("form[enctype] button[type=submit]")
    opened.wait_for_selector("#upload-error")
    assert "不是有效的 zip" in opened.inner_text("#upload-error")
    watch.errors[:] = [e for e in watch.errors if "422" not in e]
    watch.assert_clean()


def test_implementer_runs_a_check(page: tuple[Any, Watch], server: Server) -> None:
    opened, watch = page
    sign_in(opened, server, "implementer")
    opened.goto(server.base + "/console/check")
    opened.fill("input[name=subject_id]", DEMO_DEBTOR)
    opened.select_option("select[name=matter]", "government_procurement")
    opened.fill("input[name=reference]", "采购项目-浏览器测试")
    opened.click("form.card button[type=submit]")
    opened.wait_for_selector("#answer")
    assert "禁止" in opened.inner_text("#answer")
    # "说明原因" is on by default: the answer carries the explanation, reasons in Chinese.
    assert opened.is_checked("input[name=explain]")
    explained = opened.inner_text("#explanation")
    assert "不适用原因说明" in explained
    assert_cjk_renders(opened)
    shot(opened, "check")
    # The check is in the log like any other.
    logged = _v1(server.base, KEYS["auditor"], "GET", f"/v1/decisions?subject_id={DEMO_DEBTOR}")
    assert "采购项目-浏览器测试" in [item["request"]["reference"] for item in logged["items"]]
    # Personal data is masked for this role.
    opened.goto(server.base + "/console/subjects/440106198001010115")
    text = opened.inner_text("main")
    assert "440106********0115" in text and "张示例" not in text and "张**" in text
    shot(opened, "subject-masked")
    watch.assert_clean()


def test_subject_page_shows_the_demo_debtors_grade(page: tuple[Any, Watch], server: Server) -> None:
    # docs/grades.md: the shipped local model grades the demo's judgment debtor D, and the
    # graded-supervision memorandum applies to it for supervision_inspection.
    opened, watch = page
    sign_in(opened, server, "implementer")
    opened.goto(server.base + f"/console/subjects/{DEMO_DEBTOR}")
    opened.wait_for_load_state("networkidle")
    grade = opened.inner_text("#grade + .card")
    assert "D" in grade and "严重失信(D级)" in grade and "失信扣分" in grade
    assert "提高抽查比例和频次" in opened.inner_text("main")
    assert_cjk_renders(opened)
    shot(opened, "subject-grade")
    watch.assert_clean()


def test_credit_office_resolves_an_objection(page: tuple[Any, Watch], server: Server) -> None:
    opened, watch = page
    sign_in(opened, server, "credit_office")
    opened.goto(server.base + "/console/objections")
    entry_id = server.data["entry"]["id"]
    assert XSS_NAME not in opened.content().split("<main>")[1].split("</main>")[0]  # escaped
    shot(opened, "objections")
    row = opened.locator("tr", has=opened.locator(f"form[action$='{entry_id}/resolution']"))
    row.locator("input[value=rejected]").check()
    row.locator("input[name=note]").fill("核查后异议不成立<b>!</b>")
    row.locator("button[type=submit]").click()
    opened.wait_for_selector("text=已处理条目")
    entry = _v1(server.base, KEYS["credit_office"], "GET", f"/v1/entries/{entry_id}")
    assert entry["status"] == "active"
    watch.assert_clean()


def test_credit_office_sees_warnings_and_commitments(
    page: tuple[Any, Watch], server: Server
) -> None:
    """诚信预警 and the subject page's 信用承诺 (docs/commitments.md), on the demo data."""
    opened, watch = page
    sign_in(opened, server, "credit_office")
    opened.goto(server.base + "/console/warnings?within=10")
    table = opened.locator("table.warnings")
    assert table.locator("tr.warning-commitment_due").count() >= 1
    assert "信用承诺将到期" in table.inner_text()
    assert_cjk_renders(opened)
    shot(opened, "warnings")
    opened.goto(server.base + "/console/subjects/91440101000010022J")
    commitments = opened.locator("table.commitments")
    assert commitments.locator("tr.commitment-breached").count() == 1
    assert "已违诺" in commitments.inner_text()
    shot(opened, "subject-commitments")
    watch.assert_clean()


def test_docs_and_redoc_render_offline(page: tuple[Any, Watch], server: Server) -> None:
    opened, watch = page
    opened.goto(server.base + "/docs")
    opened.wait_for_selector(".swagger-ui .info", timeout=30000)
    assert opened.locator(".opblock").count() > 10
    shot(opened, "docs", full_page=False)
    opened.goto(server.base + "/redoc")
    opened.wait_for_selector("[data-section-id]", timeout=30000)
    assert "联合奖惩" in opened.inner_text("body")
    shot(opened, "redoc", full_page=False)
    watch.assert_clean()
