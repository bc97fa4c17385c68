"""The npm-installed spec tools (package.json: Prism, openapi-typescript, TypeScript) for tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"


def node_tool(name: str) -> Path:
    """``node_modules/.bin/<name>``. Skips when ``npm ci`` has not run, unless
    CBK_REQUIRE_NODE=1 (as in CI), where a missing tool fails the test."""
    tool = NODE_MODULES / ".bin" / name
    if tool.exists() and shutil.which("node"):
        return tool
    message = f"no {tool} (or no node on PATH): `make node-deps` installs the tools with npm ci"
    if os.environ.get("CBK_REQUIRE_NODE") == "1":
        pytest.fail(message + " — CBK_REQUIRE_NODE=1 forbids skipping")
    pytest.skip(message)
