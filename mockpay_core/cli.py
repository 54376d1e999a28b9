"""The ``mockpay`` command: run, sweep, scenario, demo, states, worker, listen, serve."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

WORKERS_MAX = 64


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockpay", description="MockPay Lab")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="play scenario files and check their expectations")
    run.add_argument(
        "paths",
        nargs="*",
        default=["scenarios"],
        help="scenario files or folders (default scenarios/)",
    )
    run.add_argument("--out", default="runs", help="where each run's tables go (default runs/)")
    run.add_argument(
        "--memory", action="store_true", help="run the engine on :memory: instead of a file"
    )
    run.add_argument(
        "--db",
        help="play on PostgreSQL instead (postgresql://...; each scenario in schema"
        " run_<name>, or the URL's ?schema=, emptied first)",
    )
    run.add_argument(
        "--target", default="engine",
        help="engine (in process, the default) or a live server's URL, e.g. http://127.0.0.1:3000"
        " (started with --clock simulated)",
    )  # fmt: skip
    run.add_argument(
        "--admin-token", help="the admin token of the --target server (env MOCKPAY_ADMIN_TOKEN)"
    )
    _executor_flags(run)
    run.add_argument("--junit-xml", metavar="FILE", help="also write a JUnit XML report here")
    sweep = sub.add_parser(
        "sweep", help="play a scenario file's sweep: its grid of parameters times its seeds"
    )
    sweep.add_argument("path", help="a scenario file with a sweep: block")
    sweep.add_argument(
        "--out", default="runs", help="the dataset goes to OUT/<name>-sweep/ (default runs/)"
    )
    sweep.add_argument(
        "--runs-max", type=int, default=10_000,
        help="refuse a grid of more runs than this before anything runs (default 10,000)",
    )  # fmt: skip
    _executor_flags(sweep)
    scenario = sub.add_parser("scenario", help="scenario files: schema, validate")
    scenario_sub = scenario.add_subparsers(dest="scenario_command", required=True)
    scenario_sub.add_parser("schema", help="print the JSON Schema of a scenario file")
    validate = scenario_sub.add_parser("validate", help="check scenario files without running")
    validate.add_argument("paths", nargs="+", help="scenario files or folders")
    demo = sub.add_parser(
        "demo", help="walk payments through the state machine and print the audit trail"
    )
    demo.add_argument("--db", default=":memory:", help="SQLite database file (default: in memory)")
    demo.add_argument("--seed", type=int, default=7, help="seed for ids and secrets (default 7)")
    states = sub.add_parser("states", help="print the payment state machine's transition table")
    states.add_argument(
        "--format", choices=("markdown", "mermaid"), default="markdown", help="table or diagram"
    )
    worker = sub.add_parser(
        "worker", help="deliver webhooks from a database's outbox until stopped"
    )
    worker.add_argument(
        "--db",
        help="SQLite file or postgresql:// URL (default: env MOCKPAY_DATABASE_URL, else"
        " MOCKPAY_DB, else mockpay.db)",
    )
    worker.add_argument("--batch-size", type=int, default=50, help="events claimed per pass")
    worker.add_argument("--timeout-s", type=float, default=5.0, help="HTTP timeout per attempt")
    worker.add_argument(
        "--lease-margin-s", type=float, default=30.0, help="lease beyond batch x timeout"
    )
    worker.add_argument(
        "--addresses", choices=("local", "public", "off"), default="local",
        help="SSRF policy: local allows loopback (default), public forbids it, off allows all",
    )  # fmt: skip
    listen = sub.add_parser("listen", help="print incoming webhooks and check their signatures")
    listen.add_argument("--port", type=int, default=4000, help="port (default 4000)")
    listen.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    listen.add_argument("--secret", help="the tenant's whsec_ secret, to verify signatures")
    listen.add_argument("--status", type=int, default=200, help="status to answer (default 200)")
    listen.add_argument(
        "--stripe", action="store_true",
        help="check Stripe-Signature (a /v1 WebhookEndpoint's deliveries) instead",
    )  # fmt: skip
    serve = sub.add_parser("serve", help="the REST server (MockPay's API) with uvicorn")
    serve.add_argument(
        "--db",
        help="SQLite file or postgresql:// URL (default mockpay.db;"
        " env MOCKPAY_DATABASE_URL or MOCKPAY_DB)",
    )
    serve.add_argument("--host", help="address to bind (default 127.0.0.1; env MOCKPAY_HOST)")
    serve.add_argument("--port", type=int, help="port (default 3000; env MOCKPAY_PORT)")
    serve.add_argument(
        "--clock", choices=("system", "simulated"), help="system (default) or simulated"
    )
    serve.add_argument(
        "--workers", type=int, default=1, help="server processes on one database (default 1)"
    )
    serve.add_argument(
        "--durability", choices=("full", "normal", "off"),
        help="how long a COMMIT waits for the disk (default: SQLite normal, PostgreSQL full;"
        " env MOCKPAY_DURABILITY)",
    )  # fmt: skip
    return parser


def _serve(args: argparse.Namespace) -> int:
    import os
    import secrets
    from typing import Any

    import uvicorn

    from mockpay_core.storage.open import open_store, shown
    from server import create_app, logs, workers
    from server.settings import Settings

    flags = {k: getattr(args, k) for k in ("db", "host", "port", "clock", "durability")}
    if not 1 <= args.workers <= WORKERS_MAX:
        print(f"mockpay serve: --workers is 1 to {WORKERS_MAX}", file=sys.stderr)
        return 2
    settings = Settings(workers=args.workers, **{k: v for k, v in flags.items() if v is not None})
    if args.workers > 1 and (settings.clock == "simulated" or settings.db == ":memory:"):
        print("mockpay serve: several workers need --clock system and a database file or URL",
              file=sys.stderr)  # fmt: skip
        return 2
    token = settings.admin_token or secrets.token_urlsafe(24)
    app = None
    if args.workers == 1:
        app = create_app(settings.model_copy(update={"admin_token": token}))
    else:  # a database that cannot be opened: one line here, not a traceback per worker
        open_store(settings.db).close()
    if settings.admin_token is None:
        print(f"admin token (set MOCKPAY_ADMIN_TOKEN to choose one): {token}")
    print(f"MockPay Lab on http://{settings.host}:{settings.port} ({shown(settings.db)},"
          f" {args.workers} worker{'s' if args.workers > 1 else ''})", flush=True)  # fmt: skip
    logs.configure()
    options: dict[str, Any] = {"host": settings.host, "port": settings.port,
                               "log_level": "warning", "access_log": False}  # fmt: skip
    if app is not None:
        uvicorn.run(app, **options)
        return 0
    # Each worker process builds its app from the environment: hand the settings down.
    os.environ.update({f"MOCKPAY_{k.upper()}": str(v) for k, v in
                       settings.model_dump(exclude_none=True).items()})  # fmt: skip
    os.environ["MOCKPAY_DATABASE_URL"] = settings.db  # it wins over MOCKPAY_DB
    os.environ["MOCKPAY_ADMIN_TOKEN"] = token
    if workers.supported():  # a socket per process: connections spread evenly
        return workers.serve(settings.host, settings.port, args.workers, options)
    uvicorn.run("server.app:from_environment", factory=True, workers=args.workers, **options)
    return 0


def _worker(args: argparse.Namespace) -> int:
    import os
    import signal

    from mockpay_core.clock import SystemClock
    from mockpay_core.config import DeliveryConfig
    from mockpay_core.delivery import Dispatcher
    from mockpay_core.domain.addresses import AddressPolicy
    from mockpay_core.ids import SystemIds
    from mockpay_core.storage.open import open_store, shown

    config = DeliveryConfig(
        batch_size=args.batch_size,
        timeout_s=args.timeout_s,
        lease_margin_s=args.lease_margin_s,
        address_policy=AddressPolicy(mode=args.addresses),
    )
    db = args.db or os.environ.get("MOCKPAY_DATABASE_URL") or os.environ.get("MOCKPAY_DB")
    db = db or "mockpay.db"
    store = open_store(db)
    dispatcher = Dispatcher(store, SystemClock(), SystemIds(), config=config)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: dispatcher.stop())
    print(f"mockpay worker {dispatcher.owner} delivering from {shown(db)}", flush=True)
    try:
        dispatcher.serve()
    finally:
        dispatcher.close()
        store.close()
    return 0


def _executor_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-j", "--jobs", type=int,
        help="play on this many local processes (default: the CPU count; 1: in this process)",
    )  # fmt: skip
    parser.add_argument(
        "--cluster", metavar="tcp://HOST:8786",
        help="play on the Dask distributed scheduler here instead (env MOCKPAY_DASK_SCHEDULER)",
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    import pydantic

    from mockpay_core.errors import StorageUnavailable

    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except StorageUnavailable as exc:  # which database, and why, in one line
        print(f"mockpay {args.command}: {exc}", file=sys.stderr)
        return 1
    except pydantic.ValidationError as exc:  # a flag out of range: say which, no traceback
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            print(f"mockpay {args.command}: {where}: {error['msg']}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `mockpay states | head`
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from mockpay_core.demo import run_demo

        return run_demo(args.db, args.seed)
    if args.command in ("run", "scenario", "sweep"):
        from mockpay_core.scenarios import cli as scenario_cli

        return scenario_cli.main(args)
    if args.command == "worker":
        return _worker(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "listen":
        from mockpay_core.listen import listen

        listen(args.host, args.port, args.secret, args.status, stripe=args.stripe)
        return 0
    if args.command == "states":
        from mockpay_core import docs

        markdown = args.format == "markdown"
        print(docs.transition_table_markdown() if markdown else docs.transition_diagram_mermaid())
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
