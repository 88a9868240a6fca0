"""The operator console at ``/admin/``: server-rendered pages over the operators' figures."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.console import lists, routes
from api.console.context import HERE, build_templates


def install_console(app: FastAPI) -> None:
    """Serve the console at ``/admin/`` and its static files at ``/admin/static``."""
    app.state.console_templates = build_templates()
    app.include_router(routes.router)
    app.include_router(lists.router)
    app.mount("/admin/static", StaticFiles(directory=HERE / "static"), name="console-static")
