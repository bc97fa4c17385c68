"""``cbk-mock`` — run the ChildrenBooks mock server: options, TLS, worker processes, the
banner scripts read the URL and keys from."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import errno
import json
import logging
import multiprocessing
import os
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import yaml

from mockserver.core import keys
from mockserver.core.accounts import dev_keys
from mockserver.core.clock import CLOCK_MODES
from mockserver.core.config import (
    DEFAULT_JOURNAL_SIZE,
    DEFAULT_MAX_BOOKS,
    DEFAULT_PAGE_SECONDS,
    MAX_JOURNAL_SIZE,
    REALISTIC_PAGE_SECONDS,
    MockConfig,
)
from mockserver.core.dev import ADMIN_HEADER, DEFAULT_ADMIN_TOKEN
from mockserver.core.runtime import build_service
from mockserver.proxy import cli as proxy_cli
from mockserver.serve import app as aiohttp_app
from mockserver.serve import tls
from mockserver.serve.help import HelpFormatter
from mockserver.testing.sdk_kit import LiveMock, MockControlError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cbk-mock",
        description="Run the ChildrenBooks Developer API v1 mock server.",
        formatter_class=HelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve",
        help="serve the mock API",
        description="Serve the mock API.",
        formatter_class=HelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument(
        "--port", type=int, default=8080, help="port to listen on; 0 picks a free one"
    )
    serve.add_argument(
        "--config", type=Path, help="YAML file of plans, limits and timings (see docs/mock.md)"
    )
    serve.add_argument("--keys-file", type=Path, help="write the dev users' keys here as JSON")
    serve.add_argument(
        "--page-seconds",
        type=float,
        help=f"generation time per page (default: {DEFAULT_PAGE_SECONDS:g}, or the config's)",
    )
    serve.add_argument(
        "--realistic",
        action="store_true",
        help=f"{REALISTIC_PAGE_SECONDS:g} s per page, as the reference page's example",
    )
    serve.add_argument(
        "--clock",
        choices=CLOCK_MODES,
        help="system: wall time; manual: moves only when the control API moves it"
        " (default: system, or the config's)",
    )
    serve.add_argument(
        "--admin-token",
        help=f"token of the control API, sent as {ADMIN_HEADER}"
        f" (default: {DEFAULT_ADMIN_TOKEN}, or the config's)",
    )
    serve.add_argument(
        "--redis-url",
        help="keep idempotency records and rate-limit counters in this Redis (default: memory)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port; more than 1 needs --redis-url",
    )
    serve.add_argument(
        "--tls", action="store_true", help="HTTPS with a generated certificate (CA file printed)"
    )
    serve.add_argument(
        "--tls-dir",
        type=Path,
        help="where --tls writes its CA file (default: a temporary directory, removed at exit)",
    )
    serve.add_argument("--cert", type=Path, help="certificate file (PEM) for HTTPS, with --key")
    serve.add_argument("--key", type=Path, help="private key file (PEM) of --cert")
    serve.add_argument(
        "--validate-responses",
        action="store_true",
        help="check every response against openapi.yaml; a violation answers 500",
    )
    journal = serve.add_argument_group("request journal (GET /_mock/requests, the console)")
    journal.add_argument(
        "--journal-size",
        type=int,
        help=f"exchanges kept, newest first; 0 turns the journal off"
        f" (default: {DEFAULT_JOURNAL_SIZE}, or the config's)",
    )
    journal.add_argument(
        "--journal-control",
        action="store_true",
        help="journal the control API's calls too (default: the public API's only)",
    )
    serve.add_argument("--no-access-log", action="store_true", help="log no line per request")
    serve.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
        help="least severe log messages shown",
    )
    # Hardening for long runs and hostile clients (docs/operations.md).
    serve.add_argument(
        "--max-books",
        type=int,
        help=f"books kept; the oldest are evicted past it, with their idempotency records"
        f" (default: {DEFAULT_MAX_BOOKS}, or the config's)",
    )
    serve.add_argument(
        "--header-timeout",
        type=_positive_seconds,
        default=aiohttp_app.DEFAULT_HEADER_TIMEOUT,
        help="seconds a request head (and then its body) may take to arrive",
    )
    serve.add_argument(
        "--keepalive-timeout",
        type=_positive_seconds,
        default=aiohttp_app.DEFAULT_KEEPALIVE_TIMEOUT,
        help="seconds an idle keep-alive connection stays open",
    )
    proxy_cli.add_commands(sub)
    return parser


def _positive_seconds(text: str) -> float:
    seconds = float(text)
    if not 0 < seconds < 86400:
        raise argparse.ArgumentTypeError("expected seconds above 0 and below 86400")
    return seconds


class _MaskingFormatter(logging.Formatter):
    """Whatever a log line quotes (paths, parser errors, tracebacks), API keys come out masked."""

    def format(self, record: logging.LogRecord) -> str:
        return keys.mask(super().format(record))


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_MaskingFormatter("%(asctime)s %(name)s %(message)s"))


def _load_config(path: Path | None) -> MockConfig:
    if path is None:
        return MockConfig()
    try:
        return MockConfig.from_file(path)
    except (OSError, ValueError, TypeError, AttributeError, yaml.YAMLError) as exc:
        raise SystemExit(f"cbk-mock: --config {path}: {exc}") from None


def config_from_args(args: argparse.Namespace) -> MockConfig:
    config = _load_config(args.config)
    overrides: dict[str, Any] = {}
    if args.realistic:
        overrides["page_seconds"] = REALISTIC_PAGE_SECONDS
    if args.page_seconds is not None:
        overrides["page_seconds"] = args.page_seconds
    for name in ("clock", "admin_token", "redis_url", "max_books"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    if args.validate_responses:
        overrides["validate_responses"] = True
    if args.workers > 1:
        overrides["shared_records"] = True
    if args.journal_size is not None:
        overrides["journal_size"] = args.journal_size
    if args.journal_control:
        overrides["journal_control"] = True
    config = dataclasses.replace(config, **overrides)
    if config.clock not in CLOCK_MODES:
        raise SystemExit(f"cbk-mock: clock must be system or manual, not {config.clock!r}")
    if config.page_seconds < 0:
        raise SystemExit("cbk-mock: page seconds must not be negative")
    if not isinstance(config.journal_size, int) or not 0 <= config.journal_size <= MAX_JOURNAL_SIZE:
        raise SystemExit(f"cbk-mock: journal size must be 0..{MAX_JOURNAL_SIZE}")
    if not isinstance(config.max_books, int) or isinstance(config.max_books, bool):
        raise SystemExit("cbk-mock: max books (maxBooks) must be a whole number")
    if config.max_books < 1:
        raise SystemExit("cbk-mock: max books (maxBooks) must be at least 1")
    return config


def _without_password(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()


def _banner(url: str, config: MockConfig, workers: int, ca_file: Path | None) -> str:
    state = f"redis {_without_password(config.redis_url)}" if config.redis_url else "memory"
    lines = [
        f"cbk-mock listening on {url}",
        f"  clock {config.clock} · {config.page_seconds:g} s per page · state: {state}"
        f" · workers: {workers}",
        f"  control API: {url}/_mock/  ({ADMIN_HEADER}: {config.admin_token})",
        f"  console: {url}/_mock/ui/",
    ]
    if ca_file:
        lines.append(f"  TLS CA file: {ca_file}")
    lines.append("  dev keys:")
    lines += [f"    {name:<8} {key}" for name, key in dev_keys().items()]
    return "\n".join(lines)


def _ssl_context(
    args: argparse.Namespace, stack: contextlib.ExitStack
) -> tuple[ssl.SSLContext | None, Path | None]:
    """The server's TLS context, if any, and the CA file clients should trust. A generated
    certificate's directory, unless given, is temporary: ``stack`` removes it at exit."""
    if args.cert or args.key:
        if not (args.cert and args.key):
            raise SystemExit("cbk-mock: --cert and --key go together")
        for option, path in (("--cert", args.cert), ("--key", args.key)):
            if not path.is_file():
                raise SystemExit(f"cbk-mock: {option} {path}: no such file")
        try:
            return tls.file_context(str(args.cert), str(args.key)), None
        except (OSError, ssl.SSLError) as exc:
            raise SystemExit(f"cbk-mock: --cert {args.cert} --key {args.key}: {exc}") from None
    if args.tls:
        directory = args.tls_dir
        if directory is None:
            temporary = tempfile.TemporaryDirectory(prefix="cbk-mock-tls-")
            directory = Path(stack.enter_context(temporary))
        return tls.generated_context(directory, ("127.0.0.1", "localhost", "::1"))
    return None, None


