"""Reading scenario files: YAML into ``Scenario``, one clear message per problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pydantic
import yaml
from pydantic_core import ErrorDetails

from mockpay_core.scenarios.model import Scenario

__all__ = ["Scenario", "ScenarioFileError", "discover", "load", "schema"]

SUFFIXES = (".yaml", ".yml")
FILE_BYTES_MAX = 5 * 1024 * 1024


class ScenarioFileError(ValueError):
    """A scenario file that cannot be used; ``problems`` has one line per problem."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path, self.problems = path, problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems))


def load(path: str | Path) -> Scenario:
    path = Path(path)
    return validate(path, read(path))


def read(path: Path) -> dict[str, Any]:
    """The file's YAML as data, not yet checked against the format."""
    try:
        if path.stat().st_size > FILE_BYTES_MAX:
            raise ScenarioFileError(path, [f"larger than {FILE_BYTES_MAX} bytes"])
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioFileError(path, [exc.strerror or str(exc)]) from None
    except UnicodeDecodeError:
        raise ScenarioFileError(path, ["not UTF-8 text"]) from None
    except yaml.YAMLError as exc:
        raise ScenarioFileError(path, [f"not valid YAML: {exc}".replace("\n", " ")]) from None
    if not isinstance(data, dict):
        raise ScenarioFileError(path, ["expected a mapping (name:, tenants:, ...) at the top"])
    return data


def validate(path: Path, data: dict[str, Any]) -> Scenario:
    try:
        return Scenario.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ScenarioFileError(path, [_problem(e) for e in exc.errors()]) from None


def _problem(error: ErrorDetails) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown field (a typo?)"
    given = error.get("input")
    shown = ""
    if not isinstance(given, dict | list) and given is not None:
        shown = f" (got {json.dumps(given, default=str)})"
    return f"{where}: {message}{shown}"


def discover(target: str | Path) -> list[Path]:
    """The scenario files at ``target``: the file itself, or a folder's (not its sub-folders')."""
    target = Path(target)
    if target.is_dir():
        return sorted(p for p in target.iterdir() if p.suffix in SUFFIXES and p.is_file())
    return [target]


def schema() -> str:
    return json.dumps(Scenario.model_json_schema(), indent=2)
