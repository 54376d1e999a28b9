"""``mockpay run``, ``mockpay sweep``, ``mockpay scenario schema`` and ``... validate``."""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path

from mockpay_core.errors import StorageUnavailable
from mockpay_core.scenarios import junit, loader, report
from mockpay_core.scenarios.executor import Executor, InProcess, in_order, open_executor
from mockpay_core.scenarios.run import RunResult, RunTask, run_scenario, run_task
from mockpay_core.scenarios.runner import ScenarioError
from mockpay_core.storage.open import split_schema

DASK_ENV = "MOCKPAY_DASK_SCHEDULER"


def _load_all(paths: list[str]) -> tuple[list[loader.Scenario], list[Path], list[str]]:
    scenarios, files, problems = [], [], []
    for target in paths:
        found = loader.discover(target)
        if not found:
            problems.append(f"{target}: no scenario files (*.yaml) here")
        for path in found:
            try:
                scenarios.append(loader.load(path))
                files.append(path)
            except loader.ScenarioFileError as exc:
                problems.append(str(exc))
    return scenarios, files, problems


Remote = Callable[[loader.Scenario, report.RequestsProgress], RunResult]
Play = Callable[[loader.Scenario], RunResult]


def _remote(args: argparse.Namespace) -> Remote | None:
    """How to play a scenario on the server at ``--target``, one after another."""
    out = Path(args.out)
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

    def remote(s: loader.Scenario, progress: report.RequestsProgress) -> RunResult:
        try:
            return run_remote(s, out, args.target, token, progress=progress)
        except RemoteUnavailable as exc:
            raise ScenarioError(f"the server at {args.target} failed: {exc}") from None

    return remote


def _executor(args: argparse.Namespace) -> Executor | None:
    cluster = args.cluster or os.environ.get(DASK_ENV)
    try:
        return open_executor(args.jobs, cluster)
    except ValueError as exc:
        print(f"mockpay {args.command}: {exc}", file=sys.stderr)
        return None


def _play(args: argparse.Namespace, scenarios: list[loader.Scenario]) -> Generator[Played] | None:
    """Every scenario's result or error, in file order, from wherever they are played."""
    if args.target != "engine":
        remote = _remote(args)
        if remote is None:
            return None
        return _one_by_one(remote, scenarios)
    if args.db and split_schema(args.db)[1] and len(scenarios) > 1 and args.jobs != 1:
        print("mockpay run: --db with ?schema= plays every scenario in that one schema:"
              " add -j 1", file=sys.stderr)  # fmt: skip
        return None
    executor = _executor(args)
    if executor is None:
        return None
    tasks = [RunTask(s, args.out, args.memory, args.db) for s in scenarios]
    return _batch(executor, tasks)


def _one_by_one(remote: Remote, scenarios: list[loader.Scenario]) -> Generator[Played]:
    with report.Progress() as progress:
        for s in scenarios:
            yield _guard(_with_bar(remote, progress.requests(s.name)), s)


def _with_bar(remote: Remote, bar: report.RequestsProgress) -> Play:
    return lambda scenario: remote(scenario, bar)


def _batch(executor: Executor, tasks: list[RunTask]) -> Generator[Played]:
    with report.Progress() as progress:
        if isinstance(executor, InProcess):  # a bar per long run, here where it plays
            for task in tasks:
                play = functools.partial(
                    run_scenario, out_dir=Path(task.out_dir), memory=task.memory, db=task.db,
                    progress=progress.requests(task.scenario.name),
                )  # fmt: skip
                yield _guard(play, task.scenario)
            return
        finished = progress.runs(
            f"{len(tasks)} scenarios on {executor.workers} workers", len(tasks)
        )
        try:
            for done in in_order(executor.submit(run_task, tasks)):
                finished()
                yield Played(tasks[done.index].scenario, done.value, done.error, done.error_type)
        finally:
            executor.close()


@dataclass(frozen=True)
class Played:
    scenario: loader.Scenario
    result: RunResult | None
    error: str | None = None
    error_type: str | None = None


def _guard(play: Callable[[loader.Scenario], RunResult], scenario: loader.Scenario) -> Played:
    try:
        return Played(scenario, play(scenario))
    except ScenarioError as exc:
        return Played(scenario, None, str(exc), type(exc).__name__)


def main(args: argparse.Namespace) -> int:
    if args.command == "scenario" and args.scenario_command == "schema":
        print(loader.schema())
        return 0
    if args.command == "sweep":
        from mockpay_core.scenarios import sweep_cli

        return sweep_cli.main(args, _executor)
    scenarios, files, problems = _load_all(args.paths)
    for problem in problems:
        print(problem, file=sys.stderr)
    if args.command == "scenario":
        for s in scenarios:
            print(f"ok: {s.name}")
        return 1 if problems else 0
    played = _play(args, scenarios)
    if played is None:
        return 2
    results: list[Played] = []
    with contextlib.closing(played):  # an early return stops the workers too
        for p in played:
            if p.error_type == StorageUnavailable.__name__:  # which database and why, one line
                print(f"mockpay run: {p.error}", file=sys.stderr)
                return 1
            if p.result is None:
                print(f"{p.scenario.name}: {p.error}", file=sys.stderr)
            else:
                print(report.summary(p.result), flush=True)
            results.append(p)
    failed = len(problems) + sum(p.result is None or not p.result.ok for p in results)
    print(f"\n{len(scenarios) - failed + len(problems)} passed, {failed} failed")
    if args.junit_xml:
        junit.write(Path(args.junit_xml), list(zip(files, results, strict=True)), problems)
    return 1 if failed else 0
