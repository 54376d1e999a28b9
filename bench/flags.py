"""The flags of bench/serve.py, for both modes (SQLite; ``--db postgres``)."""

import argparse


def counts(text: str) -> list[int]:
    """A comma-separated list of counts ("8,64"), sorted, each once."""
    return sorted({int(c) for c in text.split(",") if c})


def parse_args(description: str) -> argparse.Namespace:
    """bench/serve.py's flags, checked (``parser.error`` on a value out of range)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--duration", type=int, default=20, help="seconds per figure")
    parser.add_argument(
        "--connections",
        type=counts,
        default=[8, 64],
        help="comma-separated connection counts (default 8,64)",
    )
    parser.add_argument(
        "--workers", type=int, default=0,
        help="then also `mockpay serve --workers N`: creates and lists (default 0: not run)",
    )  # fmt: skip
    parser.add_argument(
        "--profile", action="store_true",
        help="also py-spy one create run (--db postgres: one on each database, one process)",
    )  # fmt: skip
    parser.add_argument(
        "--rounds", type=int,
        help="then bare and ours creates alternated this many times at the fewest"
        " connections (ours: the --workers server if any), and their median ratio (default 1;"
        " with --db postgres: every figure, default 3)",
    )  # fmt: skip
    parser.add_argument(
        "--db", choices=("sqlite", "postgres"), default="sqlite",
        help="postgres: creates on PostgreSQL by server and tenant count, next to bare and"
        " SQLite in the same run, and the targets of issue 15",
    )  # fmt: skip
    for flag, default, what in (
        ("--servers", [1, 2, 4], "server process counts"),
        ("--tenants", [1, 20], "tenant counts, each request from a random one"),
    ):
        shown = ",".join(map(str, default))
        parser.add_argument(
            flag, type=counts, default=default, help=f"with --db postgres: {what} (default {shown})"
        )
    parser.add_argument(
        "--durability", type=lambda text: [d for d in text.split(",") if d], default=["full"],
        help="with --db postgres: the servers' --durability, comma-separated, each measured"
        " (default full; issue 15's targets are judged on full)",
    )  # fmt: skip
    parser.add_argument(
        "--postgres-url",
        help="with --db postgres (default: env MOCKPAY_TEST_POSTGRES_URL, else"
        " postgresql://postgres@127.0.0.1:5432/test); its schema bench_serve is dropped",
    )
    args = parser.parse_args()
    if args.rounds is None:
        args.rounds = 3 if args.db == "postgres" else 1
    ok = 1 <= args.duration <= 600 and args.connections and args.workers in (0, *range(2, 17))
    ok = ok and 1 <= args.rounds <= 20 and bool(args.servers) and bool(args.tenants)
    ok = ok and all(1 <= n <= 16 for n in args.servers) and all(1 <= n <= 100 for n in args.tenants)
    ok = ok and bool(args.durability) and set(args.durability) <= {"full", "normal"}
    if not (ok and all(1 <= c <= 1024 for c in args.connections)):
        parser.error(
            "--duration is 1..600, --connections 1..1024 each, --workers 0 or 2..16,"
            " --rounds 1..20, --servers 1..16 each, --tenants 1..100 each,"
            " --durability full and/or normal"
        )
    return args
