"""The ``shuxin`` command: serve, scheduler, migrate, seed, ledger verify, split, credit explain."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from typing import TYPE_CHECKING

from settlement.config import SettingsError, load_settings

if TYPE_CHECKING:
    from settlement.bootstrap import Container


def _container() -> Container:
    from settlement.bootstrap import bootstrap

    settings = load_settings()
    settings.check_can_start()
    return bootstrap(settings)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn
    from settlement.seeding import seed_demo_if_empty

    from api.app import create_app
    from settlement.migrate import upgrade

    container = _container()
    upgrade(container.engine)
    if container.settings.is_sandbox:
        for line in seed_demo_if_empty(container):
            print(line)
    app = create_app(container, run_scheduler=not args.no_scheduler)
    print(
        f"Shuxin ({container.settings.mode}) on {container.engine.url.render_as_string()}\n"
        f"  API      http://{args.host}:{args.port}/docs\n"
        f"  patients http://{args.host}:{args.port}/app/",
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def cmd_scheduler(_: argparse.Namespace) -> int:
    from settlement.scheduler import run_scheduler_forever

    container = _container()
    run_scheduler_forever(container)
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    from settlement.migrate import upgrade

    container = _container()
    upgrade(container.engine)
    print("database is at the newest schema")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from settlement.seeding import seed_all

    from settlement.migrate import upgrade

    container = _container()
    upgrade(container.engine)
    for line in seed_all(container, demo=args.demo or container.settings.is_sandbox):
        print(line)
    return 0


def cmd_ledger_verify(_: argparse.Namespace) -> int:
    from settlement.ledger.verify import verify_ledger

    container = _container()
    with container.uow() as uow:
        report = verify_ledger(uow.session)
    print(report.render())
    return 0 if report.ok else 1


def cmd_split(args: argparse.Namespace) -> int:
    from insurance.whatif import main as whatif

    return whatif(args.rest)


def cmd_credit_explain(args: argparse.Namespace) -> int:
    from settlement.credit_service.service import explain

    container = _container()
    with container.uow() as uow:
        print(explain(uow.session, args.psn_no))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shuxin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API and the scheduler")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-scheduler", action="store_true", help="API only")
    serve.set_defaults(handler=cmd_serve)

    commands.add_parser("scheduler", help="run the scheduler alone").set_defaults(
        handler=cmd_scheduler
    )
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

    split = commands.add_parser("split", help="what-if split of a bill file", add_help=False)
    split.add_argument("rest", nargs=argparse.REMAINDER)
    split.set_defaults(handler=cmd_split)

    credit = commands.add_parser("credit", help="credit tools")
    credit_commands = credit.add_subparsers(dest="credit_command", required=True)
    explain = credit_commands.add_parser("explain", help="why a patient has their line")
    explain.add_argument("psn_no")
    explain.set_defaults(handler=cmd_credit_explain)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    try:
        result: int = args.handler(args)
    except SettingsError as error:
        print(f"shuxin: cannot start: {error}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
