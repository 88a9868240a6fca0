"""The ``shuxin`` command: serve, scheduler, migrate, seed, ledger verify, split, his, hospital
secret, credit explain."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from api.logs import configure_logging_from_environment
from api.progress import progress_bars
from settlement.foundation.config import SettingsError, load_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from settlement.bootstrap import Container


def _container() -> Container:
    from settlement.bootstrap import bootstrap

    settings = load_settings()
    settings.check_can_start()
    return bootstrap(settings)


#: The uvicorn settings of ``shuxin serve`` (``tests/e2e/server.py`` serves with the same).
#: No logging configuration of uvicorn's own: its lines go through ours (``api.logs``).
UVICORN_OPTIONS: dict[str, Any] = {
    "log_level": "info",
    "log_config": None,
    "http": "api.serving:NoDelayHTTPProtocol",
}


def build_worker_app() -> FastAPI:
    """The app of one ``shuxin serve --workers N`` worker process (a uvicorn factory).

    Each worker builds its own container from the environment; the parent has already migrated
    the database, and runs the scheduler itself, so a worker serves requests only.
    """
    from api.app import create_app
    from api.serving import settle_garbage_collector

    app = create_app(_container(), run_scheduler=False)
    settle_garbage_collector()
    return app


#: Measured with ``tests.bench api`` (fee batches, 8 clients): p99 0.8 s with two processes on
#: one SQLite file, 0.15 s with one, and a lower rate too.
SQLITE_WORKERS_WARNING = (
    "warning: SQLite takes one writer at a time, and a second process's writes wait on its file "
    "lock, so several workers are slower than one here; use one worker on SQLite, or PostgreSQL"
)


def cmd_serve(args: argparse.Namespace) -> int:
    if args.workers <= 1:
        return _serve(args)
    from api.metrics_files import prepare_metrics_directory

    # Before anything imports prometheus_client: the workers' metrics are kept in files there.
    metrics = prepare_metrics_directory(load_settings().metrics_dir)
    try:
        return _serve(args)
    finally:
        metrics.close()


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from api.metrics_files import mark_worker_dead
    from api.serving import settle_garbage_collector
    from api.workers import Workers
    from settlement.migrate import upgrade
    from settlement.seeding import seed_on_start

    container = _container()
    if args.workers > 1 and container.settings.is_sandbox:
        # Still refused, as tests/e2e/test_serve_workers.py expects, although the sandbox clock is
        # now one row of the database that every process reads (settlement.foundation.
        # sandbox_clock): allowing it is a decision for whoever retires that test.
        raise SettingsError("--workers above 1 needs SHUXIN_MODE=production in this release")
    if args.workers > 1 and container.engine.dialect.name == "sqlite":
        print(SQLITE_WORKERS_WARNING, file=sys.stderr, flush=True)
    upgrade(container.engine)
    for line in seed_on_start(container):
        print(line)
    print(
        f"Shuxin ({container.settings.mode}) on {container.engine.url.render_as_string()}\n"
        f"  API      http://{args.host}:{args.port}/docs\n"
        f"  patients http://{args.host}:{args.port}/app/",
        flush=True,
    )
    if args.workers <= 1:
        app = create_app(container, run_scheduler=not args.no_scheduler)
        settle_garbage_collector()
        uvicorn.run(app, host=args.host, port=args.port, **UVICORN_OPTIONS)
        return 0
    # Several worker processes: uvicorn imports the app factory in each. The scheduler runs once,
    # here in the supervising process (it is leader-elected, so a separate `shuxin scheduler`
    # next to it would be harmless too, only idle).
    scheduler = None
    if not args.no_scheduler:
        from settlement.scheduler import Scheduler

        scheduler = Scheduler(container)
        scheduler.start()
    container.engine.dispose()  # the workers open their own connections
    try:
        # Each worker accepts on a socket of its own (api.workers): connections spread evenly.
        return Workers(
            {"app": "api.cli:build_worker_app", "factory": True, **UVICORN_OPTIONS},
            host=args.host,
            port=args.port,
            count=args.workers,
            on_exit=mark_worker_dead,
        ).run()
    finally:
        if scheduler is not None:
            scheduler.stop()


def cmd_scheduler(args: argparse.Namespace) -> int:
    from settlement.scheduler import run_scheduler_forever

    container = _container()
    if args.metrics_port is not None:
        # A scheduler apart from the API has no /metrics of its own: its sweeps are served on
        # a port of their own, for a scraper on the same host or network only.
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, addr=args.metrics_host)
    from api.serving import settle_garbage_collector

    # As `shuxin serve` does: a sweep builds thousands of rows' objects per batch, and without
    # it each collection of the oldest generation walks every object start-up built.
    settle_garbage_collector()
    run_scheduler_forever(container)
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    from settlement.migrate import upgrade

    container = _container()
    upgrade(container.engine)
    print("database is at the newest schema")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from settlement.migrate import upgrade
    from settlement.seeding import seed_all

    container = _container()
    upgrade(container.engine)
    with progress_bars() as progress:
        lines = seed_all(
            container, demo=args.demo or container.settings.is_sandbox, progress=progress
        )
    for line in lines:
        print(line)
    return 0


def cmd_ledger_verify(_: argparse.Namespace) -> int:
    from settlement.ledger.verify import verify_ledger

    container = _container()
    with container.uow() as uow, progress_bars() as progress:
        report = verify_ledger(uow.session, progress=progress)
    print(report.render())
    return 0 if report.ok else 1


def cmd_hospital_secret(args: argparse.Namespace) -> int:
    from settlement.access.hospitals import get_hospital, hospital_secret

    container = _container()
    with container.uow() as uow:
        hospital = get_hospital(uow.session, args.code)
        if hospital is None:
            print(f"shuxin: no hospital {args.code}", file=sys.stderr)
            return 1
        print(hospital_secret(hospital, container.settings.secret_key))
    return 0


def cmd_credit_explain(args: argparse.Namespace) -> int:
    from credit.decision import RepaymentHistory
    from settlement.usecases.credit.decisions import current_decision, explain, preview_decision

    container = _container()
    with container.uow() as uow:
        preview = None
        if current_decision(uow.session, args.psn_no) is None:
            # Not signed yet: explain the decision signing now would give.
            preview = preview_decision(
                config=container.credit_config,
                clock=container.clock,
                insurance=container.insurance_platform(uow.session),
                credit=container.credit_platform(uow.session),
                psn_no=args.psn_no,
                history=RepaymentHistory(),
            )
        print(explain(uow.session, args.psn_no, preview=preview))
    return 0


#: Where ``shuxin his`` sends its requests unless ``--url`` says otherwise.
HIS_URL_ENV = "SHUXIN_URL"
DEFAULT_HIS_URL = "http://127.0.0.1:8000"
#: ``shuxin his`` exits with this when nobody answers at the address.
UNREACHABLE = 3


def cmd_his(args: argparse.Namespace) -> int:
    import logging
    import time
    import uuid

    import httpx

    from settlement.access.signing import new_nonce, sign_request

    base_url = args.url or os.environ.get(HIS_URL_ENV) or DEFAULT_HIS_URL
    method = args.method.upper()
    body = args.data.encode() if args.data else b""
    headers = sign_request(
        args.secret,
        method,
        args.path,
        body,
        int(time.time()),
        new_nonce(),
        hospital_code=args.hospital,
    )
    headers["Content-Type"] = "application/json"
    if method in ("POST", "DELETE"):
        headers["Idempotency-Key"] = args.idempotency_key or uuid.uuid4().hex
    url = base_url.rstrip("/") + args.path
    if args.curl:
        print(_curl_command(method, url, headers, args.data))
        return 0
    # Only the answer is printed: the HTTP client's own INFO lines ("HTTP Request: ...") are not.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        response = httpx.request(method, url, content=body, headers=headers)
    except httpx.TransportError as error:
        print(
            f"shuxin his: no answer from {base_url} ({type(error).__name__}); is the service "
            f"running? Set the address with --url or {HIS_URL_ENV}",
            file=sys.stderr,
        )
        return UNREACHABLE
    print(response.text)
    if not response.is_success:
        print(f"shuxin his: HTTP {response.status_code}", file=sys.stderr)
        return 1
    return 0


def _curl_command(method: str, url: str, headers: dict[str, str], data: str) -> str:
    import shlex

    parts = ["curl", "-sS", "-X", method, shlex.quote(url)]
    for name, value in headers.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if data:
        parts += ["--data-binary", shlex.quote(data)]
    return " ".join(parts)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shuxin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API and the scheduler")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-scheduler", action="store_true", help="API only")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="API worker processes (production mode); the scheduler still runs once, in the "
        "supervising process",
    )
    serve.set_defaults(handler=cmd_serve)

    scheduler = commands.add_parser("scheduler", help="run the scheduler alone")
    scheduler.add_argument(
        "--metrics-port", type=int, default=None, help="serve its metrics on this port"
    )
    scheduler.add_argument("--metrics-host", default="127.0.0.1")
    scheduler.set_defaults(handler=cmd_scheduler)
    commands.add_parser("migrate", help="upgrade the database schema").set_defaults(
        handler=cmd_migrate
    )
    seed = commands.add_parser("seed", help="load seeds/ into the database (idempotent)")
    seed.add_argument("--demo", action="store_true", help="also load the demo hospitals/persons")
    seed.set_defaults(handler=cmd_seed)

    ledger = commands.add_parser("ledger", help="ledger tools")
    ledger_commands = ledger.add_subparsers(dest="ledger_command", required=True)
    ledger_commands.add_parser("verify", help="recompute every balance").set_defaults(
        handler=cmd_ledger_verify
    )

    commands.add_parser(
        "split", help="what-if split of a bill: shuxin split --bill FILE.json [--policy F] [--json]"
    )

    his = commands.add_parser("his", help="send (or print as curl) one signed HIS request")
    his.add_argument("method", help="GET, POST or DELETE")
    his.add_argument("path", help="path with query, e.g. /his/v1/visits")
    his.add_argument("--data", default="", help="the JSON body")
    his.add_argument("--hospital", required=True, help="the hospital code")
    his.add_argument("--secret", required=True, help="the hospital's signing secret")
    his.add_argument(
        "--url",
        default=None,
        help=f"the service's address (default: ${HIS_URL_ENV}, else {DEFAULT_HIS_URL})",
    )
    his.add_argument("--idempotency-key", default=None)
    his.add_argument("--curl", action="store_true", help="print a curl command instead")
    his.set_defaults(handler=cmd_his)

    hospital = commands.add_parser("hospital", help="hospital tools")
    hospital_commands = hospital.add_subparsers(dest="hospital_command", required=True)
    secret = hospital_commands.add_parser(
        "secret", help="print a hospital's current signing secret (to rotate it: the admin call)"
    )
    secret.add_argument("code", help="the hospital code, e.g. H371402001")
    secret.set_defaults(handler=cmd_hospital_secret)

    credit = commands.add_parser("credit", help="credit tools")
    credit_commands = credit.add_subparsers(dest="credit_command", required=True)
    explain = credit_commands.add_parser("explain", help="why a patient has their line")
    explain.add_argument("psn_no")
    explain.set_defaults(handler=cmd_credit_explain)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging_from_environment()
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["split"]:
        # The what-if command parses its own options (argparse's REMAINDER drops leading --flags).
        from insurance.whatif import main as whatif

        return whatif(arguments[1:])
    args = build_parser().parse_args(arguments)
    try:
        result: int = args.handler(args)
    except SettingsError as error:
        print(f"shuxin: cannot start: {error}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
