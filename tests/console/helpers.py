"""Signing in to the console through its own login form (TestClient or httpx)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: Any, key: str) -> Any:
    """Sign ``client`` in with ``key`` through the login form; returns the login answer."""
    form = client.get("/console/login")
    assert form.status_code == 200
    return client.post(
        "/console/login",
        data={"key": key, "csrf": csrf_of(form.text)},
        follow_redirects=False,
    )


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "action", "srcset", "poster", "data", "spec-url") and value:
                self.found.append(value)
            if name == "style" and value:
                self.found.extend(re.findall(r"url\(([^)]*)\)", value))

    def handle_data(self, data: str) -> None:
        self.found.extend(re.findall(r"url\(\s*['\"]?([^'\")]+)", data))


def references(html: str) -> list[str]:
    """Every URL a page refers to: src, href, action, spec-url, and CSS url(...)."""
    parser = _References()
    parser.feed(html)
    return parser.found


def foreign(urls: list[str]) -> list[str]:
    """The URLs that point at another host (absolute or protocol-relative)."""
    return [
        url
        for url in urls
        if re.match(r"^\s*([a-z][a-z0-9+.-]*:)?//", url, re.IGNORECASE)
        and not re.match(r"^\s*(https?:)?//(127\.0\.0\.1|localhost|testserver)([:/]|$)", url)
    ]
