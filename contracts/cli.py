"""``cbk-contracts`` — run the ChildrenBooks API contract suite.

A thin wrapper: each flag sets the ``CBK_*`` variable of the same meaning, everything else goes
to pytest. Without ``--base-url`` the suite starts a local mock itself. Prefer the environment
variables for keys in CI: flags show up in process listings. See docs/contracts.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from contracts import settings

STORE = "cbk-contracts-hypothesis"
FLAGS = {
    "--base-url": (settings.BASE_URL, "deployment to check (default: a local mock)"),
    "--api-key": (settings.API_KEY, "Pro or Premium key (required with --base-url)"),
    "--api-key-other": (settings.API_KEY_OTHER, "a second user's key (ownership, scoping)"),
    "--api-key-free": (settings.API_KEY_FREE, "a Free-plan key (PLAN_REQUIRED)"),
    "--api-key-revoked": (settings.API_KEY_REVOKED, "a revoked key (INVALID_API_KEY)"),
    "--plan": (settings.PLAN, "pro|premium: assert that plan's documented limits"),
    "--credit-budget": (settings.CREDIT_BUDGET, "credits the run may spend (remote default 0)"),
    "--job-timeout": (settings.JOB_TIMEOUT, "seconds to wait for a job (remote default 900)"),
    "--profile": (
        settings.PROFILE,
        "page: fail only on what the vendor page states, warn on api-decisions.md's readings; "
        "decisions: fail on both (default: decisions on the local mock, page on a deployment)",
    ),
    "--clause": (settings.CLAUSES, "run only these clauses' tests (comma-separated ids)"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cbk-contracts",
        description=__doc__,
        epilog="Other arguments go to pytest, e.g. --junitxml=report.xml -k auth -x.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for flag, (variable, text) in FLAGS.items():
        parser.add_argument(
            flag, metavar=variable.removeprefix("CBK_"), help=f"{text} [{variable}]"
        )
    parser.add_argument(
        "--allow-limit-exhaustion",
        action="store_true",
        help="drive the per-minute limit to 429 on a deployment "
        f"[{settings.ALLOW_LIMIT_EXHAUSTION}=1]",
    )
    return parser


def environment(args: argparse.Namespace) -> dict[str, str]:
    """The CBK_* variables the parsed flags stand for."""
    env = {}
    for flag, (variable, _) in FLAGS.items():
        value = getattr(args, flag.removeprefix("--").replace("-", "_"))
        if value is not None:
            env[variable] = value
    if args.allow_limit_exhaustion:
        env[settings.ALLOW_LIMIT_EXHAUSTION] = "1"
    return env


def main(argv: list[str] | None = None) -> int:
    import pytest

    args, pytest_args = _parser().parse_known_args(argv)
    os.environ.update(environment(args))
    # Hypothesis caches what it learns under ./.hypothesis: keep the caller's directory clean.
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / STORE))
    suite = Path(__file__).resolve().parent
    return int(pytest.main([str(suite), "-p", "no:cacheprovider", *pytest_args]))


if __name__ == "__main__":
    sys.exit(main())
