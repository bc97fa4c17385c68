"""``python -m loadtests.bench_proxy``: what the validating proxy costs — the mock's throughput
and latency through ``cbk-mock proxy`` against a direct connection, in the same run, with wrk.

Scenarios as in ``loadtests.bench``: an authenticated poll of a completed book and a create,
every limit out of reach, with ``--connections`` clients; and the poll with one client, the
latency a test suite sees. The mock and the proxy share one CPU (the proxy's work is all
additional), wrk gets the others. ``ratio`` is the median over rounds of proxied/direct req/s,
each round measuring both back to back. Nothing is asserted: the numbers are printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import urllib.request
from pathlib import Path
from typing import Any

from loadtests import bench, target
from mockserver.testing.process import ProxyProcess


def run(seconds: int, connections: int, threads: int, warmup: int, rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    placement = bench.Placement.split()
    options: dict[str, Any] = {"threads": threads, "placement": placement}
    with target.running_mock(bench.bench_config(), page_seconds=0.01) as mock:
        mock_pid = mock.extra.get("pid")
        placement.pin_server(mock_pid)  # type: ignore[arg-type]
        cases = [case for case in bench.scenarios(mock) if case.name in ("get", "post")]
        # The direct rounds spend the same key unseen by the proxy: --shared-keys.
        proxy = ProxyProcess(mock.url, "--shared-keys", "--no-access-log", "--log-level", "ERROR")
        try:
            proxy_url = proxy.start()
            placement.pin_server(proxy.process.pid if proxy.process else None)
            # Throughput with many clients, and the latency one client (a test suite) sees.
            runs = [(case.name, case, connections) for case in cases]
            runs.append(("getOneClient", cases[0], 1))
            for name, case, clients in runs:
                pairs: list[bench.Target] = [
                    ("direct", mock.url, case, mock_pid),  # type: ignore[list-item]
                    ("proxied", proxy_url, case, mock_pid),  # type: ignore[list-item]
                ]
                options["connections"] = clients
                for _, url, scenario, _ in pairs:
                    bench.wrk(url, scenario, seconds=warmup, **options)
                row: dict[str, Any] = {"connections": clients}
                row.update(bench.measure(pairs, seconds=seconds, rounds=rounds, **options))
                row["ratio"] = bench.paired_ratio(
                    row["proxied"]["rpsRounds"], row["direct"]["rpsRounds"]
                )
                row["addedP50Ms"] = round(row["proxied"]["p50Ms"] - row["direct"]["p50Ms"], 2)
                results[name] = row
            with urllib.request.urlopen(f"{proxy_url}/_proxy/report", timeout=10) as answer:
                report = json.load(answer)["data"]
            results["proxyReport"] = {
                "exchanges": report["exchanges"],
                "violationCounts": report["violationCounts"],
            }
        finally:
            proxy.stop()
            proxy.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench_proxy", description=__doc__)
    parser.add_argument("--seconds", type=int, default=2, help="per measurement (default: 2)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="measurement pairs; ratio = their median (default: 5)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="seconds per target (default: 1)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default: 16)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default: 1)")
    parser.add_argument("--output", type=Path, help="also write the JSON here (default: none)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print(bench.WRK_HINT, file=sys.stderr)
        return 2
    results = run(args.seconds, args.connections, args.threads, args.warmup, args.rounds)
    report = {
        "tool": bench.wrk_version(),
        "seconds": args.seconds,
        "rounds": args.rounds,
        "connections": args.connections,
        "cpus": os.cpu_count(),
        "scenarios": results,
    }
    bench.print_report(report, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
