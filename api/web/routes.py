"""The patient and family page at ``/app/``: server-rendered screens over the patient API.

Reads and writes go through :class:`api.web.client.ApiClient`, i.e. the same ``/v1`` routes,
tokens and checks an app uses; the page adds only language, layout, CSRF and masking.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from api.auth import authenticate_patient
from api.errors import ApiError
from api.web import session as cookies
from api.web.client import ApiAnswer, ApiClient
from api.web.i18n import local_time, pick_language, translate, yuan
from api.web.views import Profile, agreement_html, bill_view, load_messages, load_profile
from credit.identity import mask_phone
from settlement.bootstrap import Container

HERE = Path(__file__).resolve().parent
router = APIRouter(prefix="/app", include_in_schema=False)

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


def build_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yuan"] = yuan
    env.filters["agreement_html"] = agreement_html
    return env


def install_web(app: FastAPI) -> None:
    """Serve the page at ``/app/`` and its static files at ``/app/static``."""
    app.state.web_templates = build_templates()
    app.include_router(router)
    app.mount("/app/static", StaticFiles(directory=HERE / "static"), name="web-static")


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


# -- login -----------------------------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request) -> Response:
    ctx = await web_context(request)
    if ctx.psn_no:
        return redirect(ctx, "/app/")
    return render(ctx, "login.html", step="phone", phone="", error=None)


@router.post("/login/code")
async def send_code(request: Request) -> Response:
    ctx = await web_context(request)
    form = await read_form(ctx)
    if form is None:
        return csrf_refused(ctx)
    phone = form.get("phone", "").strip()
    answer = await ctx.api.post("/v1/auth/otp", {"phone": phone})
    if not answer.ok:
        return render(
            ctx,
            "login.html",
            status=answer.status,
            step="phone",
            phone=phone,
            error=error_text(ctx, answer),
        )
    return render(
        ctx,
        "login.html",
        step="code",
        phone=phone,
        masked_phone=mask_phone_text(phone),
        sandbox_code=answer.body.get("sandbox_code"),
        error=None,
    )


def mask_phone_text(phone: str) -> str:
    return mask_phone(phone)


@router.post("/login")
async def log_in(request: Request) -> Response:
    ctx = await web_context(request)
    form = await read_form(ctx)
    if form is None:
        return csrf_refused(ctx)
    phone, code = form.get("phone", "").strip(), form.get("code", "").strip()
    answer = await ctx.api.post("/v1/auth/token", {"phone": phone, "code": code})
    if not answer.ok:
        return render(
            ctx,
            "login.html",
            status=answer.status,
            step="code",
            phone=phone,
            masked_phone=mask_phone_text(phone),
            sandbox_code=None,
            error=error_text(ctx, answer),
        )
    response = RedirectResponse("/app/", status_code=303)
    cookies.set_private_cookie(
        response,
        request,
        cookies.TOKEN_COOKIE,
        answer.body["access_token"],
        int(answer.body["expires_in"]),
    )
    # A fresh session id at login: a form token seen before logging in is worthless after.
    cookies.set_private_cookie(
        response,
        request,
        cookies.SESSION_COOKIE,
        cookies.new_session_id(),
        cookies.SESSION_MAX_AGE,
    )
    return ctx.finish(response)


@router.post("/logout")
async def log_out(request: Request) -> Response:
    ctx = await web_context(request)
    if await read_form(ctx) is None:
        return csrf_refused(ctx)
    ctx.clear_token = True
    return redirect(ctx, "/app/login")


# -- home: credit and bills ------------------------------------------------------------------------


@router.get("/")
async def home(request: Request) -> Response:
    ctx = await web_context(request)
    if not ctx.psn_no:
        return to_login(ctx)
    credit = await ctx.api.get("/v1/me/credit")
    bills = await ctx.api.get("/v1/me/bills")
    if credit.status == 401 or bills.status == 401:
        ctx.clear_token = True
        return to_login(ctx)
    return render(
        ctx,
        "home.html",
        credit=credit.body if credit.ok else None,
        bills=[bill_view(b, ctx) for b in (bills.body or {}).get("bills", [])] if bills.ok else [],
        signed=request.query_params.get("signed") == "1",
        revoked=request.query_params.get("revoked") == "1",
    )


# -- the agreement ---------------------------------------------------------------------------------


@router.get("/agreement")
async def agreement_page(request: Request) -> Response:
    ctx = await web_context(request)
    if not ctx.psn_no:
        return to_login(ctx)
    return await _agreement(ctx, error=None, values={})


async def _agreement(
    ctx: WebContext, *, error: str | None, values: dict[str, str], status: int = 200
) -> Response:
    agreement = await ctx.api.get("/v1/agreements/current")
    credit = await ctx.api.get("/v1/me/credit")
    return render(
        ctx,
        "agreement.html",
        status=status,
        agreement=agreement.body,
        credit=credit.body if credit.ok else None,
        autopay_choices=AUTOPAY_CHOICES,
        error=error,
        values=values,
        idempotency_key=secrets.token_urlsafe(24),
    )


@router.post("/agreement")
async def sign_agreement(request: Request) -> Response:
    ctx = await web_context(request)
    form = await signed_in_form(ctx)
    if isinstance(form, Response):
        return form
    values = {
        "psn_name": form.get("psn_name", "").strip(),
        "autopay": form.get("autopay", "off"),
    }
    version = form.get("version", "")
    body = {
        "psn_no": ctx.psn_no,
        "certno": form.get("certno", "").strip().upper(),
        "psn_name": values["psn_name"],
        "version": int(version) if version.isdigit() else 0,
        "accept": form.get("accept") == "yes",
        "autopay": values["autopay"] if values["autopay"] in AUTOPAY_CHOICES else "off",
    }
    key = form.get("idempotency_key") or secrets.token_urlsafe(24)
    answer = await ctx.api.post("/v1/agreements", body, idempotency_key=key)
    if not answer.ok:
        # The ID number is not echoed back into the form.
        return await _agreement(
            ctx, error=error_text(ctx, answer), values=values, status=answer.status
        )
    return redirect(ctx, "/app/?signed=1")


@router.get("/agreement/revoke")
async def revoke_page(request: Request) -> Response:
    ctx = await web_context(request)
    if not ctx.psn_no:
        return to_login(ctx)
    return await _revoke(ctx, error=None)


async def _revoke(ctx: WebContext, *, error: str | None, status: int = 200) -> Response:
    credit = await ctx.api.get("/v1/me/credit")
    return render(
        ctx,
        "revoke.html",
        status=status,
        credit=credit.body if credit.ok else None,
        error=error,
        idempotency_key=secrets.token_urlsafe(24),
    )


@router.post("/agreement/revoke")
async def revoke_agreement(request: Request) -> Response:
    ctx = await web_context(request)
    form = await signed_in_form(ctx)
    if isinstance(form, Response):
        return form
    key = form.get("idempotency_key") or secrets.token_urlsafe(24)
    answer = await ctx.api.delete("/v1/agreements/current", idempotency_key=key)
    if not answer.ok:
        return await _revoke(ctx, error=error_text(ctx, answer), status=answer.status)
    return redirect(ctx, "/app/?revoked=1")


# -- bills and paying ------------------------------------------------------------------------------


@router.get("/bills/{bill_id}")
async def bill_page(request: Request, bill_id: str) -> Response:
    ctx = await web_context(request)
    if not ctx.psn_no:
        return to_login(ctx)
    answer = await ctx.api.get(f"/v1/bills/{quote(bill_id, safe='')}")
    if not answer.ok:
        return not_found(ctx)
    bill = bill_view(answer.body, ctx)
    return render(
        ctx,
        "bill.html",
        bill=bill,
        wallets=WALLETS,
        idempotency_key=secrets.token_urlsafe(24),
        error=request.query_params.get("error"),
        just_paid=request.query_params.get("paid") == "1",
    )


@router.get("/bills/{bill_id}/status")
async def bill_status(request: Request, bill_id: str) -> Response:
    """The bill's status for the page's polling script (same API call as the page)."""
    ctx = await web_context(request)
    if not ctx.psn_no:
        return ctx.finish(JSONResponse({"status": None}, status_code=401))
    answer = await ctx.api.get(f"/v1/bills/{quote(bill_id, safe='')}")
    if not answer.ok:
        return ctx.finish(JSONResponse({"status": None}, status_code=404))
    status = str(answer.body["status"])
    return ctx.finish(JSONResponse({"status": status, "label": ctx.t(f"bill_{status}")}))


@router.post("/bills/{bill_id}/pay")
async def pay_bill(request: Request, bill_id: str) -> Response:
    ctx = await web_context(request)
    form = await signed_in_form(ctx)
    if isinstance(form, Response):
        return form
    wallet = form.get("wallet", "wechat")
    key = form.get("idempotency_key") or secrets.token_urlsafe(24)
    answer = await ctx.api.post(
        f"/v1/bills/{quote(bill_id, safe='')}/payments",
        {"wallet": wallet if wallet in WALLETS else "wechat"},
        idempotency_key=key,
    )
    back = form.get("back", "")
    target = back if back.startswith("/app/") and "//" not in back else f"/app/bills/{bill_id}"
    if not answer.ok:
        if answer.status == 404:
            return not_found(ctx)
        return redirect(ctx, f"{target}?error={quote(error_text(ctx, answer))}")
    return redirect(ctx, f"{target}?paid=1")


# -- messages --------------------------------------------------------------------------------------


@router.get("/messages")
async def messages_page(request: Request) -> Response:
    ctx = await web_context(request)
    if not ctx.psn_no:
        return to_login(ctx)
    messages = await run_in_threadpool(load_messages, ctx.container, ctx.psn_no)
    return render(ctx, "messages.html", messages=messages)


# -- family ----------------------------------------------------------------------------------------


@router.get("/family")
async def family_page(request: Request) -> Response:
    ctx = await web_context(request)
    if not ctx.psn_no:
        return to_login(ctx)
    return await _family(ctx, error=request.query_params.get("error"), notice=None)


async def _family(
    ctx: WebContext, *, error: str | None, notice: str | None, status: int = 200
) -> Response:
    members = await ctx.api.get("/v1/family/members")
    invitations = await ctx.api.get("/v1/family/invitations")
    if members.status == 404 and not members.error_code:
        # The family routes are not part of this deployment.
        return render(ctx, "family.html", status=status, available=False)
    return render(
        ctx,
        "family.html",
        status=status,
        available=True,
        relatives=(members.body or {}).get("relatives", []) if members.ok else [],
        managers=(members.body or {}).get("managers", []) if members.ok else [],
        invitations=(invitations.body or {}).get("invitations", []) if invitations.ok else [],
        relations=RELATIONS,
        error=error,
        notice=notice,
        idempotency_key=secrets.token_urlsafe(24),
    )


@router.post("/family/invite")
async def invite_relative(request: Request) -> Response:
    ctx = await web_context(request)
    form = await signed_in_form(ctx)
    if isinstance(form, Response):
        return form
    relation = form.get("relation", "")
    body = {
        "psn_no": form.get("psn_no", "").strip(),
        "certno": form.get("certno", "").strip().upper(),
        "relation": relation if relation in RELATIONS else "other",
    }
    key = form.get("idempotency_key") or secrets.token_urlsafe(24)
    answer = await ctx.api.post("/v1/family/invitations", body, idempotency_key=key)
    if not answer.ok:
        return await _family(ctx, error=error_text(ctx, answer), notice=None, status=answer.status)
    return await _family(ctx, error=None, notice=ctx.t("invited_ok"))


@router.post("/family/invitations/{invitation_id}/accept")
async def accept_invitation(request: Request, invitation_id: str) -> Response:
    ctx = await web_context(request)
    form = await signed_in_form(ctx)
    if isinstance(form, Response):
        return form
    answer = await ctx.api.post(
        f"/v1/family/invitations/{quote(invitation_id, safe='')}/accept",
        {},
        idempotency_key=form.get("idempotency_key") or secrets.token_urlsafe(24),
    )
    if not answer.ok:
        return await _family(ctx, error=error_text(ctx, answer), notice=None, status=answer.status)
    return await _family(ctx, error=None, notice=ctx.t("accepted_ok"))


@router.post("/family/invitations/{invitation_id}/decline")
async def decline_invitation(request: Request, invitation_id: str) -> Response:
    ctx = await web_context(request)
    form = await signed_in_form(ctx)
    if isinstance(form, Response):
        return form
    # Declining is ending the invited link from the relative's side (the same API call).
    invitations = await ctx.api.get("/v1/family/invitations")
    manager = next(
        (
            str(invitation["manager_psn_no"])
            for invitation in (invitations.body or {}).get("invitations", [])
            if invitations.ok and invitation.get("invitation_id") == invitation_id
        ),
        None,
    )
    if manager is None:
        return not_found(ctx)
    answer = await ctx.api.delete(
        f"/v1/family/members/{quote(manager, safe='')}",
        idempotency_key=form.get("idempotency_key") or secrets.token_urlsafe(24),
    )
    if not answer.ok:
        return await _family(ctx, error=error_text(ctx, answer), notice=None, status=answer.status)
    return await _family(ctx, error=None, notice=ctx.t("declined_ok"))


async def _linked(ctx: WebContext, psn_no: str) -> tuple[dict[str, Any], str] | None:
    """A live link of the caller with ``psn_no``: the member as listed, and the caller's side
    (``manager`` when ``psn_no`` is their relative, ``relative`` when it is their manager)."""
    members = await ctx.api.get("/v1/family/members")
    if not members.ok:
        return None
    for side, listed in (("manager", "relatives"), ("relative", "managers")):
        for member in members.body.get(listed, []):
            if member.get("psn_no") == psn_no and member.get("status") in ("active", "invited"):
                return dict(member), side
    return None


@router.get("/family/{psn_no}/end")
async def end_link_page(request: Request, psn_no: str) -> Response:
    ctx = await web_context(request)
    if not ctx.psn_no:
        return to_login(ctx)
    return await _end_link(ctx, psn_no, error=None)


async def _end_link(
    ctx: WebContext, psn_no: str, *, error: str | None, status: int = 200
) -> Response:
    linked = await _linked(ctx, psn_no)
    if linked is None:
        return not_found(ctx)
    member, side = linked
    return render(
        ctx,
        "end_link.html",
        status=status,
        member=member,
        side=side,
        error=error,
        idempotency_key=secrets.token_urlsafe(24),
    )


@router.post("/family/{psn_no}/end")
async def end_link(request: Request, psn_no: str) -> Response:
    ctx = await web_context(request)
    form = await signed_in_form(ctx)
    if isinstance(form, Response):
        return form
    answer = await ctx.api.delete(
        f"/v1/family/members/{quote(psn_no, safe='')}",
        idempotency_key=form.get("idempotency_key") or secrets.token_urlsafe(24),
    )
    if not answer.ok:
        if answer.status == 404:
            return not_found(ctx)
        return await _end_link(ctx, psn_no, error=error_text(ctx, answer), status=answer.status)
    return await _family(ctx, error=None, notice=ctx.t("end_ok"))


@router.get("/family/{psn_no}/agreement")
async def proxy_agreement_page(request: Request, psn_no: str) -> Response:
    ctx = await web_context(request)
    if not ctx.psn_no:
        return to_login(ctx)
    return await _proxy_agreement(ctx, psn_no, error=None, values={})


async def _proxy_agreement(
    ctx: WebContext, psn_no: str, *, error: str | None, values: dict[str, str], status: int = 200
) -> Response:
    relative = await _relative(ctx, psn_no)
    if relative is None:
        return not_found(ctx)
    agreement = await ctx.api.get("/v1/agreements/current")
    credit = await ctx.api.get(f"/v1/family/members/{quote(psn_no, safe='')}/credit")
    return render(
        ctx,
        "proxy_agreement.html",
        status=status,
        relative=relative,
        agreement=agreement.body,
        credit=credit.body if credit.ok else None,
        autopay_choices=AUTOPAY_CHOICES,
        error=error,
        values=values,
        idempotency_key=secrets.token_urlsafe(24),
    )


@router.post("/family/{psn_no}/agreement")
async def proxy_sign(request: Request, psn_no: str) -> Response:
    ctx = await web_context(request)
    form = await signed_in_form(ctx)
    if isinstance(form, Response):
        return form
    values = {
        "psn_name": form.get("psn_name", "").strip(),
        "autopay": form.get("autopay", "off"),
    }
    version = form.get("version", "")
    body = {
        "certno": form.get("certno", "").strip().upper(),
        "psn_name": values["psn_name"],
        "version": int(version) if version.isdigit() else 0,
        "accept": form.get("accept") == "yes",
        "autopay": values["autopay"] if values["autopay"] in AUTOPAY_CHOICES else "off",
    }
    member = quote(psn_no, safe="")
    key = form.get("idempotency_key") or secrets.token_urlsafe(24)
    answer = await ctx.api.post(f"/v1/family/members/{member}/agreement", body, idempotency_key=key)
    if not answer.ok:
        if answer.status == 404:
            return not_found(ctx)
        # The relative's ID number is not echoed back into the form.
        return await _proxy_agreement(
            ctx, psn_no, error=error_text(ctx, answer), values=values, status=answer.status
        )
    return redirect(ctx, f"/app/family/{member}?signed=1")


async def _relative(ctx: WebContext, psn_no: str) -> dict[str, Any] | None:
    """The relative as the manager's member list shows them; ``None`` if not managed."""
    members = await ctx.api.get("/v1/family/members")
    if not members.ok:
        return None
    for member in members.body.get("relatives", []):
        if member.get("psn_no") == psn_no and member.get("status") == "active":
            return dict(member)
    return None


