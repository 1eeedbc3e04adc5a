"""The console: server-rendered pages for people (../shared/contract/console.md), and the
offline ``/docs`` and ``/redoc``.

``install(app)`` mounts the static files (the console's own and the vendored Swagger UI,
ReDoc and ECharts, pinned in ``static/vendor/MANIFEST.json``), the docs, the pages, and the
redirect of ``/`` to ``/console/``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.console import docs, pages, publication, warnings
from api.console.frame import HERE, STATIC_URL, LoginRequired, to_login
from api.console.session import SessionCodec, secret_from_environment


def install(app: FastAPI, *, secret: bytes | None = None) -> None:
    """Serve the console and the docs from ``app`` (secret: ``JRP_CONSOLE_SECRET`` by default)."""
    app.state.console_sessions = SessionCodec(secret or secret_from_environment())

    async def login_required(_request: object, _exc: Exception) -> RedirectResponse:
        # Pages catch it themselves (ConsoleRoute); this catches any console route that does not.
        return to_login()

    app.add_exception_handler(LoginRequired, login_required)
    app.mount(STATIC_URL, StaticFiles(directory=HERE / "static"), name="console-static")
    app.include_router(docs.router)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=307)

    @app.get("/console", include_in_schema=False)
    async def console_root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=307)

    app.include_router(publication.router)  # before the pages' catch-all route
    app.include_router(warnings.router)
    app.include_router(pages.router)
