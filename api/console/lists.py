"""The console's lists an operator acts on, each searchable and paged, and their two actions.

Reads call ``reporting.worklists`` (and the scheduler's auto-pay and sweep failures) directly;
the two writes, rotating a hospital's secret and editing a catalogue item, go through the same
``/admin/v1`` calls an operator's script would make (in-process, with the admin token and an
idempotency key carried by the form), so they are checked and recorded exactly as there.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.console.context import (
    ConsoleContext,
    console_context,
    error_page,
    read_form,
    render,
    to_login,
)
from api.web.client import ApiClient
from settlement.scheduler.autopay_failures import autopay_failures
from settlement.scheduler.failure_list import sweep_failures
from settlement.usecases.reporting import worklists
from settlement.usecases.reporting.days import DayRange
from settlement.usecases.reporting.reconciliation import unbalanced_days
from settlement.usecases.reporting.worklists import AGE_BUCKETS, Page, PageRequest

router = APIRouter(prefix="/admin", include_in_schema=False)
#: How far back the differences list looks for days that do not reconcile.
DIFFERENCES_DAYS = 30
PAGE_SIZE = 50


def _request(ctx: ConsoleContext) -> PageRequest:
    params = ctx.request.query_params
    page = params.get("page", "1")
    return PageRequest(
        page=int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1,
        size=PAGE_SIZE,
        q=params.get("q", "").strip()[:64],
    )


def _listing(
    request: Request,
    template: str,
    load: Callable[[Any, ConsoleContext, PageRequest], dict[str, Any]],
) -> Response:
    ctx = console_context(request)
    if not ctx.signed_in:
        return to_login(ctx)
    wanted = _request(ctx)
    with ctx.container.uow() as uow:
        values = load(uow.session, ctx, wanted)
    extra = values.pop("link_params", {})
    links = _page_links(ctx, values["page"], q=wanted.q, **extra)
    return render(ctx, template, q=wanted.q, links=links, **values)


@router.get("/overdue")
def overdue(request: Request) -> Response:
    def load(session: Any, ctx: ConsoleContext, wanted: PageRequest) -> dict[str, Any]:
        now = ctx.container.clock.now()
        bucket = ctx.request.query_params.get("bucket") or None
        if bucket not in (None, *(name for name, _ in AGE_BUCKETS)):
            bucket = None
        return {
            "buckets": worklists.overdue_buckets(session, now=now),
            "bucket": bucket,
            "page": worklists.overdue_bills(session, wanted, now=now, bucket=bucket),
            "link_params": {"bucket": bucket},
        }

    return _listing(request, "overdue.html", load)


@router.get("/differences")
def differences(request: Request) -> Response:
    def load(session: Any, ctx: ConsoleContext, wanted: PageRequest) -> dict[str, Any]:
        span = DayRange(ctx.today - timedelta(days=DIFFERENCES_DAYS - 1), ctx.today, ctx.zone)
        days = unbalanced_days(
            session, hospitals=list(worklists.hospital_names(session)), days=span
        )
        return {
            "days": days,
            "differences_days": DIFFERENCES_DAYS,
            "page": worklists.callback_anomalies(session, wanted),
        }

    return _listing(request, "differences.html", load)


@router.get("/deliveries")
def deliveries(request: Request) -> Response:
    return _listing(
        request,
        "deliveries.html",
        lambda session, ctx, wanted: {"page": worklists.failed_deliveries(session, wanted)},
    )


@router.get("/autopay")
def autopay(request: Request) -> Response:
    return _listing(
        request,
        "autopay.html",
        lambda session, ctx, wanted: {"page": autopay_failures(session, wanted)},
    )


@router.get("/sweeps")
def sweeps(request: Request) -> Response:
    return _listing(
        request,
        "sweeps.html",
        lambda session, ctx, wanted: {"page": sweep_failures(session, wanted)},
    )


@router.get("/hospitals")
def hospitals(request: Request) -> Response:
    return _listing(
        request,
        "hospitals.html",
        lambda session, ctx, wanted: {
            "page": worklists.hospitals(session, wanted),
            "idempotency_key": secrets.token_urlsafe(24),
        },
    )


@router.post("/hospitals/{code}/secret")
async def rotate_secret(request: Request, code: str) -> Response:
    ctx = console_context(request)
    form = await read_form(ctx)
    if form is None:
        return error_page(ctx, 403, ctx.t("csrf_failed"))
    if not ctx.signed_in:
        return to_login(ctx)
    api = ApiClient(request, ctx.container.settings.admin_token)
    answer = await api.post(
        f"/admin/v1/hospitals/{code}/secret",
        {},
        idempotency_key=form.get("idempotency_key") or secrets.token_urlsafe(24),
    )
    if not answer.ok:
        message = answer.error.get("message", str(answer.status))
        return error_page(ctx, answer.status, ctx.t("bad_request", message=message))
    return render(ctx, "secret.html", code=code, secret=answer.body["secret"])


@router.get("/catalogue")
def catalogue(request: Request) -> Response:
    return _listing(
        request,
        "catalogue.html",
        lambda session, ctx, wanted: {"page": worklists.catalogue_items(session, wanted)},
    )


@router.get("/catalogue/{code}")
async def catalogue_item(request: Request, code: str) -> Response:
    ctx = console_context(request)
    if not ctx.signed_in:
        return to_login(ctx)
    api = ApiClient(request, ctx.container.settings.admin_token)
    answer = await api.get(f"/admin/v1/catalogue/{code}")
    if not answer.ok:
        return error_page(ctx, 404, ctx.t("not_found"))
    return render(ctx, "catalogue_item.html", item=answer.body, error=None, saved=False)


#: The form's fields, as the ``PUT /admin/v1/catalogue/{code}`` body names them.
ITEM_FIELDS = ("item_name", "chrgitm_lv", "selfpay_prop", "pric_uplmt_amt", "category")


@router.post("/catalogue/{code}")
async def save_catalogue_item(request: Request, code: str) -> Response:
    ctx = console_context(request)
    form = await read_form(ctx)
    if form is None:
        return error_page(ctx, 403, ctx.t("csrf_failed"))
    if not ctx.signed_in:
        return to_login(ctx)
    body = {name: form[name].strip() for name in ITEM_FIELDS if form.get(name, "").strip()}
    api = ApiClient(request, ctx.container.settings.admin_token)
    answer = await api.call("PUT", f"/admin/v1/catalogue/{code}", json=body)
    if not answer.ok:
        shown = {"med_list_codg": code, **{name: form.get(name, "") for name in ITEM_FIELDS}}
        message = answer.error.get("message", str(answer.status))
        return render(
            ctx,
            "catalogue_item.html",
            status=answer.status,
            item=shown,
            error=ctx.t("bad_request", message=message),
            saved=False,
        )
    return render(ctx, "catalogue_item.html", item=answer.body, error=None, saved=True)


def _page_links(ctx: ConsoleContext, page: Page[Any], **params: object) -> dict[str, str | None]:
    """The previous and next pages' addresses, keeping the search and filters."""
    previous = ctx.url(ctx.request.url.path, page=page.page - 1, **params)
    following = ctx.url(ctx.request.url.path, page=page.page + 1, **params)
    return {
        "previous": previous if page.page > 1 else None,
        "next": following if page.page < page.pages else None,
    }
