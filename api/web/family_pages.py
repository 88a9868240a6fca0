"""The family: invitations, links, a relative's agreement, credit and bills."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from api.web.context import (
    AUTOPAY_CHOICES,
    RELATIONS,
    WALLETS,
    WebContext,
    error_text,
    not_found,
    payer_names,
    redirect,
    render,
    signed_in_form,
    to_login,
    web_context,
)
from api.web.views import bill_view

router = APIRouter(prefix="/app", include_in_schema=False)

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


@router.post("/family/{psn_no}/mutual-aid")
async def set_mutual_aid(request: Request, psn_no: str) -> Response:
    """Bind or unbind a relative for family mutual aid (the manager's standing consent)."""
    ctx = await web_context(request)
    form = await signed_in_form(ctx)
    if isinstance(form, Response):
        return form
    enabled = form.get("enabled") == "1"
    answer = await ctx.api.call(
        "PUT",
        f"/v1/family/members/{quote(psn_no, safe='')}/mutual-aid",
        json={"enabled": enabled},
    )
    if not answer.ok:
        return await _family(ctx, error=error_text(ctx, answer), notice=None, status=answer.status)
    notice = ctx.t("mutual_aid_on_ok" if enabled else "mutual_aid_off_ok")
    return await _family(ctx, error=None, notice=notice)


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
        bill=bill_view(bill, ctx, viewer=ctx.psn_no, names=await payer_names(ctx, bill)),
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
