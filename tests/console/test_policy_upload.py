"""``/console/policy``: a zipped bundle is linted, its policy tests run, its impact shown; a
zip that is not a bundle, too large, a zip bomb or leaving the bundle is refused with a
message in Chinese, never a 500. Both databases (the impact reads the state)."""

from __future__ import annotations

import io
import os
import re
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.console import bundle_upload
from tests.api.conftest import Running, auth, key_of
from tests.console.helpers import csrf_of, sign_in
from tests.console.test_pages import seed

DJD = "court/dishonest-judgment-debtors.yaml"
FAILING_TEST = """
cases:
  - name: 失信被执行人不得参加政府采购(故意写错的期望)
    today: 2026-06-01
    subjects:
      - {id: 91440101000010014P, kind: org, name: 某公司}
    entries:
      - list: dishonest_judgment_debtor
        subject_id: 91440101000010014P
        subject_kind: org
        department: court
        decided_on: 2026-03-01
        doc_no: (2026)粤01执1号
        attributes: {amount: 2000000, category: tax_evasion}
    checks:
      - subject_id: 91440101000010014P
        matter: government_procurement
        expect: {outcome: clear}
      - subject_id: 91440101000010014P
        matter: financing
        expect: {hits: [djd-financing]}
"""


def bundle_files(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*.yaml"))
    }


def zipped(files: dict[str, bytes], *, folder: str = "") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            archive.writestr(folder + path, content)
    return out.getvalue()


def edited(files: dict[str, bytes]) -> dict[str, bytes]:
    """The threshold of the court's memorandum raised: the seeded 2,000,000 no longer
    triggers it."""
    text = files[DJD].decode("utf-8")
    assert "value: 1000000}" in text
    return {**files, DJD: text.replace("value: 1000000}", "value: 5000000}").encode("utf-8")}


def signed_in(running: Running, who: str) -> TestClient:
    assert sign_in(running.client, key_of(who)).status_code == 303
    return running.client


def upload(client: TestClient, data: bytes, *, name: str = "bundle.zip", csrf: Any = True) -> Any:
    page = client.get("/console/policy")
    fields = {"csrf": csrf_of(page.text)} if csrf else {}
    return client.post(
        "/console/policy/upload", data=fields, files={"bundle": (name, data, "application/zip")}
    )


def test_an_edited_bundle_shows_lint_tests_and_the_apis_impact(running: Running) -> None:
    seed(running)
    files = edited(bundle_files(running.policy_dir))
    client = signed_in(running, "admin")
    answer = upload(client, zipped(files, folder="bundle/"))  # a zip of the folder itself
    assert answer.status_code == 200, answer.text[:800]
    page = answer.text
    assert 'id="lint-ok"' in page and "位于文件夹 <code>bundle</code>" in page
    api = client.post(
        "/v1/policy/impact",
        json={"files": {path: content.decode("utf-8") for path, content in files.items()}},
        headers=auth("admin"),
    ).json()
    summary = api["summary"]
    assert summary["pairs_changed"] > 0  # the seeded entry stops triggering
    tiles = re.findall(r'<div class="tile"><b>(\d+)</b>', page)
    assert tiles[:2] == [str(summary["subjects_affected"]), str(summary["pairs_changed"])]
    for change in api["changes"]:
        assert change["subject_id"] in page
    assert "没有 <code>*_test.yaml</code> 测试文件" in page
    assert "0 / " in page  # coverage: no test covers any measure
    unchanged = upload(client, zipped(bundle_files(running.policy_dir)))
    assert "与现行政策相同" in unchanged.text
    assert "没有任何主体的查询结果会改变" in unchanged.text


def test_policy_tests_run_and_report_failures(running: Running) -> None:
    files = {**bundle_files(running.policy_dir), "court/djd_test.yaml": FAILING_TEST.encode()}
    client = signed_in(running, "auditor")
    page = upload(client, zipped({**files, "README.md": b"# notes"})).text
    summary = re.search(r'id="test-summary"[^>]*>([^<]+)<', page)
    assert summary is not None, page[-3000:]
    assert "通过 1 项,失败 1 项" in summary.group(1)
    assert "court/djd_test.yaml:" in page and "expected outcome clear, got prohibit" in page
    assert "忽略了非 YAML 文件:<code>README.md</code>" in page


def test_lint_problems_name_the_file_and_line(running: Running) -> None:
    files = bundle_files(running.policy_dir)
    broken = files[DJD].decode().replace("effect: prohibit", "effect: forbid", 1)
    client = signed_in(running, "admin")
    page = upload(client, zipped({**files, DJD: broken.encode()})).text
    assert 'id="lint-failed"' in page and 'id="impact-summary"' not in page
    problems = re.findall(r"<code>([^<]+:\d+)</code>", page)
    assert any(problem.startswith(DJD + ":") and not problem.endswith(":0") for problem in problems)
    assert "forbid" in page


