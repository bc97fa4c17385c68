"""How long a team waits for the verdict on a deployment: ``python -m contracts.verdict_timing``.

Starts the mock as a deployment would run — ``cbk-mock serve --workers 2 --redis-url …`` with the
spec's Pro limits (60 requests a minute) — and runs ``cbk-contracts --base-url`` against it with
the dev users' keys, as a CI job would with its secrets. Prints the wall time of the run and the
suite's own summary (requests sent, credits spent). A measurement, not a test: nothing is
asserted about the time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from contracts import settings
from mockserver.http.control import ADMIN_HEADER
from mockserver.testing.process import MockProcess

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/3"
#: Its own namespace in Redis, so a measurement never meets another run's users or counters.
REDIS_PREFIX = "cbk-verdict-timing:"
KEYS = {
    settings.API_KEY: "pro",
    settings.API_KEY_OTHER: "other",
    settings.API_KEY_FREE: "free",
    settings.API_KEY_REVOKED: "revoked",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m contracts.verdict_timing", description=__doc__)
    parser.add_argument("--redis-url", default=os.environ.get("CBK_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", help="the suite's --profile")
    parser.add_argument("--credit-budget", default="100", help="the suite's --credit-budget")
    parser.add_argument("--junitxml", help="keep the suite's JUnit report here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args, suite_args = _parser().parse_known_args(argv)
    with tempfile.TemporaryDirectory(prefix="cbk-verdict-") as workdir:
        config = Path(workdir) / "deployment.yaml"
        config.write_text(yaml.safe_dump({"redisPrefix": REDIS_PREFIX}))
        deployment = MockProcess(
            "--workers",
            str(args.workers),
            "--redis-url",
            args.redis_url,
            "--config",
            str(config),
            "--no-access-log",
            "--log-level",
            "WARNING",
        )
        with deployment as running:
            # Fresh users, books and counters: the run starts where a new deployment would.
            httpx.post(
                f"{running.url}/_mock/reset", headers={ADMIN_HEADER: running.admin_token}
            ).raise_for_status()
            env = {
                **os.environ,
                **{variable: running.keys[name] for variable, name in KEYS.items()},
                settings.BASE_URL: running.url,
                settings.PLAN: "pro",
                settings.CREDIT_BUDGET: args.credit_budget,
                settings.ALLOW_LIMIT_EXHAUSTION: "1",
            }
            command = [sys.executable, "-m", "contracts.cli"]
            if args.profile:
                command += ["--profile", args.profile]
            if args.junitxml:
                command.append(f"--junitxml={args.junitxml}")
            print(
                f"deployment: {running.url} · {args.workers} workers · Redis {args.redis_url}\n"
                f"suite: {' '.join(command[2:] + suite_args)}",
                flush=True,
            )
            started = time.monotonic()
            returncode = subprocess.call([*command, *suite_args], env=env)
            elapsed = time.monotonic() - started
    print(
        json.dumps({"wall_seconds": round(elapsed, 1), "exit": returncode, "profile": args.profile})
    )
    return returncode


if __name__ == "__main__":
    sys.exit(main())
