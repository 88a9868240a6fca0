"""Signing and revoking the agreement."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.web.context import (
    AUTOPAY_CHOICES,
    WebContext,
    error_text,
    redirect,
    render,
    signed_in_form,
    to_login,
    web_context,
)

router = APIRouter(prefix="/app", include_in_schema=False)

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
