"""Clients generated from openapi.yaml, as SDK authors make them (examples/generated-clients):
the committed output is what the generators make from the current spec, the Python models stay
lean, and both programs complete create → poll → 400 → 429 against a local mock."""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import httpx
import pytest

from mockserver.core.clock import parse_iso
from mockserver.spec import load_spec
from mockserver.testing.process import RunningMock
from tests.node_kit import NODE_MODULES, ROOT, node_tool

CLIENTS = ROOT / "examples" / "generated-clients"
_spec = importlib.util.spec_from_file_location("regenerate", CLIENTS / "regenerate.py")
regenerate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regenerate)

PYTHON_CLIENT = CLIENTS / regenerate.PYTHON_CLIENT
MODELS = PYTHON_CLIENT / "childrenbooks_client" / "models"
TYPESCRIPT = CLIENTS / "typescript"
#: Seconds left in the rate-limit window when a program starts: its 429 asks to wait about that.
WINDOW_LEFT = 5
STEPS = [
    r"^202 created book [0-9a-f-]{36} \(pending\)$",
    r"^200 completed: .+, 4 pages, watercolor$",
    r"^400 VALIDATION_ERROR: .+pageCount",
    r"^429 RATE_LIMIT_EXCEEDED: retry-after [1-9][0-9]? s, meta .*limit.* 60",
    r"^200 after [1-9][0-9]? s: x-ratelimit-remaining 59$",
]


#: Caches that running or linting the committed client leaves there (git ignores them).
CACHES = {"__pycache__", ".ruff_cache", ".mypy_cache"}


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and not CACHES & set(path.parts)
    }


def differences(committed: Path, fresh: Path) -> list[str]:
    old, new = files_under(committed), files_under(fresh)
    return sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))


# --- the committed output is the generators' -------------------------------------------------
def test_the_committed_python_client_is_what_the_generator_makes_of_the_spec(tmp_path):
    regenerate.generate_python(tmp_path)
    changed = differences(PYTHON_CLIENT, tmp_path / regenerate.PYTHON_CLIENT)
    assert changed == [], "openapi.yaml changed: run `make clients` and commit the output"


def test_the_committed_typescript_types_are_what_the_generator_makes_of_the_spec(tmp_path):
    node_tool("openapi-typescript")
    regenerate.generate_typescript(tmp_path)
    fresh = (tmp_path / regenerate.TYPESCRIPT_SCHEMA).read_text(encoding="utf-8")
    committed = (CLIENTS / regenerate.TYPESCRIPT_SCHEMA).read_text(encoding="utf-8")
    assert fresh == committed, "openapi.yaml changed: run `make clients` and commit the output"


# --- lean Python models --------------------------------------------------------------------
def class_shapes(models: Path) -> dict[tuple, list[str]]:
    """Generated classes by shape: an enum's members, a model's annotated fields."""
    shapes: dict[tuple, list[str]] = defaultdict(list)
    for module in sorted(models.glob("*.py")):
        for node in ast.parse(module.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.ClassDef):
                continue
            bases = {ast.unparse(base) for base in node.bases}
            if bases & {"StrEnum", "IntEnum", "Enum"}:
                members = [ast.unparse(item) for item in node.body if isinstance(item, ast.Assign)]
                shape = ("enum", *members)
            else:
                fields = [
                    ast.unparse(item).replace(node.name, "Self")
                    for item in node.body
                    if isinstance(item, ast.AnnAssign)
                ]
                shape = ("model", *fields)
            shapes[shape].append(node.name)
    return shapes


def twins(models: Path) -> list[list[str]]:
    return [names for names in class_shapes(models).values() if len(names) > 1]


def test_no_two_generated_python_classes_are_the_same():
    assert twins(MODELS) == []


def test_every_error_status_parses_as_the_one_error_envelope():
    parsed = {}
    for module in (PYTHON_CLIENT / "childrenbooks_client" / "api" / "stories").glob("*.py"):
        for status, model in re.findall(r"response_(\d{3}) = (\w+)\.from_dict", module.read_text()):
            parsed[(module.stem, int(status))] = model
    errors = {model for (_, status), model in parsed.items() if status >= 400}
    assert errors == {"ErrorEnvelope"}
    assert len(parsed) == sum(len(load_spec().statuses(op)) for op in load_spec().operation_ids)