@router.get("/family/{psn_no}")
async def relative_page(request: Request, psn_no: str) -> Response:
    ctx = await web_context(request)
    if not ctx.psn_no:
        return to_login(ctx)
    member = quote(psn_no, safe="")
    credit = await ctx.api.get(f"/v1/family/members/{member}/credit")
    bills = await ctx.api.get(f"/v1/family/members/{member}/bills")
    relative = await _relative(ctx, psn_no)
    if not credit.ok or not bills.ok or relative is None:
        return not_found(ctx)
    return render(
        ctx,
        "relative.html",
        relative=relative,
        credit=credit.body,
        bills=[bill_view(b, ctx) for b in bills.body.get("bills", [])],
        link_prefix=f"/app/family/{member}/bills/",
        signed=request.query_params.get("signed") == "1",
    )


async def _relative_bill(ctx: WebContext, psn_no: str, bill_id: str) -> dict[str, Any] | None:
    """A managed relative's bill: in full if the API shows it to managers, else its summary."""
    answer = await ctx.api.get(f"/v1/bills/{quote(bill_id, safe='')}")
    if answer.ok and answer.body.get("psn_no", psn_no) == psn_no:
        listed = await ctx.api.get(f"/v1/family/members/{quote(psn_no, safe='')}/bills")
        ids = {b["bill_id"] for b in listed.body.get("bills", [])} if listed.ok else set()
        return dict(answer.body) if bill_id in ids else None
    listed = await ctx.api.get(f"/v1/family/members/{quote(psn_no, safe='')}/bills")
    if not listed.ok:
        return None
    for bill in listed.body.get("bills", []):
        if bill.get("bill_id") == bill_id:
            return dict(bill)
    return None


