"""The ``mockpay`` command. Later issues add ``serve``, ``worker`` and ``listen``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockpay", description="MockPay Lab")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run", help="walk payments through the state machine and print the audit trail"
    )
    run.add_argument("--db", default=":memory:", help="SQLite database file (default: in memory)")
    run.add_argument("--seed", type=int, default=7, help="seed for ids and secrets (default 7)")
    states = sub.add_parser("states", help="print the payment state machine's transition table")
    states.add_argument(
        "--format", choices=("markdown", "mermaid"), default="markdown", help="table or diagram"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "run":
        from mockpay_core.demo import run_demo

        return run_demo(args.db, args.seed)
    if args.command == "states":
        from mockpay_core import docs

        markdown = args.format == "markdown"
        print(docs.transition_table_markdown() if markdown else docs.transition_diagram_mermaid())
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
