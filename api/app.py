"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from api.console import install_console
from api.errors import install_error_handlers
from api.limits import Limits, RequestLimits
from api.national import routes as national_routes
from api.openapi import install_openapi
from api.request_context import install_request_context
from api.routes import (
    admin,
    admin_hospitals,
    admin_scheduler,
    agreements,
    family,
    health,
    his,
    his_bills,
    patients,
    payments,
    refunds,
    sandbox,
    sandbox_scheduler,
    withholding,
)
from api.routes import auth as auth_routes
from api.routes.his import render_fee_batch
from api.web import install_web
from settlement.bootstrap import Container
from settlement.usecases.charging.groups import ChargeGroups

API_DESCRIPTION = """
Shuxin (舒心就医) settles outpatient care on credit: the hospital's HIS posts charges against the
patient's credit line during the visit, and the patient repays within 72 hours, the personal
medical-insurance account first, then the wallet. Money is always a string with two places.

Limits (settings, see the README): a body over 1 MiB is `413 body_too_large`, a request line and
headers over 16 KiB are `431 headers_too_large`, a head not complete within 10 s or a body that
stops arriving for 10 s is `408 request_timeout`; these close the connection. Login codes, login
attempts and wallet callbacks are rate limited (`429 rate_limited` with `Retry-After`). A
database that cannot be reached is `503 database_unreachable` with `Retry-After`.
"""


def create_app(container: Container, *, run_scheduler: bool = False) -> FastAPI:
    """Build the API over an already wired container (see ``settlement.bootstrap``).

    ``run_scheduler`` starts the 72-hour window's sweeps with the app (``shuxin serve``).
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Sync routes run in this event loop's thread pool; its size is a setting.
        to_thread.current_default_thread_limiter().total_tokens = container.settings.api_threads
        # The sweeps run in APScheduler's thread; they start and stop with the server.
        scheduler = None
        if run_scheduler:
            from settlement.scheduler import Scheduler

            scheduler = Scheduler(container)
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.stop()

    app = FastAPI(
        title="Shuxin settlement API",
        version="1.0.0",
        description=API_DESCRIPTION,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.container = container
    app.state.charge_groups = ChargeGroups(container, render=render_fee_batch)
    app.state.run_scheduler = run_scheduler
    install_error_handlers(app)
    app.add_middleware(RequestLimits, limits=Limits.of(container.settings))
    install_request_context(app)
    app.include_router(health.router)
    app.include_router(auth_routes.router)
    app.include_router(admin_hospitals.router)
    app.include_router(admin.router)
    app.include_router(admin_scheduler.router)
    app.include_router(his.router)
    app.include_router(his_bills.router)
    app.include_router(national_routes.router)
    app.include_router(agreements.router)
    app.include_router(patients.router)
    app.include_router(family.router)
    app.include_router(family.his_router)
    app.include_router(payments.router)
    app.include_router(withholding.router)
    app.include_router(refunds.router)
    if container.settings.is_sandbox:
        app.include_router(sandbox.router)
        app.include_router(sandbox_scheduler.router)
        app.include_router(payments.sandbox_router)
    install_web(app)
    install_console(app)
    install_openapi(app)
    return app
