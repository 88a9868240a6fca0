"""The operator console at ``/admin/``: login, the overview and its CSV.

The administrator logs in with the deployment's admin token (the same check as every
``/admin/v1`` call); the overview shows the figures of ``GET /admin/v1/reports/daily`` for the
chosen day and hospital, with trends over 30 or 90 days, from the same code (``views``).
"""

from __future__ import annotations

import hmac
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.console import session as cookies
from api.console.charts import trend_charts
from api.console.context import (
    ConsoleContext,
    console_context,
    error_page,
    read_form,
    redirect,
    render,
    to_login,
)
from api.console.views import TREND_DAYS, OverviewPage, overview_page, trend_csv
from api.rate_limits import client_address, wait_before
from insurance.errors import InsuranceError
from settlement.foundation.errors import ServiceError
from settlement.usecases.reporting.worklists import hospital_names

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("")
def console_root() -> Response:
    return RedirectResponse("/admin/", status_code=307)


# -- login -----------------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request) -> Response:
    ctx = console_context(request)
    if ctx.signed_in:
        return redirect(ctx, "/admin/")
    return render(ctx, "login.html", error=None)


@router.post("/login")
async def log_in(request: Request) -> Response:
    ctx = console_context(request)
    form = await read_form(ctx)
    if form is None:
        return error_page(ctx, 403, ctx.t("csrf_failed"))
    settings = ctx.container.settings
    # Every attempt counts, the right token's too: a guesser learns nothing from the limit.
    wait = wait_before(
        ctx.container,
        f"console-login:client:{client_address(request)}",
        settings.rate_limit_console_login_per_client,
    )
    if wait is not None:
        answer = render(ctx, "login.html", status=429, error=ctx.t("login_limited", seconds=wait))
        answer.headers["Retry-After"] = str(wait)
        return answer
    given = form.get("token", "").strip().encode()
    expected = settings.admin_token.encode()
    if not expected or not hmac.compare_digest(given, expected):
        return render(ctx, "login.html", status=401, error=ctx.t("login_failed"))
    session = cookies.issue(settings.secret_key, settings.admin_token)
    ctx.new_cookies.append((cookies.SESSION_COOKIE, session, cookies.SESSION_SECONDS))
    # A fresh CSRF session at login: a form token seen before logging in is worthless after.
    ctx.new_cookies.append((cookies.SID_COOKIE, cookies.new_session_id(), cookies.SID_SECONDS))
    return redirect(ctx, "/admin/")


@router.post("/logout")
async def log_out(request: Request) -> Response:
    ctx = console_context(request)
    if await read_form(ctx) is None:
        return error_page(ctx, 403, ctx.t("csrf_failed"))
    ctx.clear.append(cookies.SESSION_COOKIE)
    return redirect(ctx, "/admin/login")


# -- the overview ----------------------------------------------------------------------------------


def _choice(ctx: ConsoleContext) -> tuple[date, int, str | None] | Response:
    """The day, trend length and hospital asked for, or the page refusing them."""
    params = ctx.request.query_params
    text = params.get("date") or ctx.today.isoformat()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return error_page(ctx, 400, ctx.t("bad_request", message=f"date {text}"))
    days_text = params.get("days") or str(TREND_DAYS[0])
    if not days_text.isdigit() or int(days_text) not in TREND_DAYS:
        return error_page(ctx, 400, ctx.t("bad_request", message=f"days {days_text}"))
    return day, int(days_text), params.get("hospital") or None


def _load(ctx: ConsoleContext, day: date, days: int, hospital: str | None) -> OverviewPage | None:
    with ctx.container.uow() as uow:
        try:
            return overview_page(
                uow.session, day=day, days=days, zone=ctx.zone, hospital_code=hospital
            )
        except ServiceError:
            return None


@router.get("/")
def overview(request: Request) -> Response:
    ctx = console_context(request)
    if not ctx.signed_in:
        return to_login(ctx)
    choice = _choice(ctx)
    if isinstance(choice, Response):
        return choice
    day, days, hospital = choice
    page = _load(ctx, day, days, hospital)
    if page is None:
        return error_page(ctx, 404, ctx.t("not_found"))
    with ctx.container.uow() as uow:
        hospitals = hospital_names(uow.session)
    return render(
        ctx,
        "overview.html",
        policy=_policy_line(ctx, day),
        page=page,
        report=page.report,
        charts=trend_charts(page.reports, ctx.t),
        hospitals=hospitals,
        trend_days=TREND_DAYS,
        csv_url=ctx.url(
            "/admin/trends.csv", date=day.isoformat(), days=days, hospital=hospital, lang=None
        ),
    )


def _policy_line(ctx: ConsoleContext, day: date) -> str:
    """The policy in force on ``day`` and its settlement mode, in the reader's language."""
    try:
        policy = ctx.container.policies.in_force(day)
    except InsuranceError:
        return ""
    mode = ctx.t(f"mode_{policy.settlement_mode}")
    return ctx.t("policy_mode", region=policy.region_code, version=policy.version, mode=mode)


@router.get("/trends.csv")
def trends_csv(request: Request) -> Response:
    ctx = console_context(request)
    if not ctx.signed_in:
        return to_login(ctx)
    choice = _choice(ctx)
    if isinstance(choice, Response):
        return choice
    day, days, hospital = choice
    page = _load(ctx, day, days, hospital)
    if page is None:
        return error_page(ctx, 404, ctx.t("not_found"))
    first = page.reports[0].date
    name = f"shuxin-{hospital or 'all'}-{first}-{day.isoformat()}.csv"
    response = Response(
        trend_csv(page),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
    return ctx.finish(response)
