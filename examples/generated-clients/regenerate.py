"""Regenerate the committed clients from openapi.yaml, exactly as an SDK author would.

- ``python/childrenbooks-client``: openapi-python-client (its own ruff post-hooks format it);
- ``typescript/schema.d.ts``: openapi-typescript (types for openapi-fetch).

``make clients`` runs it in place. tests/test_generated_clients.py runs it into a temporary
directory and fails when the committed output differs, so regenerating is part of changing the
spec. Needs the ``test`` extra (openapi-python-client) and ``npm ci`` (openapi-typescript).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SPEC = ROOT / "openapi.yaml"
#: What this script writes, relative to its output directory.
PYTHON_CLIENT = Path("python/childrenbooks-client")
TYPESCRIPT_SCHEMA = Path("typescript/schema.d.ts")
OPENAPI_TYPESCRIPT = ROOT / "node_modules" / ".bin" / "openapi-typescript"


def generate_python(into: Path) -> None:
    # The generator runs `ruff` from PATH: this environment's, so its version is the pinned one.
    # No ruff cache: it would land in the output, named after ruff's version.
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "RUFF_NO_CACHE": "true",
    }
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(SPEC)]
    command += ["--config", str(HERE / "python" / "openapi-python-client.yaml")]
    command += ["--meta", "uv", "--overwrite", "--output-path", str(into / PYTHON_CLIENT)]
    subprocess.run(command, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)


def generate_typescript(into: Path) -> None:
    # openapi-typescript reads a Redocly config; ours beside the output, not the repository's.
    command = [str(OPENAPI_TYPESCRIPT), str(SPEC), "--output", str(into / TYPESCRIPT_SCHEMA)]
    command += ["--redocly", str(HERE / "typescript" / "redocly.yaml")]
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, default=HERE, help="output directory (default: here)")
    args = parser.parse_args(argv)
    generate_python(args.into)
    generate_typescript(args.into)


if __name__ == "__main__":
    main()