INLINE_ERROR_PER_STATUS = """
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /x:
    get:
      operationId: getX
      responses:
        "400":
          description: bad
          content:
            application/json:
              schema:
                allOf:
                  - $ref: "#/components/schemas/Envelope"
                  - properties: {code: {enum: [A]}}
        "404":
          description: missing
          content:
            application/json:
              schema:
                allOf:
                  - $ref: "#/components/schemas/Envelope"
                  - properties: {code: {enum: [B]}}
components:
  schemas:
    Envelope:
      type: object
      required: [ok]
      properties: {ok: {const: false}, message: {type: string}}
"""


def test_the_lean_check_finds_the_classes_an_inline_envelope_per_status_makes(tmp_path):
    (tmp_path / "spec.yaml").write_text(INLINE_ERROR_PER_STATUS)
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--meta", "none"]
    command += ["--path", str(tmp_path / "spec.yaml"), "--output-path", str(tmp_path / "out")]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=tmp_path)
    assert twins(tmp_path / "out" / "models") == [["GetXResponse400", "GetXResponse404"]]


# --- the programs against a local mock -------------------------------------------------------
async def window_ends_in(mock: RunningMock, seconds: int) -> None:
    """Move the mock's clock to ``seconds`` before the end of a fresh rate-limit window."""
    window = load_spec().rate_limit_window
    async with httpx.AsyncClient(base_url=mock.url, headers=mock.admin_headers) as admin:
        now = parse_iso((await admin.get("/_mock/clock")).json()["data"]["now"])
        ahead = (window - now % window) + (window - seconds)
        reply = await admin.post("/_mock/clock/advance", json={"seconds": ahead})
        reply.raise_for_status()


async def run_program(mock: RunningMock, *command: str, env: dict[str, str] | None = None) -> str:
    await window_ends_in(mock, WINDOW_LEFT)
    args = ["--base-url", mock.url, "--api-key", mock.keys["pro"], "--poll-interval", "0.05"]
    # A window that ended while the program started gives a full one to wait for: still passes.
    args += ["--max-wait", str(load_spec().rate_limit_window + 5)]
    process = await asyncio.create_subprocess_exec(
        *command,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    text = output.decode()
    assert process.returncode == 0, text
    return text


def assert_every_step(output: str) -> None:
    lines = output.splitlines()
    assert len(lines) == len(STEPS), output
    for line, step in zip(lines, STEPS, strict=True):
        assert re.search(step, line), (step, line)


@pytest.mark.mock_config(page_seconds=0.05)
async def test_the_python_program_completes_against_a_local_mock(mock):
    program = CLIENTS / "python" / "create_and_poll.py"
    env = {"PYTHONPATH": str(PYTHON_CLIENT), "PYTHONDONTWRITEBYTECODE": "1"}
    assert_every_step(await run_program(mock, sys.executable, str(program), env=env))


def test_the_typescript_program_type_checks():
    tsc = node_tool("tsc")
    checked = subprocess.run(
        [str(tsc), "--noEmit", "-p", str(TYPESCRIPT / "tsconfig.json")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.mock_config(page_seconds=0.05)
async def test_the_typescript_program_completes_against_a_local_mock(mock, tmp_path):
    tsc = node_tool("tsc")
    # Emit only: type-checking is the test above's.
    command = [str(tsc), "-p", str(TYPESCRIPT / "tsconfig.json"), "--noEmit", "false"]
    command += ["--noCheck", "--outDir", str(tmp_path)]
    compiled = subprocess.run(command, capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    (tmp_path / "node_modules").symlink_to(NODE_MODULES)  # openapi-fetch, found from the script
    output = await run_program(mock, "node", str(tmp_path / "create-and-poll.mjs"))
    assert_every_step(output)