def _member(name: str, content: bytes = b"a: 1\n", *, mode: int | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        if mode is not None:
            info.external_attr = mode << 16
        archive.writestr(info, content)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "message", "status"),
    [
        (b"this is not a zip", "不是有效的 zip", 422),
        (b"PK\x03\x04" + b"\x00" * 100, "不是有效的 zip", 422),
        (_member("../evil.yaml"), "指向政策包之外", 422),
        (_member("court/../../evil.yaml"), "指向政策包之外", 422),
        (_member("/etc/evil.yaml"), "绝对路径", 422),
        (_member("C:/evil.yaml"), "绝对路径", 422),
        (_member("link.yaml", b"/etc/passwd", mode=stat.S_IFLNK | 0o777), "符号链接", 422),
        (_member("notes.txt"), "没有 .yaml 文件", 422),
        (_member("bomb.yaml", b"0" * (21 * 1024 * 1024)), "解压后过大", 422),
        (zipped({f"f{i}.yaml": b"" for i in range(1001)}), "文件过多", 422),
        (b"", "请选择要上传的政策包", 422),
    ],
)
def test_bad_uploads_are_refused_with_a_message(
    running: Running, data: bytes, message: str, status: int
) -> None:
    client = signed_in(running, "admin")
    answer = upload(client, data)
    assert answer.status_code == status, answer.text[:500]
    assert message in answer.text
    assert 'role="alert"' in answer.text


def test_a_bomb_is_stopped_while_it_inflates() -> None:
    """A member whose header understates its size is cut off at the limit as it is read."""
    data = bytearray(_member("bomb.yaml", b"0" * (3 * bundle_upload.MAX_UNPACKED_BYTES // 2)))
    # Lie in both headers (local and central): a declared size of 10 bytes.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(signature) + offset
        data[at : at + 4] = (10).to_bytes(4, "little")
    with pytest.raises(bundle_upload.UploadRejected) as raised:
        bundle_upload.unzip_bundle(bytes(data))
    assert "无法解压" in raised.value.message or "过大" in raised.value.message


def test_too_large_uploads_and_missing_csrf(running: Running) -> None:
    client = signed_in(running, "admin")
    big = _member("big.yaml", os.urandom(bundle_upload.MAX_ZIP_BYTES + 1024))
    answer = upload(client, big)
    assert answer.status_code == 413 and "不得超过 5 MiB" in answer.text
    no_csrf = upload(client, zipped(bundle_files(running.policy_dir)), csrf=False)
    assert no_csrf.status_code == 403 and "表单" in no_csrf.text
    not_multipart = client.post(
        "/console/policy/upload", data={"csrf": csrf_of(client.get("/console/policy").text)}
    )
    assert not_multipart.status_code == 403  # no multipart form: its token is not read


@pytest.mark.parametrize("who", ["finance", "court", "registrar"])
def test_other_roles_cannot_upload(running: Running, who: str) -> None:
    client = signed_in(running, who)
    page = client.get("/console/")
    answer = client.post(
        "/console/policy/upload",
        data={"csrf": csrf_of(page.text)},
        files={"bundle": ("b.zip", zipped(bundle_files(running.policy_dir)), "application/zip")},
    )
    assert answer.status_code == 403 and "无权" in answer.text


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (
            "multipart/form-data",
            b"--x\r\nContent-Disposition: form-data; name=csrf\r\n\r\nt\r\n--x--",
        ),
        ("multipart/form-data; boundary=x", b"garbage without any boundary"),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\n"),
        ("multipart/form-data; boundary=", b"--\r\n\r\n----"),
        ("multipart/form-data; boundary=x", b"--x\r\n\xff\xfe: \x00\r\n\r\n\xff--x--"),
        ('multipart/form-data; boundary="x"; charset=nope', b"--x\r\n"),
    ],
)
def test_malformed_multipart_bodies_are_refused_not_crashed(
    running: Running, content_type: str, body: bytes
) -> None:
    client = signed_in(running, "admin")
    answer = client.post(
        "/console/policy/upload", content=body, headers={"content-type": content_type}
    )
    assert answer.status_code == 403 and "表单" in answer.text  # no token could be read


def test_a_form_with_its_token_but_no_file_is_asked_for_one(running: Running) -> None:
    client = signed_in(running, "admin")
    token = csrf_of(client.get("/console/policy").text)
    body = (
        b"--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + token.encode()
        + b"\r\n--b--\r\n"
    )  # fmt: skip
    answer = client.post(
        "/console/policy/upload",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert answer.status_code == 422 and "请选择要上传的政策包" in answer.text
