"""The patient and family page at ``/app/``: server-rendered screens over the patient API.

Reads and writes go through :class:`api.web.client.ApiClient`, i.e. the same ``/v1`` routes,
tokens and checks an app uses; the page adds only language, layout, CSRF and masking.
The pages live in one module per family (login, bills, agreement, family).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.routes.family import INVERSE_RELATION
from api.web import agreement_pages, bill_pages, family_pages, login_pages
from api.web.i18n import yuan
from api.web.views import agreement_html

HERE = Path(__file__).resolve().parent


def build_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yuan"] = yuan
    env.filters["agreement_html"] = agreement_html
    # A link's relation is what the relative is to the manager; a relative reads its inverse.
    env.filters["as_seen_by_relative"] = INVERSE_RELATION.__getitem__
    return env


def install_web(app: FastAPI) -> None:
    """Serve the page at ``/app/`` and its static files at ``/app/static``."""
    app.state.web_templates = build_templates()
    for pages in (login_pages, bill_pages, agreement_pages, family_pages):
        app.include_router(pages.router)
    app.mount("/app/static", StaticFiles(directory=HERE / "static"), name="web-static")
