"""The home page (credit and bills), a bill and paying it, and the messages."""

from __future__ import annotations

import secrets
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.web.context import (
    WALLETS,
    error_text,
    not_found,
    payer_names,
    redirect,
    render,
    signed_in_form,
    to_login,
    web_context,
)
from api.web.views import bill_view, load_messages

router = APIRouter(prefix="/app", include_in_schema=False)

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


# -- bills and paying ------------------------------------------------------------------------------


@router.get("/bills/{bill_id}")
async def bill_page(request: Request, bill_id: str) -> Response:
    ctx = await web_context(request)
    if not ctx.psn_no:
        return to_login(ctx)
    answer = await ctx.api.get(f"/v1/bills/{quote(bill_id, safe='')}")
    if not answer.ok:
        return not_found(ctx)
    names = await payer_names(ctx, answer.body)
    bill = bill_view(answer.body, ctx, viewer=ctx.psn_no, names=names)
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
    body = {"wallet": wallet if wallet in WALLETS else "wechat"}
    if form.get("split_version"):
        body["split_version"] = form["split_version"]  # what the page showed is what is taken
    answer = await ctx.api.post(
        f"/v1/bills/{quote(bill_id, safe='')}/payments", body, idempotency_key=key
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
