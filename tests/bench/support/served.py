"""The apps the API benchmark serves in real uvicorn processes (``tests.e2e.server --app``).

- :func:`fees_app`: the API as ``shuxin serve`` builds it (``tests.e2e.server.build_app_from_env``);
- :func:`honest_app`: the **honest write**, what a plain FastAPI + SQLAlchemy service does with
  the same request: the same signed-request dependency as every HIS route
  (``api.auth.SignedHospitalDep``: headers, timestamp window, HMAC-SHA256 under the hospital's
  secret, and the nonce recorded first thing in the route's thread, in its own short transaction,
  as the HIS routes record it), the same body model (``api.schemas.his.FeeBatchCreate``, parsed
  by the same exact-JSON route class), then one ORM ``INSERT`` of the batch (its lines as JSON)
  and one commit, on the same engine and pool as the API, and a 201 echoing what was stored. No
  pricing, no credit line, no ledger, no idempotency record.

Both count their requests and SQL statements when ``BENCH_STATEMENTS_DIR`` is set
(:func:`tests.bench.support.statements.counting_app`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header
from sqlalchemy import JSON, BigInteger, DateTime, Engine, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from api.auth import SignedHospitalDep
from api.errors import install_error_handlers
from api.exact_json import ExactJsonRoute
from api.routes.his import MdtrtId
from api.schemas.his import FeeBatchCreate
from api.serving import settle_garbage_collector
from tests.bench.support.statements import counting_app
from tests.e2e.server import build_app_from_env, container_from_env

HONEST_PATH = "/honest/v1/visits/{mdtrt_id}/fees"


class HonestBase(DeclarativeBase):
    pass


class HonestFeeBatch(HonestBase):
    """One posted batch, as a plain service would keep it."""

    __tablename__ = "bench_honest_fee_batches"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    hospital_code: Mapped[str] = mapped_column(String(32))
    mdtrt_id: Mapped[str] = mapped_column(String(40))
    chrg_bchno: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(64))
    fees: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def create_honest_table(engine: Engine) -> None:
    HonestBase.metadata.create_all(engine)


def fees_app() -> Any:
    app = build_app_from_env()
    return counting_app(app, app.state.container.engine)


def honest_app() -> Any:
    container = container_from_env()
    app = build_honest_app(container)
    settle_garbage_collector()  # as `shuxin serve` does
    return counting_app(app, container.engine)


def build_honest_app(container: Any) -> FastAPI:
    """The honest write over ``container`` (its engine, settings and clock)."""
    # What a plain service keeps: sessions that do not reload what they just wrote.
    sessions = sessionmaker(container.engine, expire_on_commit=False)
    router = APIRouter(route_class=ExactJsonRoute)

    @router.post(HONEST_PATH, status_code=201)
    def honest_write(
        mdtrt_id: MdtrtId,
        body: FeeBatchCreate,
        signed: SignedHospitalDep,
        idempotency_key: Annotated[str, Header(alias="Idempotency-Key", max_length=64)],
    ) -> dict[str, Any]:
        hospital = signed.hospital()  # the nonce, recorded as every HIS route records it
        fees = body.model_dump(mode="json")["fees"]
        with sessions() as session:
            row = HonestFeeBatch(
                hospital_code=hospital.code,
                mdtrt_id=mdtrt_id,
                chrg_bchno=body.chrg_bchno,
                idempotency_key=idempotency_key,
                fees=fees,
                created_at=container.clock.now(),
            )
            session.add(row)
            session.commit()
        return {"id": row.id, "mdtrt_id": mdtrt_id, "chrg_bchno": body.chrg_bchno, "fees": fees}

    @router.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app = FastAPI(lifespan=_thread_limit(container.settings.api_threads))
    app.state.container = container
    install_error_handlers(app)
    app.include_router(router)
    return app


def _thread_limit(threads: int) -> Any:
    """The API's lifespan setting of the thread pool's size (``api.app.create_app``)."""
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from anyio import to_thread

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    return lifespan