def _cannot_listen(host: str, port: int, exc: OSError) -> SystemExit:
    """One line naming the address and the option that chose it, instead of a traceback."""
    if exc.errno == errno.EADDRINUSE:
        return SystemExit(
            f"cbk-mock: port {port} on {host} is already in use:"
            " choose another with --port (0 picks a free one)"
        )
    return SystemExit(f"cbk-mock: cannot listen on {host} port {port} (--host, --port): {exc}")


async def _serve(config: MockConfig, args: argparse.Namespace, port: int, *, worker: bool) -> None:
    app = aiohttp_app.create_app(build_service(config))
    try:
        runner, url = await aiohttp_app.start(
            app,
            args.host,
            port,
            ssl_context=args.ssl_context,
            reuse_port=args.workers > 1,
            access_log_enabled=not args.no_access_log,
            header_timeout=args.header_timeout,
            keepalive_timeout=args.keepalive_timeout,
        )
    except OSError as exc:
        raise _cannot_listen(args.host, port, exc) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Only now: whoever reads the banner may stop us at once, and must get a clean exit.
    if not worker:
        _announce(url, config, args)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def _announce(url: str, config: MockConfig, args: argparse.Namespace) -> None:
    if args.keys_file:
        args.keys_file.write_text(json.dumps(dev_keys(), indent=2) + "\n")
    print(_banner(url, config, args.workers, args.ca_file), flush=True)


