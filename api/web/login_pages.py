"""Logging in with a one-time code, and out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.web import session as cookies
from api.web.context import (
    csrf_refused,
    error_text,
    read_form,
    redirect,
    render,
    web_context,
)
from credit.identity import mask_phone

router = APIRouter(prefix="/app", include_in_schema=False)

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
