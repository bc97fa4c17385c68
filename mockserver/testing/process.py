"""Running the mock for tests: in-process on the test's event loop, or as a subprocess.

Used by this project's own tests, the contract suite, the load-test smoke test and the pytest
plugin, so there is one way to start a mock and learn its URL and keys (and, with
``ProxyProcess``, a validating proxy in front of one).
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mockserver.core.accounts import dev_keys
from mockserver.core.config import MockConfig
from mockserver.core.dev import ADMIN_HEADER
from mockserver.core.runtime import build_service
from mockserver.core.service import MockService
from mockserver.http.gateway import Gateway
from mockserver.serve import app as aiohttp_app
from mockserver.testing.sdk_kit import LiveMock

BANNER_PREFIX = "cbk-mock listening on "


@dataclass
class RunningMock:
    url: str
    keys: dict[str, str]
    admin_token: str
    #: In-process only: the service and gateway behind the URL.
    service: MockService | None = None
    gateway: Gateway | None = None
    ca_file: Path | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def admin_headers(self) -> dict[str, str]:
        return {ADMIN_HEADER: self.admin_token}

    def control(self, *, timeout: float = 30.0) -> LiveMock:
        """The control client of this mock, over HTTP (trusting its CA file, if any)."""
        context = ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else None
        return LiveMock(self.url, self.keys, self.admin_token, timeout=timeout, ssl_context=context)


@contextlib.asynccontextmanager
async def serve_in_process(
    config: MockConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningMock]:
    config = config or MockConfig()
    service = build_service(config)
    app = aiohttp_app.create_app(service)
    runner, url = await aiohttp_app.start(app, host, port, access_log_enabled=False)
    try:
        yield RunningMock(
            url=url,
            keys=dev_keys(),
            admin_token=config.admin_token,
            service=service,
            gateway=app[aiohttp_app.GATEWAY],
        )
    finally:
        await runner.cleanup()


class ProxyProcess:
    """``cbk-mock proxy --upstream URL`` in a subprocess on a free port (``args`` are further
    proxy options); ``stop`` ends it as a user would (SIGTERM) and returns its exit code."""

    def __init__(self, upstream: str, *args: str, startup_timeout: float = 30.0) -> None:
        self._args = ["proxy", "--upstream", upstream, "--port", "0", *args]
        self._timeout = startup_timeout
        self._workdir = tempfile.TemporaryDirectory(prefix="cbk-proxy-")
        self.log_path = Path(self._workdir.name) / "proxy.log"
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> str:
        from mockserver.proxy.cli import BANNER_PREFIX

        log = open(self.log_path, "w")  # noqa: SIM115 — lives as long as the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mockserver", *self._args],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        watchdog = threading.Timer(self._timeout, self.process.kill)
        watchdog.start()
        try:
            for line in self.process.stdout:  # type: ignore[union-attr]
                if line.startswith(BANNER_PREFIX):
                    self.url = line[len(BANNER_PREFIX) :].strip()
                    return self.url
        finally:
            watchdog.cancel()
        self.close()
        raise RuntimeError(f"the proxy did not start; log:\n{self.log[-3000:]}")

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def close(self) -> None:
        """Kill it if still running and remove its log."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._workdir.cleanup()


class MockProcess:
    """``cbk-mock serve`` in a subprocess on a free port.

    ``command`` replaces ``python -m mockserver`` (the mutation tests start a broken variant)."""

    def __init__(
        self,
        *serve_args: str,
        command: Sequence[str] | None = None,
        env: dict[str, str] | None = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self._command = list(command or [sys.executable, "-m", "mockserver"])
        self._args = list(serve_args)
        self._env = env
        self._timeout = startup_timeout
        self._workdir = tempfile.TemporaryDirectory(prefix="cbk-mock-")
        self.log_path = Path(self._workdir.name) / "server.log"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> RunningMock:
        keys_file = Path(self._workdir.name) / "keys.json"
        args = ["serve", "--port", "0", "--keys-file", str(keys_file), *self._args]
        if "--tls" in args and "--tls-dir" not in args:
            args += ["--tls-dir", self._workdir.name]
        log = open(self.log_path, "w")  # noqa: SIM115 — lives as long as the process
        self.process = subprocess.Popen(
            [*self._command, *args],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, **(self._env or {})},
        )
        url, ca_file, admin = self._read_banner()
        return RunningMock(
            url=url, keys=json.loads(keys_file.read_text()), admin_token=admin, ca_file=ca_file
        )

    def _read_banner(self) -> tuple[str, Path | None, str]:
        """URL, CA file and admin token from the banner. A child that hangs before printing it
        is killed at the startup timeout, which ends the blocking ``readline``."""
        assert self.process is not None and self.process.stdout is not None
        watchdog = threading.Timer(self._timeout, self.stop)
        watchdog.start()
        url, ca_file, admin = None, None, MockConfig().admin_token
        try:
            for line in self.process.stdout:
                if line.startswith(BANNER_PREFIX):
                    url = line[len(BANNER_PREFIX) :].strip()
                elif "TLS CA file:" in line:
                    ca_file = Path(line.split("TLS CA file:", 1)[1].strip())
                elif f"({ADMIN_HEADER}: " in line:
                    admin = line.split(f"({ADMIN_HEADER}: ", 1)[1].strip().removesuffix(")")
                elif line.startswith("  dev keys:") and url:
                    return url, ca_file, admin
        finally:
            watchdog.cancel()
        self.stop()
        raise RuntimeError(f"mock did not start; log:\n{self.log_path.read_text()[-4000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> RunningMock:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._workdir.cleanup()