def _worker_main(config: MockConfig, args: argparse.Namespace, port: int) -> None:
    _configure_logging(args.log_level)
    threading.Thread(target=_stop_when_orphaned, args=(os.getppid(),), daemon=True).start()
    asyncio.run(_serve(config, args, port, worker=True))


def _stop_when_orphaned(parent: int, interval: float = 0.5) -> None:
    """A worker whose parent died (even by SIGKILL) stops too, instead of serving forever."""
    while os.getppid() == parent:
        time.sleep(interval)
    os.kill(os.getpid(), signal.SIGTERM)


def _reserve_port(host: str, port: int) -> socket.socket:
    """Bind (without listening) so every worker can share the port via SO_REUSEPORT."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise _cannot_listen(host, port, exc) from None
    return sock


def _wait_healthy(url: str, ca_file: Path | None, timeout: float = 20.0) -> None:
    context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
    control = LiveMock(url, timeout=1, ssl_context=context)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, MockControlError):
            control.health()
            return
        time.sleep(0.05)
    raise SystemExit(f"workers did not become healthy at {url}")


def _serve_workers(config: MockConfig, args: argparse.Namespace) -> None:
    if not config.redis_url:
        raise SystemExit("--workers N needs --redis-url: the workers share their state there")
    asyncio.run(_seed(config))
    reserved = _reserve_port(args.host, args.port)
    port = reserved.getsockname()[1]
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_worker_main, args=(config, args, port), daemon=True)
        for _ in range(args.workers)
    ]
    for process in processes:
        process.start()
    scheme = "https" if args.ssl_context else "http"
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"{scheme}://{host}:{port}"
    _wait_healthy(url, args.ca_file)
    _announce(url, config, args)

    def terminate(*_: Any) -> None:
        for process in processes:
            process.terminate()

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    for process in processes:
        process.join()
    reserved.close()


async def _seed(config: MockConfig) -> None:
    service = build_service(config)
    try:
        await service.start()
    finally:
        await service.close()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.log_level)
    if args.command in proxy_cli.COMMANDS:
        return args.run(args)
    config = config_from_args(args)
    refusal = aiohttp_app.exposure_refusal(args.host, config.admin_token)
    if refusal is not None:
        raise SystemExit(refusal)
    with contextlib.ExitStack() as stack:
        args.ssl_context, args.ca_file = _ssl_context(args, stack)
        if args.workers > 1:
            _serve_workers(config, args)
        else:
            asyncio.run(_serve(config, args, args.port, worker=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
