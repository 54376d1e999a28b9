"""The project itself: dependencies and the lock in step, the CLI, the README's examples."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
# conda-forge names that differ from PyPI's
CONDA_TO_PYPI = {"python-duckdb": "duckdb", "uvicorn-standard": "uvicorn"}


def _name(requirement: str) -> str:
    name = re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0]
    return CONDA_TO_PYPI.get(name.lower(), name.lower())


def test_environment_yml_names_the_same_dependencies_as_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pypi = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        pypi |= {_name(r) for r in extra}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str) and d != "pip"}
    for item in env["dependencies"]:
        if isinstance(item, dict):
            conda |= {_name(d) for d in item["pip"] if not d.startswith("-e")}
    assert conda - {"python"} == pypi


def test_mockpay_demo_walks_every_state_and_verifies_the_chain(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    out = subprocess.run(
        [sys.executable, "-m", "mockpay_core.cli", "demo", "--db", str(db)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    for status in ("pending", "flagged", "authorized", "success", "failed", "canceled",
                   "partially_refunded", "refunded", "disputed"):  # fmt: skip
        assert f"-> {status}" in out
    assert "Audit chain: verified" in out
    assert "replayed=True" in out and "idempotency_key_reused" in out
    again = subprocess.run(
        [sys.executable, "-m", "mockpay_core.cli", "demo"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert again == out  # seeded and simulated: the same bytes every time


def test_importing_the_engine_opens_nothing() -> None:
    code = (
        "import sys, mockpay_core, mockpay_core.engine;"
        "assert 'sqlite3' not in sys.modules, 'sqlite3 imported';"
        "assert 'httpx' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_domain_does_no_io() -> None:
    forbidden = re.compile(
        r"^\s*(import|from)\s+(sqlite3|psycopg|httpx|os|time|random|uuid)\b", re.M
    )
    for path in (ROOT / "mockpay_core" / "domain").glob("*.py"):
        assert not forbidden.search(path.read_text()), path.name


def test_bad_cli_flags_get_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mockpay_core.cli", "worker", "--db", str(tmp_path / "w.db"),
         "--timeout-s", "-3"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == "mockpay worker: timeout_s: Input should be greater than 0"


LOCK = ROOT / "requirements.lock"


def _locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of every pin in requirements.lock."""
    pins: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text()):
        found = re.match(r"([A-Za-z0-9._-]+)==(\S+)", block)
        if found:
            name = re.sub(r"[-_.]+", "-", found.group(1)).lower()
            pins[name] = (found.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return pins


def _conda_as_pypi(item: str) -> str:
    """``python-duckdb>=1.1  # note`` as PyPI's ``duckdb>=1.1``."""
    text = item.split("#")[0].strip()
    name = re.split(r"[<>=!~]", text, maxsplit=1)[0]
    return _name(name) + text[len(name) :]


def test_the_lock_pins_every_dependency_within_pyproject_and_environment_yml() -> None:
    pins = _locked()
    assert pins and all(hashes for _, hashes in pins.values()), "every pin needs its hashes"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += extra
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    for item in env["dependencies"]:
        if isinstance(item, dict):
            wanted += [d.split("#")[0] for d in item["pip"] if not d.startswith("-e")]
        elif item != "pip" and _name(item) != "python":
            wanted.append(_conda_as_pypi(item))
    for text in wanted:
        requirement = Requirement(text)
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{requirement.name} is not in requirements.lock: ./lab lock"
        version = pins[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.lock pins {name}=={version}, outside {text!r}: ./lab lock"
        )


def test_the_lock_says_how_to_refresh_it_and_lab_installs_from_it() -> None:
    assert "#    ./lab lock\n" in LOCK.read_text()
    lab = (ROOT / "lab").read_text()
    assert '--require-hashes -r "$LOCK"' in lab and "LOCK=requirements.lock" in lab
