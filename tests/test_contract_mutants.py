"""Proof that the contract suite catches bugs: it must fail against every deliberately broken
mock in ``tests.mutants`` — with a failing contract test, not an error in setup — and pass
against the unbroken mock.

Each mutant runs the suite module that covers its clause (``CAUGHT_BY``), with ``-x``; the
baseline runs every such module against the real mock. Runs go two at a time.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from contracts import settings as contract_settings
from tests.mutants import CAUGHT_BY, MUTANTS

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
#: A run that takes longer is stuck: its whole process group is killed.
RUN_TIMEOUT = 240
MINIMUM_MUTANTS = 20
BASELINE = ""
_TARGET_VARIABLES = {
    value
    for name, value in vars(contract_settings).items()
    if name.isupper() and isinstance(value, str) and value.startswith("CBK_")
}


@dataclass
class SuiteRun:
    returncode: int
    output: str
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def explain(self) -> str:
        return f"exit {self.returncode}\n{self.output[-3000:]}"


def _outcomes(junit: Path) -> tuple[list[str], list[str]]:
    """(failed tests with their first message line, tests that errored) from a JUnit report."""
    if not junit.exists():
        return [], []
    failures, errors = [], []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        for failure in case.findall("failure"):
            failures.append(f"{name}: {(failure.get('message') or '').splitlines()[0][:200]}")
        errors += [name for _ in case.findall("error")]
    return failures, errors


def run_suite(modules: list[str], mutant: str | None) -> SuiteRun:
    """``python -m pytest contracts/<modules> -x`` against the mock, or against ``mutant``."""
    env = {k: v for k, v in os.environ.items() if k not in _TARGET_VARIABLES}
    if mutant:
        env[contract_settings.MOCK_COMMAND] = shlex.join(
            [sys.executable, "-m", "tests.mutants", mutant]
        )
    with tempfile.TemporaryDirectory(prefix="cbk-mutant-") as workdir:
        junit = Path(workdir) / "junit.xml"
        command = [
            sys.executable,
            "-m",
            "pytest",
            *(f"contracts/{module}" for module in modules),
            "-x",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "not cbk_property",
            "-p",
            "no:schemathesis",
            f"--junitxml={junit}",
        ]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            output += f"\n(killed after {RUN_TIMEOUT} s)"
        failures, errors = _outcomes(junit)
        return SuiteRun(process.returncode, output, failures, errors)


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[SuiteRun]]]:
    """Start every run this session selected, two at a time; tests wait for their own."""
    selected = {
        item.callspec.params.get("name", BASELINE)
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    }
    if any(item.name == "test_unbroken_mock_passes" for item in request.session.items):
        selected.add(BASELINE)
    pool = ThreadPoolExecutor(WORKERS)
    every_module = sorted(set(CAUGHT_BY.values()))
    futures = {}
    for name in sorted(selected):
        modules = every_module if name == BASELINE else [CAUGHT_BY[name]]
        futures[name] = pool.submit(run_suite, modules, name or None)
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def test_every_mutant_names_the_module_that_catches_it() -> None:
    assert set(MUTANTS) == set(CAUGHT_BY), f"no CAUGHT_BY for {set(MUTANTS) - set(CAUGHT_BY)}"
    assert len(MUTANTS) >= MINIMUM_MUTANTS, f"only {len(MUTANTS)} mutants"
    missing = {m for m in CAUGHT_BY.values() if not (ROOT / "contracts" / m).is_file()}
    assert not missing, f"no such contract modules: {missing}"


def test_unbroken_mock_passes(runs: dict[str, Future[SuiteRun]]) -> None:
    run = runs[BASELINE].result()
    assert run.returncode == 0 and not run.failures and not run.errors, run.explain()


@pytest.mark.parametrize("name", sorted(CAUGHT_BY))
def test_contract_suite_kills_mutant(runs: dict[str, Future[SuiteRun]], name: str) -> None:
    run = runs[name].result()
    assert run.returncode != 0, f"the suite passed against mutant {name!r}:\n{run.explain()}"
    assert run.failures, f"mutant {name!r} caused no failing contract test:\n{run.explain()}"
    assert not run.errors, f"mutant {name!r} broke set-up ({run.errors}):\n{run.explain()}"
    print(f"{name} killed by {run.failures[0]}")
