"""``mockpay run``, ``mockpay scenario schema`` and ``mockpay scenario validate``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from mockpay_core.scenarios import loader, report
from mockpay_core.scenarios.run import RunResult, run_scenario
from mockpay_core.scenarios.runner import ScenarioError


def _load_all(paths: list[str]) -> tuple[list[loader.Scenario], list[str]]:
    scenarios, problems = [], []
    for target in paths:
        files = loader.discover(target)
        if not files:
            problems.append(f"{target}: no scenario files (*.yaml) here")
        for path in files:
            try:
                scenarios.append(loader.load(path))
            except loader.ScenarioFileError as exc:
                problems.append(str(exc))
    return scenarios, problems


def _target(args: argparse.Namespace) -> Callable[[loader.Scenario], RunResult] | None:
    """How to play a scenario: on the engine in process, or on the server at ``--target``."""
    out, progress = Path(args.out), report.progress_bar()
    if args.target == "engine":
        return lambda s: run_scenario(s, out, memory=args.memory, db=args.db, progress=progress)
    if not args.target.startswith(("http://", "https://")):
        print(f"--target: `engine` or a server's URL (http://...), not {args.target!r}",
              file=sys.stderr)  # fmt: skip
        return None
    token = args.admin_token or os.environ.get("MOCKPAY_ADMIN_TOKEN")
    if not token:
        print("--target URL needs the server's admin token: --admin-token or"
              " MOCKPAY_ADMIN_TOKEN", file=sys.stderr)  # fmt: skip
        return None
    from mockpay_core.scenarios.remote import RemoteUnavailable
    from mockpay_core.scenarios.remote_run import run_remote

    def remote(s: loader.Scenario) -> RunResult:
        try:
            return run_remote(s, out, args.target, token, progress=progress)
        except RemoteUnavailable as exc:
            raise ScenarioError(f"the server at {args.target} failed: {exc}") from None

    return remote


def main(args: argparse.Namespace) -> int:
    if args.command == "scenario" and args.scenario_command == "schema":
        print(loader.schema())
        return 0
    scenarios, problems = _load_all(args.paths)
    for problem in problems:
        print(problem, file=sys.stderr)
    if args.command == "scenario":
        for s in scenarios:
            print(f"ok: {s.name}")
        return 1 if problems else 0
    play = _target(args)
    if play is None:
        return 2
    failed = len(problems)
    for scenario in scenarios:
        try:
            result = play(scenario)
        except ScenarioError as exc:
            print(f"{scenario.name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(report.summary(result), flush=True)
        failed += not result.ok
    print(f"\n{len(scenarios) - failed + len(problems)} passed, {failed} failed")
    return 1 if failed else 0
