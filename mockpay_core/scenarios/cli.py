"""``mockpay run``, ``mockpay scenario schema`` and ``mockpay scenario validate``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mockpay_core.scenarios import loader, report
from mockpay_core.scenarios.run import run_scenario
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
    if args.target != "engine":
        print("--target: only the in-process engine for now; a server target comes with"
              " `mockpay serve`", file=sys.stderr)  # fmt: skip
        return 2
    failed = len(problems)
    for scenario in scenarios:
        try:
            result = run_scenario(
                scenario,
                Path(args.out),
                memory=args.memory,
                db=args.db,
                progress=report.progress_bar(),
            )
        except ScenarioError as exc:
            print(f"{scenario.name}: {exc}", file=sys.stderr)
            failed += 1
            continue
        print(report.summary(result), flush=True)
        failed += not result.ok
    print(f"\n{len(scenarios) - failed + len(problems)} passed, {failed} failed")
    return 1 if failed else 0
