"""``python -m loadtests.bench`` (``make bench``): throughput and latency of the mock, side by
side with a bare aiohttp handler answering JSON bodies of the same sizes — the ceiling of this
stack — measured with wrk, printed as JSON.

Scenarios: an authenticated poll (``GET /v1/stories/{id}`` of a completed book), a create
(``POST /v1/stories``) and the 429 path. The per-minute limit stays active, raised high enough
never to trigger, except for the 429 path's user, whose limit is 1. Both servers run one
process each, on a CPU of their own; wrk gets one thread and the other CPUs. ``ratio`` is the
median over rounds of mock/bare req/s, each round measuring both back to back. Targets: GET at
least 50 % of the bare handler, POST 30 %.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loadtests import PACKAGE_DIR, target
from loadtests.payloads import API_KEY_HEADER, story_body
from mockserver.serve.help import HelpFormatter
from mockserver.testing.process import RunningMock

WRK_HINT = (
    "wrk is not installed. Install it with `sudo apt-get install wrk` (Debian/Ubuntu), "
    "`brew install wrk` (macOS) or build it from https://github.com/wg/wrk, then run "
    "`make bench` again."
)
TARGETS = {"get": 0.5, "post": 0.3, "rateLimited": None}
LIMITED_PLAN = "bench-limited"
RESULT = "CBK-RESULT "
_LUA = """
wrk.method = %(method)s
wrk.body = %(body)s
%(headers)s
done = function(summary, latency, requests)
  io.write(string.format(
    '%(marker)s{"requests":%%d,"durationUs":%%d,"p50Us":%%d,"p99Us":%%d,'
    .. '"socketErrors":%%d,"non2xx":%%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout,
    summary.errors.status))
