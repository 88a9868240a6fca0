"""One browser request to the console: language, session, CSRF, rendering and the answer's
headers (the patients' page's, ``api.web.routes.SECURITY_HEADERS``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.console import session as cookies
from api.console.i18n import grouped, pick_language, translate
from api.web.context import SECURITY_HEADERS
from api.web.i18n import local_time
from insurance.money import format_amount, from_fen
from settlement.bootstrap import Container

HERE = Path(__file__).resolve().parent


def build_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yuan"] = grouped
    env.filters["fen"] = lambda fen: grouped(format_amount(from_fen(fen)))
    return env


@dataclass
class ConsoleContext:
    """The request, its container, the operator's language and whether they are signed in."""

    request: Request
    container: Container
    lang: str
    session_id: str
    signed_in: bool
    new_cookies: list[tuple[str, str, int]] = field(default_factory=list)
    clear: list[str] = field(default_factory=list)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.container.settings.timezone)

    @property
    def today(self) -> date:
        """The service's business day (the sandbox's test clock moves it)."""
        return self.container.clock.now().astimezone(self.zone).date()

    @property
    def csrf(self) -> str:
        return cookies.csrf_token(self.container.settings.secret_key, self.session_id)

    def t(self, key: str, **values: object) -> str:
        return translate(self.lang, key, **values)

    def time(self, value: datetime | None) -> str:
        return local_time(value, zone=self.zone, lang=self.lang) if value is not None else ""

    def url(self, path: str, **params: object) -> str:
        """``path`` with the query ``params`` that are not None or empty."""
        kept = {name: value for name, value in params.items() if value not in (None, "")}
        return f"{path}?{urlencode(kept)}" if kept else path

    def finish(self, response: Response) -> Response:
        for name, value, max_age in self.new_cookies:
            cookies.set_cookie(response, self.request, name, value, max_age)
        for name in self.clear:
            cookies.clear_cookie(response, self.request, name)
        response.headers.update(SECURITY_HEADERS)
        return response


def console_context(request: Request) -> ConsoleContext:
    container: Container = request.app.state.container
    settings = container.settings
    given = request.query_params.get("lang")
    lang = pick_language(
        given if given in ("zh", "en") else request.cookies.get(cookies.LANG_COOKIE)
    )
    ctx = ConsoleContext(
        request=request,
        container=container,
        lang=lang,
        session_id=request.cookies.get(cookies.SID_COOKIE) or "",
        signed_in=cookies.valid(
            settings.secret_key, settings.admin_token, request.cookies.get(cookies.SESSION_COOKIE)
        ),
    )
    if given in ("zh", "en"):
        ctx.new_cookies.append((cookies.LANG_COOKIE, given, cookies.LANG_SECONDS))
    if not ctx.session_id and request.method == "GET":
        ctx.session_id = cookies.new_session_id()
        ctx.new_cookies.append((cookies.SID_COOKIE, ctx.session_id, cookies.SID_SECONDS))
    return ctx


def render(ctx: ConsoleContext, template: str, *, status: int = 200, **values: Any) -> Response:
    env: Environment = ctx.request.app.state.console_templates
    html = env.get_template(template).render(
        ctx=ctx,
        t=ctx.t,
        lang=ctx.lang,
        csrf=ctx.csrf,
        path=ctx.request.url.path,
        query=dict(ctx.request.query_params),
        **values,
    )
    return ctx.finish(HTMLResponse(html, status_code=status))


def redirect(ctx: ConsoleContext, to: str) -> Response:
    return ctx.finish(RedirectResponse(to, status_code=303))


def to_login(ctx: ConsoleContext) -> Response:
    return redirect(ctx, "/admin/login")


def error_page(ctx: ConsoleContext, status: int, message: str) -> Response:
    return render(ctx, "error.html", status=status, message=message)


async def read_form(ctx: ConsoleContext) -> dict[str, str] | None:
    """The posted form, or ``None`` when its CSRF token is not this browser's session's."""
    raw = await ctx.request.body()
    fields = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    if not cookies.csrf_ok(ctx.container.settings.secret_key, ctx.session_id, fields.get("csrf")):
        return None
    return fields
