"""The policy version: a content hash of the bundle's files, independent of where they live."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping


def bundle_version(files: Mapping[str, bytes]) -> str:
    """Hex SHA-256 of the bundle's canonical content.

    The canonical content is, for each file in order of its relative POSIX path (sorted as
    Python sorts ``str``), ``path.encode("utf-8") + b"\\0" + str(len(data)).encode() + b"\\0"
    + data``, concatenated. The path and the length are length-delimited by the NUL bytes, so
    no two different bundles share a canonical content; the directory the bundle was read
    from takes no part, so identical bundles get identical versions wherever they are loaded.
    """
    digest = hashlib.sha256()
    for path in sorted(files):
        data = files[path]
        digest.update(path.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0")
        digest.update(data)
    return digest.hexdigest()