@router.get("/family/{psn_no}/bills/{bill_id}")
async def relative_bill_page(request: Request, psn_no: str, bill_id: str) -> Response:
    ctx = await web_context(request)
    if not ctx.psn_no:
        return to_login(ctx)
    bill = await _relative_bill(ctx, psn_no, bill_id)
    relative = await _relative(ctx, psn_no)
    if bill is None or relative is None:
        return not_found(ctx)
    here = f"/app/family/{quote(psn_no, safe='')}/bills/{quote(bill_id, safe='')}"
    return render(
        ctx,
        "bill.html",
        bill=bill_view(bill, ctx),
        heading=ctx.t("relative_bills", name=relative.get("psn_name", "")),
        wallets=WALLETS,
        idempotency_key=secrets.token_urlsafe(24),
        error=request.query_params.get("error"),
        just_paid=request.query_params.get("paid") == "1",
        back_link=f"/app/family/{quote(psn_no, safe='')}",
        back_after_pay=here,
        status_url=f"{here}/status",
    )


@router.get("/family/{psn_no}/bills/{bill_id}/status")
async def relative_bill_status(request: Request, psn_no: str, bill_id: str) -> Response:
    ctx = await web_context(request)
    if not ctx.psn_no:
        return ctx.finish(JSONResponse({"status": None}, status_code=401))
    bill = await _relative_bill(ctx, psn_no, bill_id)
    if bill is None:
        return ctx.finish(JSONResponse({"status": None}, status_code=404))
    status = str(bill["status"])
    return ctx.finish(JSONResponse({"status": status, "label": ctx.t(f"bill_{status}")}))
