"""The pytest plugin and ``mockpay run --junit-xml``, run as a user would: real pytest and
real ``mockpay`` processes on a folder of scenario files, their JUnit XML read back."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GOOD = ROOT / "scenarios" / "03-key-reuse.yaml"
REFUSED = "exactly one request was refused"


def _suite(folder: Path) -> Path:
    """scenarios/ with a passing file, one with a wrong expectation, and YAML elsewhere."""
    (folder / "scenarios").mkdir()
    (folder / "scenarios" / "a-good.yaml").write_text(GOOD.read_text())
    data = yaml.safe_load(GOOD.read_text())
    data["name"] = "broken-one"
    for e in data["expectations"]:
        if e["name"] == REFUSED:
            e["value"] = 2
    (folder / "scenarios" / "b-broken.yaml").write_text(yaml.safe_dump(data))
    (folder / "config.yaml").write_text("not: a scenario\n")
    (folder / "elsewhere").mkdir()
    (folder / "elsewhere" / "c.yaml").write_text(GOOD.read_text())
    return folder


def _pytest(folder: Path, *args: str, autoload: bool = False) -> subprocess.CompletedProcess[str]:
    """pytest on ``folder``; ``autoload``: with every installed plugin, as a user has it
    (else only ours and xdist, which starts far faster on a busy machine)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    if not autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        args = ("-p", "mockpay_core.scenarios.pytest_plugin", "-p", "xdist", *args)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(folder),
         "-c", str(folder / "pytest.ini"), *args],
        capture_output=True, text=True, cwd=folder, timeout=300, env=env,
    )  # fmt: skip


def _cases(report: Path) -> dict[tuple[str, str], list[str]]:
    """(classname, name) -> the failure texts of each testcase."""
    root = ET.parse(report).getroot()
    return {
        (c.get("classname", ""), c.get("name", "")): [f.text or "" for f in c.iter("failure")]
        for c in root.iter("testcase")
    }


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    folder = _suite(tmp_path)
    (folder / "pytest.ini").write_text("[pytest]\n")
    return folder


def test_scenario_files_are_items_with_a_sub_result_per_expectation(suite: Path) -> None:
    done = _pytest(suite, "-v", "--junitxml=report.xml", ".", autoload=True)
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    expectations = len(yaml.safe_load(GOOD.read_text())["expectations"])
    # the wrong expectation and its scenario failed; every other expectation passed
    assert f"2 failed, 1 passed, {2 * expectations - 1} subtests passed" in out
    assert f"scenario broken-one [{REFUSED}]" in out  # the failing sub-result's heading
    assert "SUBFAILED scenarios/b-broken.yaml::broken-one" in out
    # the failure shows the query, the expected and the actual value, and no traceback
    assert "query:    SELECT count(*) FROM client_requests WHERE NOT ok" in out
    assert "expected: == 2" in out and "actual:   1" in out
    assert "Traceback" not in out and "def _play" not in out
    cases = _cases(suite / "report.xml")
    # config.yaml and elsewhere/ are not scenario files by the default glob
    assert set(cases) == {
        ("scenarios.a-good.yaml", "key-reuse"), ("scenarios.b-broken.yaml", "broken-one")
    }  # fmt: skip
    broken = cases[("scenarios.b-broken.yaml", "broken-one")]
    assert broken[0].startswith(f"{REFUSED}:\nquery:")
    assert cases[("scenarios.a-good.yaml", "key-reuse")] == []


def test_k_x_and_xdist_work_as_on_any_test(suite: Path) -> None:
    only = _pytest(suite, "-k", "good", ".")
    assert only.returncode == 0 and "1 passed, 1 deselected" in only.stdout, only.stdout
    first = _pytest(suite, "-x", ".")
    assert first.returncode == 1 and "stopping after" in first.stdout, first.stdout
    assert "the stored key" not in first.stdout  # the second wrong expectation never ran
    spread = _pytest(suite, "-n", "2", "--junitxml=xdist.xml", ".")
    assert spread.returncode == 1 and "2 workers" in spread.stdout, spread.stdout
    assert "2 failed, 1 passed" in spread.stdout  # the wrong expectation, and its scenario
    assert set(_cases(suite / "xdist.xml")) == {
        ("scenarios.a-good.yaml", "key-reuse"), ("scenarios.b-broken.yaml", "broken-one")
    }  # fmt: skip


def test_the_glob_is_an_ini_option_and_a_bad_file_is_a_clear_collection_error(
    suite: Path,
) -> None:
    (suite / "pytest.ini").write_text("[pytest]\nmockpay_scenario_files = elsewhere/*.yaml\n")
    (suite / "elsewhere" / "d.yaml").write_text("name: d\ntenants: []\nsurprise: 1\n")
    done = _pytest(suite, ".")
    assert done.returncode == 2, done.stdout
    assert "ERROR collecting elsewhere/d.yaml" in done.stdout
    assert "d.yaml: tenants: List should have at least 1 item" in done.stdout
    assert "d.yaml: surprise: unknown field (a typo?)" in done.stdout
    assert "Traceback" not in done.stdout
    (suite / "elsewhere" / "d.yaml").unlink()
    ran = _pytest(suite, ".")
    assert ran.returncode == 0 and "1 passed" in ran.stdout, ran.stdout  # elsewhere/c.yaml only


def _mockpay(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mockpay_core.cli", *args],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )  # fmt: skip


def test_mockpay_run_junit_xml_is_the_report_pytest_gives(suite: Path) -> None:
    _pytest(suite, "--junitxml=pytest.xml", "scenarios")
    done = _mockpay(suite, "run", "scenarios", "--out", "runs", "-j", "2",
                    "--junit-xml", "mockpay.xml")  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert _cases(suite / "mockpay.xml") == {
        case: [f for f in failures if not f.startswith("contains ")]  # pytest's own summary
        for case, failures in _cases(suite / "pytest.xml").items()
    }


def _untimed(out: str) -> str:
    return re.sub(r"\d+\.\d\d s,", "_ s,", out)


def test_run_j_2_prints_what_j_1_prints_in_file_order(tmp_path: Path) -> None:
    files = [str(ROOT / "scenarios" / f) for f in
             ("03-key-reuse.yaml", "01-happy-path.yaml", "07-refund-storm.yaml")]  # fmt: skip
    one = _mockpay(tmp_path, "run", *files, "-j", "1", "--out", "runs")
    two = _mockpay(tmp_path, "run", *files, "-j", "2", "--out", "runs")
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    assert _untimed(two.stdout) == _untimed(one.stdout)
    names = [line.split(" ")[0] for line in one.stdout.splitlines() if "(seed" in line]
    assert names == ["key-reuse", "happy-path", "refund-storm"]
    assert "3 passed, 0 failed" in one.stdout
    assert two.stderr == ""  # no progress bars when not on a terminal


def test_run_j_refuses_nonsense(tmp_path: Path) -> None:
    done = _mockpay(tmp_path, "run", str(GOOD), "-j", "0")
    assert done.returncode == 2 and "-j: between 1 and 256" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
