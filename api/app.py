"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.routes import admin, admin_hospitals, agreements, health, his, patients, sandbox
from api.routes import auth as auth_routes
from settlement.bootstrap import Container

API_DESCRIPTION = """
Shuxin (舒心就医) settles outpatient care on credit: the hospital's HIS posts charges against the
patient's credit line during the visit, and the patient repays within 72 hours, the personal
medical-insurance account first, then the wallet. Money is always a string with two places.
"""


def create_app(container: Container, *, run_scheduler: bool = False) -> FastAPI:
    """Build the API over an already wired container (see ``settlement.bootstrap``).

    ``run_scheduler`` starts the 72-hour window's sweeps with the app (``shuxin serve``).
    """
    app = FastAPI(
        title="Shuxin settlement API",
        version="1.0.0",
        description=API_DESCRIPTION,
        openapi_url="/openapi.json",
    )
    app.state.container = container
    app.state.run_scheduler = run_scheduler
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(auth_routes.router)
    app.include_router(admin_hospitals.router)
    app.include_router(admin.router)
    app.include_router(his.router)
    app.include_router(agreements.router)
    app.include_router(patients.router)
    if container.settings.is_sandbox:
        app.include_router(sandbox.router)
    return app
