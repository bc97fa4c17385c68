"""Running the contract suite against a patched mock (a mutant or a variant) in a subprocess,
and reading what happened from its JUnit report and the mock's error log."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

from contracts import settings as contract_settings
from contracts.verdict import VIOLATION_PROPERTY, WARNING_PROPERTY
from tests.mutants.patching import ERROR_LOG, PAGE_SECONDS

ROOT = Path(__file__).resolve().parents[2]
#: A run that takes longer is stuck: its whole process group is killed.
RUN_TIMEOUT = 300
#: Two runs at a time: one per core of the CI machine.
WORKERS = 2
#: A fast job clock for runs that only need jobs to finish (a 5-page book in 0.12 s); runs
#: that must watch a job move keep the suite's own.
FAST_PAGE_SECONDS = 0.02
_TARGET_VARIABLES = {
    value
    for name, value in vars(contract_settings).items()
    if name.isupper() and isinstance(value, str) and value.startswith("CBK_")
}


@dataclass(frozen=True)
class Case:
    name: str
    outcome: str  # passed, failed, error, skipped
    message: str
    properties: tuple[tuple[str, str], ...]

    def property(self, name: str) -> list[str]:
        return [value for key, value in self.properties if key == name]


@dataclass
class SuiteRun:
    returncode: int
    output: str
    cases: list[Case] = field(default_factory=list)
    #: What the patched mock logged at ERROR level (unhandled errors included).
    errors_logged: str = ""

    @property
    def failures(self) -> list[Case]:
        return [c for c in self.cases if c.outcome in ("failed", "error")]

    @property
    def warnings(self) -> list[str]:
        return [w for c in self.cases for w in c.property(WARNING_PROPERTY)]

    def first_failure(self) -> Case | None:
        return self.failures[0] if self.failures else None

    def explain(self) -> str:
        log = f"\nthe mock logged:\n{self.errors_logged[-2000:]}" if self.errors_logged else ""
        return f"exit {self.returncode}\n{self.output[-3000:]}{log}"


def _cases(junit: Path) -> list[Case]:
    if not junit.exists():
        return []
    cases = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            found = case.find(kind)
            if found is not None:
                outcome = {"failure": "failed"}.get(kind, kind)
                message = found.get("message") or ""
                break
        properties = tuple(
            (p.get("name") or "", p.get("value") or "") for p in case.iter("property")
        )
        cases.append(
            Case(f"{case.get('classname')}::{case.get('name')}", outcome, message, properties)
        )
    return cases


def run_suite(
    kind: str,
    name: str,
    *,
    profile: str | None = None,
    clauses: str | None = None,
    first_failure_only: bool = False,
    fuzz: bool = True,
    page_seconds: float | None = None,
    fuzz_examples: int | None = None,
    hypothesis_seed: int | None = None,
) -> SuiteRun:
    """``pytest contracts`` against ``python -m tests.<kind> <name>`` (the suite's local mock
    launched patched). ``hypothesis_seed`` makes its fuzzing the same on every run."""
    # Fifty runs import the same modules: let them cache their (assertion-rewritten) bytecode.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _TARGET_VARIABLES and k != "PYTHONDONTWRITEBYTECODE"
    }
    env[contract_settings.MOCK_COMMAND] = shlex.join([sys.executable, "-m", f"tests.{kind}", name])
    if profile:
        env[contract_settings.PROFILE] = profile
    if clauses:
        env[contract_settings.CLAUSES] = clauses
    with tempfile.TemporaryDirectory(prefix=f"cbk-{kind}-") as workdir:
        junit, error_log = Path(workdir) / "junit.xml", Path(workdir) / "errors.log"
        env[ERROR_LOG] = str(error_log)
        if page_seconds is not None:
            env[PAGE_SECONDS] = str(page_seconds)
        if fuzz_examples is not None:
            env[contract_settings.FUZZ_EXAMPLES] = str(fuzz_examples)
        command = [
            sys.executable,
            "-m",
            "pytest",
            "contracts",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit}",
            "-o",
            "junit_logging=no",
        ]
        if first_failure_only:
            command.append("-x")
        if hypothesis_seed is not None:
            command.append(f"--hypothesis-seed={hypothesis_seed}")
        if not fuzz:
            command += ["--ignore=contracts/test_property.py", "-p", "no:schemathesis"]
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
        logged = error_log.read_text(encoding="utf-8") if error_log.exists() else ""
        return SuiteRun(process.returncode, output, _cases(junit), logged)


def violated_clause(case: Case) -> str | None:
    found = case.property(VIOLATION_PROPERTY)
    return found[0] if found else None
