"""``python -m loadtests`` (``make load``): a headless locust run with a verdict.

Without ``--host`` it starts a mock of its own (quotas lifted so that only the per-minute limit
answers 429), creates users through the control API and hands their keys to locust. With
``--host URL --keys-file KEYS`` it loads any deployment. Reports (CSV, HTML, verdict JSON) go to
``--reports-dir``. The exit code is locust's: 0 when the verdict passed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from loadtests import LOCUSTFILE, PACKAGE_DIR, REPORTS_DIR, target, verdict
from loadtests.keys import load_keys
from loadtests.profiles import PROFILES, seconds
from mockserver.serve.help import HelpFormatter
from mockserver.spec import load_spec

MOCK_COMMAND_ENV = "CBK_LOAD_MOCK_COMMAND"
#: Plans of the shared keys created on the local mock, in turn: every plan with API access.
SHARED_PLANS = target.API_PLANS
#: Exclusive keys get the tightest per-minute limit: the burst user reaches its 429 soonest.
EXCLUSIVE_PLAN = min(SHARED_PLANS, key=lambda name: load_spec().plans[name].requests_per_minute)
#: Exclusive keys per load process: one for the burst user, one for the auditor user.
EXCLUSIVE_PER_PROCESS = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests", description=__doc__, formatter_class=HelpFormatter
    )
    target_group = parser.add_argument_group("target")
    target_group.add_argument("--host", help="base URL of a deployment (default: a local mock)")
    target_group.add_argument("--keys-file", type=Path, help="keys for --host (JSON)")
    target_group.add_argument(
        "--aligned-windows",
        action="store_true",
        help="--host's windows share one clock-aligned grid (always checked on the local mock)",
    )
    target_group.add_argument(
        "--mock-command",
        default=os.environ.get(MOCK_COMMAND_ENV),
        help=f"replaces 'python -m mockserver' for the local mock (env {MOCK_COMMAND_ENV})",
    )
    target_group.add_argument(
        "--mock-workers",
        type=int,
        default=1,
        help="processes of the local mock; more than 1 needs --redis-url",
    )
    target_group.add_argument("--redis-url", help="the local mock's Redis (default: memory)")
    target_group.add_argument(
        "--page-seconds", type=float, default=0.5, help="the local mock's generation time per page"
    )
    target_group.add_argument(
        "--users-per-key", type=int, default=3, help="simulated users per shared key"
    )

    load = parser.add_argument_group("load")
    load.add_argument("-u", "--users", type=int, default=200, help="simulated users at the peak")
    load.add_argument(
        "-r", "--spawn-rate", type=float, default=50.0, help="users started per second"
    )
    load.add_argument("-t", "--run-time", default="30s", help="how long the load runs")
    load.add_argument("--shape", choices=PROFILES, default="step", help="how the load varies")
    load.add_argument("--processes", type=int, default=0, help="locust --processes N")
    load.add_argument(
        "--locust-workers", type=int, default=0, help="an explicit master plus N worker processes"
    )

    judge = parser.add_argument_group("thresholds")
    judge.add_argument(
        "--max-error-ratio",
        type=float,
        default=verdict.Thresholds.max_error_ratio,
        help="failed requests (429s aside) above this share fail the run",
    )
    judge.add_argument(
        "--max-p95-ms",
        type=float,
        default=verdict.Thresholds.max_p95_ms,
        help="a 95th-percentile latency above this fails the run",
    )

    parser.add_argument(
        "--reports-dir", type=Path, default=REPORTS_DIR, help="where the reports are written"
    )
    parser.add_argument("--name", default="load", help="file name prefix of the reports")
    parser.add_argument("locust_args", nargs="*", help="after --: passed to locust as they are")
    return parser


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_processes(args: argparse.Namespace) -> int:
    return max(1, args.processes, args.locust_workers)


def locust_args(args: argparse.Namespace, host: str, keys_file: Path, aligned: bool) -> list[str]:
    prefix = args.reports_dir / args.name
    command = [
        *("-f", str(LOCUSTFILE), "--headless", "--only-summary", "--host", host),
        *("-u", str(args.users), "-r", str(args.spawn_rate), "--run-time", args.run_time),
        *("--load-shape", args.shape, "--keys-file", str(keys_file)),
        *("--csv", str(prefix), "--html", f"{prefix}.html"),
        *("--verdict-file", f"{prefix}-verdict.json"),
        *("--max-error-ratio", str(args.max_error_ratio), "--max-p95-ms", str(args.max_p95_ms)),
    ]
    if aligned:
        command.append("--aligned-windows")
    if args.processes:
        command += ["--processes", str(args.processes)]
    return command + list(args.locust_args)


def run_locust(args: argparse.Namespace, arguments: list[str]) -> int:
    """locust in a subprocess (or a master and its workers); returns the master's exit code."""
    base = [sys.executable, "-m", "locust"]
    path = [str(PACKAGE_DIR.parent), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))}
    deadline = seconds(args.run_time) + 120
    workers: list[subprocess.Popen] = []
    if args.locust_workers:
        port = _free_port()
        arguments = [
            *arguments,
            *("--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)),
            *("--expect-workers", str(args.locust_workers), "--expect-workers-max-wait", "60"),
        ]
        worker_command = [
            *base,
            *("-f", str(LOCUSTFILE), "--worker", "--master-host", "127.0.0.1"),
            *("--master-port", str(port)),
        ]
    master = subprocess.Popen([*base, *arguments], cwd=PACKAGE_DIR.parent, env=env)
    try:
        for _ in range(args.locust_workers):
            workers.append(subprocess.Popen(worker_command, cwd=PACKAGE_DIR.parent, env=env))
        code = master.wait(timeout=deadline)
        for worker in workers:
            worker.wait(timeout=30)
        return code
    except subprocess.TimeoutExpired as exc:
        print(f"locust did not finish in time ({exc.timeout:g} s): stopped", flush=True)
        return 1
    finally:
        for process in (master, *workers):
            if process.poll() is None:
                process.kill()
                process.wait()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        seconds(args.run_time)
    except ValueError as exc:
        raise SystemExit(f"--run-time: {exc}") from None
    if args.host and not args.keys_file:
        raise SystemExit(
            "--host needs --keys-file (its format: README, 'A deployment: HOST= and the keys file')"
        )
    if args.processes and args.locust_workers:
        raise SystemExit("--processes and --locust-workers are two ways to distribute: pick one")
    if args.mock_workers > 1 and not args.redis_url:
        raise SystemExit("--mock-workers N needs --redis-url: the mock's workers share Redis")
    args.reports_dir.mkdir(parents=True, exist_ok=True)
    verdict_file = args.reports_dir / f"{args.name}-verdict.json"
    verdict_file.unlink(missing_ok=True)
    with contextlib.ExitStack() as stack:
        if args.host:
            try:
                load_keys(args.keys_file)  # fail here, not in every worker
            except (OSError, ValueError) as exc:
                raise SystemExit(f"--keys-file: {exc}") from None
            host, keys_file, aligned = args.host.rstrip("/"), args.keys_file, args.aligned_windows
        else:
            mock = stack.enter_context(
                target.running_mock(
                    target.roomy_quotas(),
                    page_seconds=args.page_seconds,
                    workers=args.mock_workers,
                    redis_url=args.redis_url,
                    command=shlex.split(args.mock_command) if args.mock_command else None,
                )
            )
            processes = load_processes(args)
            shared = max(processes, -(-args.users // args.users_per_key))
            keys = target.provision(
                mock,
                shared=[SHARED_PLANS[i % len(SHARED_PLANS)] for i in range(shared)],
                exclusive=[EXCLUSIVE_PLAN] * (EXCLUSIVE_PER_PROCESS * processes),
            )
            keys_file = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "keys.json"
            keys.save(keys_file)
            host, aligned = mock.url, True
            print(f"local mock at {host}: {len(keys.keys)} users created", flush=True)
        code = run_locust(args, locust_args(args, host, keys_file, aligned))
    if verdict_file.exists():
        print(verdict.describe(json.loads(verdict_file.read_text())), flush=True)
    else:
        print(f"locust wrote no verdict ({verdict_file}); exit code {code}", flush=True)
        code = code or 1
    print(f"reports: {args.reports_dir}/{args.name}*", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