end
"""


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    status: int
    headers: dict[str, str]
    body: bytes = b""


def bench_config(journal_size: int | None = None) -> dict[str, Any]:
    """Every limit active but out of reach; one plan limited to a request a minute. The
    request journal as configured by default, unless ``journal_size`` says otherwise."""
    config = target.roomy_quotas()
    if journal_size is not None:
        config["journalSize"] = journal_size
    for plan in config["plans"].values():
        plan["requestsPerMinute"] = target.UNLIMITED
    config["plans"][LIMITED_PLAN] = {
        "apiAccess": True,
        "requestsPerMinute": 1,
        "booksPerDay": 1,
        "monthlyCredits": 1,
    }
    return config


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time of a process (Linux ``/proc``; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (OSError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Placement:
    """Which CPUs the servers and wrk run on: apart, so that neither steals the other's CPU
    (Linux; elsewhere, or on one CPU, the scheduler decides)."""

    server: frozenset[int] = frozenset()
    load: frozenset[int] = frozenset()

    @classmethod
    def split(cls) -> Placement:
        if not hasattr(os, "sched_getaffinity"):
            return cls()
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            return cls()
        return cls(server=frozenset(cpus[-1:]), load=frozenset(cpus[:-1]))

    def pin_server(self, pid: int | None) -> None:
        if self.server and pid:
            os.sched_setaffinity(pid, self.server)

    def pin_load(self) -> None:
        """In the wrk child, before it execs."""
        if self.load:
            os.sched_setaffinity(0, self.load)


def wrk(
    url: str,
    scenario: Scenario,
    *,
    seconds: int,
    connections: int,
    threads: int,
    pid: int | None = None,
    placement: Placement = Placement(),
) -> dict[str, Any]:
    """One wrk run; with the server's ``pid``, also its CPU time per request."""
    cpu_before = cpu_seconds(pid)
    headers = "\n".join(
        f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in scenario.headers.items()
    )
    script = _LUA % {
        "method": _lua_string(scenario.method),
        "body": _lua_string(scenario.body.decode()) if scenario.body else "nil",
        "headers": headers,
        "marker": RESULT,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        completed = subprocess.run(
            [
                "wrk",
                *("-t", str(threads), "-c", str(connections), "-d", f"{seconds}s"),
                *("-s", fh.name, f"{url}{scenario.path}"),
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            preexec_fn=placement.pin_load,
        )
    finally:
        os.unlink(fh.name)
    lines = [x for x in completed.stdout.splitlines() if x.startswith(RESULT)]
    if completed.returncode or not lines:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    line = lines[0]
    raw = json.loads(line[len(RESULT) :])
    cpu_after = cpu_seconds(pid)
    cpu_us = None
    if cpu_before is not None and cpu_after is not None and raw["requests"]:
        cpu_us = round((cpu_after - cpu_before) / raw["requests"] * 1e6, 1)
    return {
        "rps": round(raw["requests"] / (raw["durationUs"] / 1e6), 1),
        "p50Ms": round(raw["p50Us"] / 1000, 2),
        "p99Ms": round(raw["p99Us"] / 1000, 2),
        "requests": raw["requests"],
        "socketErrors": raw["socketErrors"],
        "non2xx": raw["non2xx"],
        "cpuUsPerRequest": cpu_us,
    }


def _call(url: str, scenario: Scenario) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url + scenario.path,
        method=scenario.method,
        data=scenario.body or None,
        headers=scenario.headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def scenarios(mock: RunningMock) -> list[Scenario]:
    """The three scenarios on the mock, with a completed book to poll."""
    key = target.create_user(mock, target.API_PLANS[0])
    auth = {API_KEY_HEADER: key, "content-type": "application/json"}
    body = json.dumps(story_body()).encode()
    create = Scenario("post", "POST", "/v1/stories", 202, auth, body)
    status, answer = _call(mock.url, create)
    if status != 202:
        raise RuntimeError(f"could not create the book to poll: {status} {answer[:200]!r}")
    poll = Scenario("get", "GET", f"/v1/stories/{json.loads(answer)['data']['bookId']}", 200, auth)
    deadline = time.monotonic() + 30
    while json.loads(_call(mock.url, poll)[1])["data"]["status"] != "completed":
        if time.monotonic() > deadline:
            raise RuntimeError("the book to poll did not complete")
        time.sleep(0.05)
    limited_auth = {**auth, API_KEY_HEADER: target.create_user(mock, LIMITED_PLAN)}
    limited = Scenario("rateLimited", "GET", poll.path, 429, limited_auth)
    _call(mock.url, limited)  # spends the one request of the minute
    return [poll, create, limited]


@contextlib.contextmanager
def bare_server(routes: list[tuple[Scenario, int]]) -> Iterator[tuple[str, int]]:
    spec = [f"{s.method}:/{s.name}:{s.status}:{size}" for s, size in routes]
    process = subprocess.Popen(
        [sys.executable, "-m", "loadtests.bare", *(arg for r in spec for arg in ("--route", r))],
        stdout=subprocess.PIPE,
        text=True,
        cwd=PACKAGE_DIR.parent,
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        match = re.match(r"bare listening on (\S+)", line)
        if not match:
            raise RuntimeError(f"the bare server did not start: {line!r}")
        yield match.group(1), process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


Target = tuple[str, str, Scenario, int | None]  # label, base URL, scenario, server pid


def measure(
    pairs: list[Target], *, seconds: int, rounds: int, **wrk_options: Any
) -> dict[str, dict[str, Any]]:
    """Each target ``rounds`` times, back to back and in alternating order, so that both
    servers of a round see the machine in the same state; keeps each label's best round (the
    least disturbed) and every round's req/s."""
    best: dict[str, dict[str, Any]] = {}
    samples: dict[str, list[float]] = {}
    for number in range(rounds):
        for label, url, scenario, pid in pairs if number % 2 == 0 else pairs[::-1]:
            result = wrk(url, scenario, seconds=seconds, pid=pid, **wrk_options)
            samples.setdefault(label, []).append(result["rps"])
            if label not in best or result["rps"] > best[label]["rps"]:
                best[label] = result
    return {label: {**result, "rpsRounds": samples[label]} for label, result in best.items()}


def paired_ratio(mock_rounds: list[float], bare_rounds: list[float]) -> float:
    """The median over rounds of mock/bare req/s. A virtual machine's speed drifts by tens of
    per cent within a minute; the two runs of one round are seconds apart, so their ratio
    cancels the drift that a ratio of independent bests would keep."""
    return round(statistics.median(m / b for m, b in zip(mock_rounds, bare_rounds, strict=True)), 3)


def run(
    seconds: int,
    connections: int,
    threads: int,
    warmup: int,
    rounds: int,
    journal_size: int | None = None,
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    placement = Placement.split()
    options: dict[str, Any] = {
        "connections": connections,
        "threads": threads,
        "placement": placement,
    }
    with target.running_mock(bench_config(journal_size), page_seconds=0.01) as mock:
        placement.pin_server(mock.extra.get("pid"))  # type: ignore[arg-type]
        cases = scenarios(mock)
        sized = []
        for case in cases:
            status, body = _call(mock.url, case)
            if status != case.status:
                raise RuntimeError(f"{case.name}: expected {case.status}, got {status}")
            sized.append((case, len(body)))
        with bare_server(sized) as (bare_url, bare_pid):
            placement.pin_server(bare_pid)
            for case, size in sized:
                bare_case = dataclasses.replace(case, path=f"/{case.name}")
                pairs: list[Target] = [
                    ("mock", mock.url, case, mock.extra.get("pid")),  # type: ignore[list-item]
                    ("bare", bare_url, bare_case, bare_pid),
                ]
                for _, url, scenario, _ in pairs:
                    wrk(url, scenario, seconds=warmup, **options)
                row: dict[str, Any] = {"bodyBytes": size}
                row.update(measure(pairs, seconds=seconds, rounds=rounds, **options))
                row["ratio"] = paired_ratio(row["mock"]["rpsRounds"], row["bare"]["rpsRounds"])
                cpu = row["mock"]["cpuUsPerRequest"], row["bare"]["cpuUsPerRequest"]
                row["cpuRatio"] = round(cpu[1] / cpu[0], 3) if all(cpu) else None
                goal = TARGETS[case.name]
                row["target"] = goal
                row["met"] = None if goal is None else row["ratio"] >= goal
                results[case.name] = row
    return results


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench", description=__doc__, formatter_class=HelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=2, help="seconds per measurement")
    parser.add_argument(
        "--rounds", type=int, default=7, help="measurement pairs; ratio = median of the pairs"
    )
    parser.add_argument("--warmup", type=int, default=1, help="seconds of load before measuring")
    parser.add_argument("--connections", type=int, default=32, help="wrk's open connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk's threads")
    parser.add_argument(
        "--journal-size",
        type=int,
        help="the mock's request journal size (0: off; default: the mock's own default)",
    )
    parser.add_argument("--output", type=Path, help="also write the JSON here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser


def wrk_version() -> str:
    """What a report names as its tool: wrk's own version line."""
    version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return (version.split(" [")[0] or "wrk").strip()


def print_report(report: dict[str, Any], output: Path | None) -> None:
    """A benchmark's JSON report on stdout, and in ``output`` when given."""
    text = json.dumps(report, indent=2)
    print(text)
    if output:
        output.write_text(text + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if shutil.which("wrk") is None:
        print(WRK_HINT, file=sys.stderr)
        return 2
    results = run(
        args.seconds, args.connections, args.threads, args.warmup, args.rounds, args.journal_size
    )
    report = {
        "tool": wrk_version(),
        "seconds": args.seconds,
        "rounds": args.rounds,
        "journalSize": args.journal_size,
        "connections": args.connections,
        "threads": args.threads,
        "cpus": os.cpu_count(),
        "scenarios": results,
    }
    print_report(report, args.output)
    missed = [name for name, row in results.items() if row["met"] is False]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
