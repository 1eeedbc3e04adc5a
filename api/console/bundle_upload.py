"""A policy bundle uploaded as a zip on ``/console/policy``: read it safely, then lint it, run
its policy tests and compute its impact with the engine's own functions.

Reading (all in memory, nothing extracted to disk before it is checked):

- the request body is read up to ``MAX_ZIP_BYTES`` (+ the form's own overhead); larger is
  refused before it is parsed;
- the upload must be a zip (``zipfile``); more than ``MAX_MEMBERS`` members, encrypted
  members, symbolic links, duplicate names, and paths that would leave the bundle (absolute,
  a drive, ``..``, backslashes, NUL) are refused;
- at most ``MAX_UNPACKED_BYTES`` are unpacked in total, counted while reading (a zip bomb
  cannot declare small sizes and unpack large ones: the reading stops at the limit);
- ``*.yaml`` files are the bundle (as ``jrp lint`` reads a directory: names starting with
  ``.`` are skipped); other files are listed as ignored. A zip of the bundle's directory
  itself (every path under one folder holding ``vocabulary.yaml``) is read from that folder.

Each refusal is an ``UploadRejected`` with a message in Chinese; the page shows it (4xx).

Then, for a valid zip (``review``): lint (``engine.policy.bundles.parse_bundle``: the
problems with file and line), the policy tests (``engine.policytest.run_tests``, the
runner of ``jrp test``, on a temporary copy of the files), and the impact
(``engine.policy.impact.policy_impact``, what ``POST /v1/policy/impact`` calls).
"""

from __future__ import annotations

import io
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import Request

from api.console.session import ConsoleSession, csrf_matches
from engine.errors import InvalidPolicy
from engine.policy.bundles import parse_bundle
from engine.policy.impact import policy_impact
from engine.policytest import run_tests
from engine.service import Service

MIB = 1024 * 1024
MAX_ZIP_BYTES = 5 * MIB
"""A compressed bundle larger than this is refused (the shipped one is about 20 KiB)."""
MAX_UNPACKED_BYTES = 20 * MIB
"""At most this many bytes are unpacked from one upload, all members together."""
MAX_MEMBERS = 1000
FORM_OVERHEAD = 64 * 1024
"""Room for the multipart framing and the other fields of the form."""
FIRST_CHANGES = 50


class UploadRejected(Exception):
    """The upload cannot be read as a bundle; ``message`` says why, in Chinese."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Unzipped:
    files: dict[str, bytes]
    """The bundle: relative POSIX path -> bytes (``*.yaml`` only)."""
    ignored: list[str] = field(default_factory=list)
    folder: str | None = None
    """The one folder the zip held the bundle in, when it did."""


class CsrfMissing(Exception):
    """The upload form came without the session's CSRF token."""


async def read_upload(request: Request, session: ConsoleSession) -> tuple[str, bytes]:
    """The uploaded file's name and bytes of a ``multipart/form-data`` post with the session's
    CSRF token (``CsrfMissing`` otherwise); ``UploadRejected`` when too large or not a form
    with a file."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_ZIP_BYTES + FORM_OVERHEAD:
            raise UploadRejected(
                f"上传的文件过大:压缩包不得超过 {MAX_ZIP_BYTES // MIB} MiB。", status=413
            )
    content_type = request.headers.get("content-type", "")
    fields: dict[str, str] = {}
    upload: tuple[str, bytes] | None = None
    if content_type.partition(";")[0].strip().lower() == "multipart/form-data":
        for name, filename, data in _parts(content_type, bytes(body)):
            if filename is not None:
                upload = upload or (filename, data)
            else:
                fields.setdefault(name, data.decode("utf-8", errors="replace"))
    if not csrf_matches(session, fields.get("csrf")):
        raise CsrfMissing
    if upload is None or not upload[1]:
        raise UploadRejected("请选择要上传的政策包(.zip 文件)。")
    if len(upload[1]) > MAX_ZIP_BYTES:
        raise UploadRejected(
            f"上传的文件过大:压缩包不得超过 {MAX_ZIP_BYTES // MIB} MiB。", status=413
        )
    return upload


def _parts(content_type: str, body: bytes) -> list[tuple[str, str | None, bytes]]:
    """(field name, file name or None, bytes) of each part of a multipart/form-data body."""
    header = b"Content-Type: " + content_type.encode("latin-1", errors="replace") + b"\r\n\r\n"
    try:
        message = BytesParser(policy=HTTP).parsebytes(header + body)
    except (ValueError, TypeError, LookupError):
        return []
    if not message.is_multipart():
        return []
    parts: list[tuple[str, str | None, bytes]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        parts.append((name, part.get_filename(), data))
    return parts


def unzip_bundle(data: bytes) -> Unzipped:
    """The bundle files of a zip, read in memory with the limits of this module."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        raise UploadRejected("上传的文件不是有效的 zip 压缩包。") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise UploadRejected(f"压缩包中的文件过多:{len(members)} 个,最多 {MAX_MEMBERS} 个。")
        declared = sum(member.file_size for member in members)
        if declared > MAX_UNPACKED_BYTES:
            raise UploadRejected(_too_big())
        files: dict[str, bytes] = {}
        ignored: list[str] = []
        seen: set[str] = set()
        unpacked = 0
        for member in members:
            name = member.filename
            problem = _name_problem(name)
            if problem is not None:
                raise UploadRejected(
                    f"压缩包中的路径 “{_shown(name)}” {problem},已拒绝整个压缩包。"
                )
            if name in seen:
                raise UploadRejected(f"压缩包中有重名的文件 “{_shown(name)}”。")
            seen.add(name)
            if member.is_dir():
                continue
            if stat.S_ISLNK(member.external_attr >> 16):
                raise UploadRejected(f"压缩包中的 “{_shown(name)}” 是符号链接,政策包不接受链接。")
            if member.flag_bits & 0x1:
                raise UploadRejected(f"压缩包中的 “{_shown(name)}” 已加密,请上传未加密的压缩包。")
            parts = PurePosixPath(name).parts
            if not name.endswith(".yaml") or any(part.startswith(".") for part in parts):
                ignored.append(name)
                continue
            content, unpacked = _read(archive, member, unpacked)
            files[name] = content
    if not files:
        raise UploadRejected("压缩包中没有 .yaml 文件:政策包由 vocabulary.yaml 等 YAML 文件组成。")
    folder = _single_folder(files)
    if folder is not None:
        files = {path[len(folder) + 1 :]: content for path, content in files.items()}
        ignored = [path[len(folder) + 1 :] if path.startswith(folder + "/") else path
                   for path in ignored]  # fmt: skip
    return Unzipped(dict(sorted(files.items())), sorted(ignored), folder)


