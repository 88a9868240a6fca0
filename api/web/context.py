"""What every page of ``/app/`` shares: the request's context (language, cookies, patient),
rendering, redirects, CSRF-checked forms and error texts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from jinja2 import Environment
from starlette.concurrency import run_in_threadpool

from api.auth import authenticate_patient
from api.errors import ApiError
from api.web import session as cookies
from api.web.client import ApiAnswer, ApiClient
from api.web.i18n import local_time, pick_language, translate
from api.web.views import Profile, load_profile
from settlement.bootstrap import Container

#: Sent with every page: no framing, no third-party code or styles, nothing cached.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
WALLETS = ("wechat", "alipay")
AUTOPAY_CHOICES = ("off", "on_close", "before_deadline")
RELATIONS = ("spouse", "parent", "child", "other")


@dataclass
class WebContext:
    """One browser request: its container, language, display choices, cookies and patient."""

    request: Request
    container: Container
    lang: str
    large: bool
    contrast: bool
    session_id: str
    token: str | None
    psn_no: str | None = None
    profile: Profile | None = None
    new_cookies: list[tuple[str, str, int, bool]] = field(default_factory=list)
    clear_token: bool = False

    @property
    def api(self) -> ApiClient:
        return ApiClient(self.request, self.token)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.container.settings.timezone)

    @property
    def csrf(self) -> str:
        return cookies.csrf_token(self.container.settings.secret_key, self.session_id)

    def t(self, key: str, **values: object) -> str:
        return translate(self.lang, key, **values)

    def time(self, value: object) -> str:
        return local_time(value if isinstance(value, str) else None, zone=self.zone, lang=self.lang)

    def finish(self, response: Response) -> Response:
        for name, value, max_age, private in self.new_cookies:
            if private:
                cookies.set_private_cookie(response, self.request, name, value, max_age)
            else:
                response.set_cookie(
                    name, value, max_age=max_age, path="/app", samesite="strict", httponly=True
                )
        if self.clear_token:
            cookies.clear_cookie(response, self.request, cookies.TOKEN_COOKIE)
        response.headers.update(SECURITY_HEADERS)
        return response


def _preference(request: Request, param: str, cookie: str, allowed: tuple[str, ...]) -> str | None:
    given = request.query_params.get(param)
    if given in allowed:
        return given
    stored = request.cookies.get(cookie)
    return stored if stored in allowed else None


async def web_context(request: Request) -> WebContext:
    container: Container = request.app.state.container
    lang = pick_language(_preference(request, "lang", cookies.LANG_COOKIE, ("zh", "en")))
    text = _preference(request, "text", cookies.TEXT_COOKIE, ("large", "normal")) or "normal"
    contrast = _preference(request, "contrast", cookies.CONTRAST_COOKIE, ("high", "normal"))
    session_id = request.cookies.get(cookies.SESSION_COOKIE) or ""
    ctx = WebContext(
        request=request,
        container=container,
        lang=lang,
        large=text == "large",
        contrast=contrast == "high",
        session_id=session_id,
        token=request.cookies.get(cookies.TOKEN_COOKIE) or None,
    )
    for param, cookie in (
        ("lang", cookies.LANG_COOKIE),
        ("text", cookies.TEXT_COOKIE),
        ("contrast", cookies.CONTRAST_COOKIE),
    ):
        if request.query_params.get(param) in ("zh", "en", "large", "normal", "high"):
            ctx.new_cookies.append(
                (cookie, request.query_params[param], cookies.PREFERENCE_MAX_AGE, False)
            )
    if not session_id and request.method == "GET":
        ctx.session_id = cookies.new_session_id()
        ctx.new_cookies.append(
            (cookies.SESSION_COOKIE, ctx.session_id, cookies.SESSION_MAX_AGE, True)
        )
    if ctx.token:
        ctx.psn_no = await run_in_threadpool(_resolve_patient, container, ctx.token)
        if ctx.psn_no is None:
            ctx.token = None
            ctx.clear_token = True
        else:
            ctx.profile = await run_in_threadpool(load_profile, container, ctx.psn_no)
    return ctx


def _resolve_patient(container: Container, token: str) -> str | None:
    """The same bearer check as every ``/v1`` route (``api.auth.authenticate_patient``)."""
    try:
        return authenticate_patient(
            container, HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
        )
    except ApiError:
        return None


def render(ctx: WebContext, template: str, *, status: int = 200, **values: Any) -> Response:
    env: Environment = ctx.request.app.state.web_templates
    html = env.get_template(template).render(
        ctx=ctx,
        t=ctx.t,
        lang=ctx.lang,
        csrf=ctx.csrf,
        profile=ctx.profile,
        sandbox=ctx.container.settings.is_sandbox,
        server_now=ctx.container.clock.now().isoformat(),
        path=ctx.request.url.path,
        **values,
    )
    return ctx.finish(HTMLResponse(html, status_code=status))


def redirect(ctx: WebContext, to: str) -> Response:
    return ctx.finish(RedirectResponse(to, status_code=303))


def to_login(ctx: WebContext) -> Response:
    return redirect(ctx, "/app/login")


async def read_form(ctx: WebContext) -> dict[str, str] | None:
    """The posted form, or ``None`` when its CSRF token is not this session's."""
    raw = await ctx.request.body()
    fields = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    if not cookies.csrf_ok(ctx.container.settings.secret_key, ctx.session_id, fields.get("csrf")):
        return None
    return fields


def csrf_refused(ctx: WebContext) -> Response:
    return render(ctx, "error.html", status=403, message=ctx.t("csrf_failed"))


async def signed_in_form(ctx: WebContext) -> dict[str, str] | Response:
    """A signed-in patient's form, or the answer refusing it (bad CSRF token, then no login)."""
    form = await read_form(ctx)
    if form is None:
        return csrf_refused(ctx)
    if not ctx.psn_no:
        return to_login(ctx)
    return form


def error_text(ctx: WebContext, answer: ApiAnswer) -> str:
    code = answer.error_code
    details = answer.error
    key = f"err_{code}"
    if code == "rate_limited":
        return ctx.t(key, retry_after=details.get("retry_after", 60))
    text = ctx.t(key)
    if text == key:
        return ctx.t("err_generic", message=details.get("message", answer.status))
    return text


def not_found(ctx: WebContext) -> Response:
    return render(ctx, "error.html", status=404, message=ctx.t("not_found"))


async def payer_names(ctx: WebContext, bill: dict[str, Any]) -> dict[str, str]:
    """The names the family list shows for the one who paid ``bill``, when not the caller."""
    paid = bill.get("paid") or {}
    if not paid or paid.get("payer_psn_no") == ctx.psn_no:
        return {}
    members = await ctx.api.get("/v1/family/members")
    if not members.ok:
        return {}
    return {
        str(member.get("psn_no")): str(member.get("psn_name", ""))
        for listed in ("relatives", "managers")
        for member in members.body.get(listed, [])
    }
