"""``cbk-mock proxy`` and ``cbk-mock parity``: their options and what they run.

``mockserver.serve.cli`` registers both with ``add_commands`` and calls ``args.run(args)``, so
the proxy's command line lives here, next to what it drives.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import urllib.parse
from pathlib import Path

import yaml

from mockserver.clause_ids import DECISIONS_PROFILE, PAGE_PROFILE, PROFILES
from mockserver.core.config import MockConfig
from mockserver.proxy import parity
from mockserver.proxy.inspector import Inspector
from mockserver.proxy.recording import Cassette, Recorder, cassettes_in
from mockserver.proxy.server import DEFAULT_TIMEOUT, ProxyOptions, report_json, serve_proxy

COMMANDS = ("proxy", "parity")
DEFAULT_PORT = 8081
BANNER_PREFIX = "cbk-mock proxy listening on "


def add_commands(sub: argparse._SubParsersAction) -> None:
    proxy = sub.add_parser(
        "proxy",
        help="forward the API to a deployment and check every exchange against the contract",
        description="Forward /v1/… to --upstream and check each exchange: conformance, "
        "rate-limit truth per key, lifecycles per book, idempotency, ownership. Exits 1 when "
        "there were violations (on SIGINT/SIGTERM). See docs/proxy.md.",
    )
    proxy.add_argument(
        "--upstream",
        required=True,
        metavar="URL",
        help="base URL of the deployment, e.g. https://staging.example.com (required)",
    )
    proxy.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    proxy.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port to listen on; 0 picks a free one (default: %(default)s)",
    )
    proxy.add_argument(
        "--strict",
        action="store_true",
        help="answer a violating response with 502 EXTERNAL_SERVICE_ERROR listing the "
        "violations in error.meta, so the client's test fails where it stands (default: off)",
    )
    proxy.add_argument(
        "--profile",
        choices=PROFILES,
        default=DECISIONS_PROFILE,
        help="as cbk-contracts --profile: 'page' fails only what the vendor page states and "
        "reports broken decision clauses as warnings (no exit 1, no --strict 502, no JUnit "
        "failure); 'decisions' fails every clause (default: %(default)s)",
    )
    proxy.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="write the report as JSON here at exit (default: none; GET /_proxy/report any time)",
    )
    proxy.add_argument(
        "--junitxml",
        type=Path,
        metavar="FILE",
        help="write a JUnit XML report at exit, one test case per clause (default: none)",
    )
    proxy.add_argument(
        "--record",
        type=Path,
        metavar="DIR",
        help="write a normalised recording of each session to DIR (default: no recording)",
    )
    proxy.add_argument(
        "--upstream-ca",
        type=Path,
        metavar="FILE",
        help="verify the upstream's certificate against this CA file (PEM) instead of the "
        "system's CAs (default: the system's)",
    )
    proxy.add_argument(
        "--upstream-timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="give up on an upstream answer after this long: 502 (default: %(default)g)",
    )
    proxy.add_argument(
        "--shared-keys",
        action="store_true",
        help="other clients use the same keys: skip the rate-limit checks that need to see "
        "every request of a key (default: off)",
    )
    proxy.add_argument(
        "--no-access-log", action="store_true", help="no line per request (default: logged)"
    )
    proxy.add_argument("--log-level", default="INFO", help="log level (default: %(default)s)")
    proxy.set_defaults(run=run_proxy)

    check = sub.add_parser(
        "parity",
        help="replay recordings against a fresh mock and show where it answers differently",
        description="Replay each cassette in DIR against a fresh in-process mock (manual "
        "clock advanced by the recorded gaps, users of the recorded plans) and compare the "
        "normalised answers. Exits 1 on differences not ignored. See docs/proxy.md.",
    )
    check.add_argument(
        "directory", type=Path, metavar="DIR", help="cassettes (or one cassette file)"
    )
    check.add_argument(
        "--ignore",
        nargs="+",
        action="extend",
        default=[],
        metavar="PATH",
        help="differences to ignore, as shell patterns of their paths, e.g. "
        "'headers.x-ratelimit-reset' 'body.data.pages*' 'lifecycle *'; give DIR first "
        "(default: none)",
    )
    check.add_argument(
        "--update",
        action="store_true",
        help="rewrite each cassette from the mock's answers, for fixtures kept as the mock "
        "answers (default: only lastVerifiedAt is written, when nothing differs)",
    )
    check.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the replaying mock's YAML config, as for serve --config (default: built-in)",
    )
    check.add_argument("--log-level", default="WARNING", help="log level (default: %(default)s)")
    check.set_defaults(run=run_parity)


# --- cbk-mock proxy --------------------------------------------------------------------------
def _options(args: argparse.Namespace) -> ProxyOptions:
    parts = urllib.parse.urlsplit(args.upstream)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SystemExit(
            f"cbk-mock proxy: --upstream must be an http(s) URL, not {args.upstream!r}"
        )
    if args.upstream_ca is not None and not args.upstream_ca.is_file():
        raise SystemExit(f"cbk-mock proxy: --upstream-ca {args.upstream_ca}: no such file")
    if args.upstream_timeout <= 0:
        raise SystemExit("cbk-mock proxy: --upstream-timeout must be positive")
    return ProxyOptions(args.upstream.rstrip("/"), args.upstream_ca, args.upstream_timeout)


def run_proxy(args: argparse.Namespace) -> int:
    options = _options(args)
    recorder = Recorder(args.record, options.upstream) if args.record else None
    inspector = Inspector(
        options.upstream,
        strict=args.strict,
        profile=args.profile,
        shared_keys=args.shared_keys,
        recorder=recorder,
    )
    asyncio.run(_serve(inspector, options, args))
    inspector.end_session()
    if args.report:
        args.report.write_text(report_json(inspector), encoding="utf-8")
    if args.junitxml:
        args.junitxml.write_text(inspector.junit(), encoding="utf-8")
    counts = ", ".join(f"{clause} ×{n}" for clause, n in sorted(inspector.counts.items()))
    warned = ", ".join(f"{clause} ×{n}" for clause, n in sorted(inspector.warnings.items()))
    warnings = f"; {inspector.warning_count} warnings: {warned}" if warned else ""
    print(
        f"cbk-mock proxy: {inspector.exchanges} exchanges, {inspector.violation_count} "
        f"violations{': ' + counts if counts else ''}{warnings}",
        file=sys.stderr,
        flush=True,
    )
    return 1 if inspector.violation_count else 0


async def _serve(inspector: Inspector, options: ProxyOptions, args: argparse.Namespace) -> None:
    async with serve_proxy(
        inspector, options, args.host, args.port, access_log_enabled=not args.no_access_log
    ) as (_, url):
        lines = [f"{BANNER_PREFIX}{url}", f"  upstream: {options.upstream}"]
        if args.strict:
            lines.append("  strict: violating answers become 502 EXTERNAL_SERVICE_ERROR")
        if args.profile == PAGE_PROFILE:
            lines.append("  profile: page (broken decision clauses are warnings)")
        if args.record:
            lines.append(f"  recording to: {args.record}")
        lines.append(f"  report: {url}/_proxy/report")
        print("\n".join(lines), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()


# --- cbk-mock parity -------------------------------------------------------------------------
def run_parity(args: argparse.Namespace) -> int:
    paths = [args.directory] if args.directory.is_file() else cassettes_in(args.directory)
    if not paths:
        print(f"cbk-mock parity: no cassettes in {args.directory}", file=sys.stderr)
        return 2
    try:
        config = MockConfig.from_file(args.config) if args.config else None
        cassettes = [Cassette.load(path) for path in paths]
        results = asyncio.run(
            parity.verify(cassettes, ignore=args.ignore, update=args.update, config=config)
        )
    except (OSError, ValueError, TypeError, yaml.YAMLError, parity.ReplayError) as exc:
        print(f"cbk-mock parity: {exc}", file=sys.stderr)
        return 2
    for result in results:
        print(parity.describe(result, updated=args.update))
    differing = sum(len(r.differences) for r in results)
    print(f"parity: {len(results)} cassette(s), {differing} difference(s) not ignored")
    return 1 if differing and not args.update else 0
