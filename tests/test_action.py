"""``action.yml``: the composite GitHub Action that gates a deployment on the contract.

The test reads the action as GitHub would and runs its ``run:`` steps in bash, as the runner
does, from an unrelated working directory (the caller's repository is not the toolkit): the
``${{ }}`` expressions are substituted with the inputs, and the deployment is a local mock.
The one ``uses:`` step (actions/setup-python) is GitHub's own and is not run here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from contracts.verdict import CLAUSE_PROPERTY, SOURCE_PROPERTY
from mockserver.testing.process import MockProcess, RunningMock

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
#: A few clauses, page and decision alike: enough to see the verdict and its report.
CLAUSES = "envelope.json,auth.missing,routing.405,create.enums"
STEP_TIMEOUT = 300


def substitute(text: str, inputs: dict[str, str]) -> str:
    """Replace ``${{ inputs.X }}`` and ``${{ github.action_path }}``, and nothing else."""

    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression == "github.action_path":
            return str(ROOT)
        name = expression.removeprefix("inputs.")
        if name == expression or name not in inputs:
            raise AssertionError(f"action.yml uses an expression the test cannot run: {expression}")
        return inputs[name]

    return EXPRESSION.sub(value, text)


def defaults() -> dict[str, str]:
    return {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}


def test_it_is_a_composite_action_with_the_documented_inputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert {"base-url", "plan", "credit-budget", "profile", "junit-path"} <= set(ACTION["inputs"])
    assert ACTION["inputs"]["base-url"]["required"] is True


def test_no_input_carries_a_key() -> None:
    """Keys come from the caller's env: inputs show up in logs and workflow files."""
    assert not [name for name in ACTION["inputs"] if "key" in name.lower()]


def test_every_input_reaches_a_step() -> None:
    text = yaml.safe_dump(ACTION["runs"]["steps"])
    unused = [name for name in ACTION["inputs"] if f"inputs.{name}" not in text]
    assert not unused, f"inputs no step uses: {unused}"


def test_inputs_reach_scripts_through_env_only() -> None:
    """No ``${{ }}`` inside a script: an input's text would run as shell code."""
    for step in ACTION["runs"]["steps"]:
        assert not EXPRESSION.search(step.get("run", "")), step["name"]


def test_the_toolkit_is_installed_from_the_actions_own_checkout() -> None:
    install = next(s for s in ACTION["runs"]["steps"] if "pip install" in s.get("run", ""))
    assert install["env"]["CBK_TOOLKIT"] == "${{ github.action_path }}"
    assert '"$CBK_TOOLKIT[contracts]"' in install["run"]


def test_the_only_uses_step_is_setup_python() -> None:
    uses = [s["uses"] for s in ACTION["runs"]["steps"] if "uses" in s]
    assert [u.split("@")[0] for u in uses] == ["actions/setup-python"]


@pytest.fixture(scope="module")
def deployment() -> Iterator[RunningMock]:
    with MockProcess("--no-access-log", "--log-level", "WARNING") as running:
        yield running


def run_steps(workspace: Path, inputs: dict[str, str], env: dict[str, str]) -> None:
    for step in ACTION["runs"]["steps"]:
        if "run" not in step:
            continue
        assert step["shell"] == "bash"
        step_env = {name: substitute(str(value), inputs) for name, value in step["env"].items()}
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=workspace,
            env={**env, **step_env},
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
        )
        assert done.returncode == 0, f"step {step['name']!r} failed:\n{done.stdout}\n{done.stderr}"


def test_the_steps_gate_a_deployment_and_leave_a_junit_report(
    deployment: RunningMock, tmp_path: Path
) -> None:
    workspace, runner_temp = tmp_path / "deploy-repo", tmp_path / "runner-temp"
    workspace.mkdir()
    runner_temp.mkdir()
    inputs = {**defaults(), "base-url": deployment.url, "plan": "pro", "junit-path": "out/c.xml"}
    (workspace / "out").mkdir()
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "RUNNER_TEMP": str(runner_temp),
        # The toolkit's dependencies are this project's own: the install step then builds and
        # installs only the toolkit itself, from the action's checkout.
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "CBK_API_KEY": deployment.keys["pro"],
        "CBK_API_KEY_OTHER": deployment.keys["other"],
        "CBK_API_KEY_FREE": deployment.keys["free"],
        "CBK_API_KEY_REVOKED": deployment.keys["revoked"],
        "CBK_CLAUSES": CLAUSES,
    }
    run_steps(workspace, inputs, env)
    installed = subprocess.run(
        [
            runner_temp / "cbk-contracts" / "bin" / "python",
            "-c",
            "import contracts; print(contracts.__file__)",
        ],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert installed.startswith(str(runner_temp)), f"the suite ran from {installed}"
    report = ElementTree.parse(workspace / "out" / "c.xml").getroot()
    cases = list(report.iter("testcase"))
    assert cases, "the report has no test cases"
    properties = {(p.get("name"), p.get("value")) for case in cases for p in case.iter("property")}
    assert {(SOURCE_PROPERTY, "page"), (SOURCE_PROPERTY, "decision")} <= properties
    assert {v for n, v in properties if n == CLAUSE_PROPERTY} == set(CLAUSES.split(","))
    assert not list(report.iter("failure")) and not list(report.iter("error"))
