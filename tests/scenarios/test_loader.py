"""Bad scenario files get one clear message per problem: file, field path, what was expected."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mockpay_core.scenarios.loader import ScenarioFileError, discover, load, schema

GOOD = """
name: tiny
tenants: [{name: acme}]
steps: [{do: create, tenant: acme, key: k1, amount: 10}]
expectations:
  - {name: one payment, sql: "SELECT count(*) FROM payments", value: 1}
"""


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ScenarioFileError) as info:
        load(path)
    assert all(line.startswith(f"{path}: ") for line in str(info.value).splitlines())
    return info.value.problems


def test_a_good_file_loads(tmp_path: Path) -> None:
    assert load(write(tmp_path, GOOD)).name == "tiny"


def test_every_problem_is_named_with_its_path(tmp_path: Path) -> None:
    text = (
        GOOD.replace("tenants:", "tenantz: [{name: x}]\ntenants:").replace(
            "amount: 10", "amount: -1, colour: red"
        )
        + "seed: many\n"
        + "phases: [{name: p, tenant: acme, arrival: {rate_per_s: 0}, duration: 2 weeks}]\n"
    )
    found = problems(write(tmp_path, text))
    joined = "\n".join(found)
    assert "tenantz: unknown field (a typo?)" in joined
    assert "steps.0.amount: Input should be greater than 0 (got -1)" in joined
    assert "steps.0.colour: unknown field (a typo?)" in joined
    assert "seed: Input should be a valid integer" in joined
    assert "phases.0.arrival.rate_per_s: Input should be greater than 0" in joined
    assert "phases.0.duration: '2 weeks' is not a duration" in joined
    assert len(found) == 6


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("name: [unclosed", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        ("", "expected a mapping"),
        ("name: x\n", "tenants: Field required"),
        ("name: Bad Name!\ntenants: [{name: a}]\n", "name: String should match pattern"),
        (
            "name: x\ntenants: [{name: a, receiver: nope}]\n",
            "receiver 'nope', which is not defined",
        ),
        (
            "name: x\ntenants: [{name: a}]\nsteps: [{do: create, tenant: b}]\n",
            "'b' is not one of the tenants",
        ),
        (
            "name: x\ntenants: [{name: a}]\nphases: [{name: p, tenant: a}]\n",
            "either an arrival process or a burst",
        ),
    ],
)
def test_bad_files(tmp_path: Path, text: str, says: str) -> None:
    assert any(says in p for p in problems(write(tmp_path, text)))


def test_missing_and_binary_files(tmp_path: Path) -> None:
    assert problems(tmp_path / "absent.yaml") == ["No such file or directory"]
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    assert problems(binary) == ["not UTF-8 text"]


def test_discover_and_schema(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "b.yaml")
    write(tmp_path, GOOD, "a.yml")
    write(tmp_path, "x", "notes.txt")
    assert [p.name for p in discover(tmp_path)] == ["a.yml", "b.yaml"]
    assert "properties" in json.loads(schema())


def _mockpay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mockpay_core.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli(tmp_path: Path) -> None:
    good = write(tmp_path, GOOD)
    assert _mockpay("scenario", "validate", str(good)).stdout == "ok: tiny\n"
    bad = write(tmp_path, "name: x\n", "bad.yaml")
    done = _mockpay("scenario", "validate", str(bad))
    assert done.returncode == 1 and f"{bad}: tenants: Field required" in done.stderr
    assert json.loads(_mockpay("scenario", "schema").stdout)["title"] == "Scenario"
    ran = _mockpay("run", str(good), "--out", str(tmp_path / "runs"))
    assert ran.returncode == 0 and "PASS one payment" in ran.stdout
    assert ran.stdout.rstrip().endswith("1 passed, 0 failed")
    failing = write(tmp_path, GOOD.replace("value: 1", "value: 2"), "failing.yaml")
    ran = _mockpay("run", str(failing), "--out", str(tmp_path / "runs"))
    assert ran.returncode == 1
    assert "FAIL one payment" in ran.stdout and "expected: == 2" in ran.stdout
    assert "actual:   1" in ran.stdout and "query:    SELECT count(*) FROM payments" in ran.stdout