def _read(archive: zipfile.ZipFile, member: zipfile.ZipInfo, unpacked: int) -> tuple[bytes, int]:
    """The member's bytes, counting against the limit as they are inflated."""
    out = bytearray()
    try:
        with archive.open(member) as stream:
            while True:
                chunk = stream.read(64 * 1024)
                if not chunk:
                    break
                unpacked += len(chunk)
                if unpacked > MAX_UNPACKED_BYTES:
                    raise UploadRejected(_too_big())
                out += chunk
    except UploadRejected:
        raise
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, EOFError,
            OSError, zlib.error):  # fmt: skip
        raise UploadRejected(
            f"无法解压 “{_shown(member.filename)}”:压缩包已损坏或使用了不支持的压缩方式。"
        ) from None
    return bytes(out), unpacked


def _too_big() -> str:
    return f"压缩包解压后过大:最多 {MAX_UNPACKED_BYTES // MIB} MiB,已停止解压。"


def _name_problem(name: str) -> str | None:
    if not name or "\0" in name or "\\" in name:
        return "含有不允许的字符"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "是绝对路径"
    parts = name.rstrip("/").split("/")
    if any(part == ".." for part in parts):
        return "指向政策包之外(含 ..)"
    if any(part in ("", ".") for part in parts):
        return "含有空的或 “.” 路径段"
    return None


def _single_folder(files: Mapping[str, bytes]) -> str | None:
    """The folder every file is under when the bundle's root is that folder."""
    if "vocabulary.yaml" in files:
        return None
    tops = {path.split("/", 1)[0] for path in files}
    if len(tops) != 1:
        return None
    (top,) = tops
    return top if f"{top}/vocabulary.yaml" in files else None


def _shown(name: str) -> str:
    return name if len(name) <= 200 else name[:200] + "…"


def review(service: Service, unzipped: Unzipped) -> dict[str, Any]:
    """Lint, policy tests and impact of an uploaded bundle, with the engine's functions.

    ``problems``: lint problems (``{"path", "line", "message"}``) of the bundle, or of its
    test files; with problems there are no tests or impact (they need a valid bundle)."""
    files = unzipped.files
    result: dict[str, Any] = {
        "files": sorted(files),
        "ignored": unzipped.ignored,
        "folder": unzipped.folder,
        "problems": [],
        "version": None,
        "tests": None,
        "impact": None,
    }
    try:
        bundle = parse_bundle(files)
    except InvalidPolicy as exc:
        result["problems"] = exc.details or [{"path": "", "line": 0, "message": exc.message}]
        return result
    result["version"] = bundle.version
    try:
        result["tests"] = _tests(files)
    except InvalidPolicy as exc:
        result["problems"] = exc.details or [{"path": "", "line": 0, "message": exc.message}]
        return result
    try:
        texts = {path: content.decode("utf-8") for path, content in files.items()}
    except UnicodeDecodeError:
        result["problems"] = [{"path": "", "line": 0, "message": "files must be UTF-8 text"}]
        return result
    try:
        impact = policy_impact(service, texts)
    except InvalidPolicy as exc:
        result["problems"] = exc.details or [{"path": "", "line": 0, "message": exc.message}]
        return result
    impact["first_changes"] = impact["changes"][:FIRST_CHANGES]
    result["impact"] = impact
    return result


def _tests(files: Mapping[str, bytes]) -> dict[str, Any]:
    """``jrp test`` on a temporary directory holding exactly these (checked) files."""
    with tempfile.TemporaryDirectory(prefix="jrp-console-bundle-") as directory:
        root = Path(directory)
        for path, content in files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        report = run_tests(root)
    return {
        **report.to_dict(),
        "coverage_percent": report.coverage_percent,
        "test_files": sum(1 for path in files if path.endswith("_test.yaml")),
    }
