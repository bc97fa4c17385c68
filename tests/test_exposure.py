"""Exposure guard (api-decisions, mock-only): listening off loopback with the default admin
token is refused, with one line saying how to set a token; loopback keeps the convenience."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mockserver.core.config import DEFAULT_ADMIN_TOKEN, MockConfig
from mockserver.core.runtime import build_service
from mockserver.serve import app as aiohttp_app


def _serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_non_loopback_bind_with_the_default_token_is_refused_in_one_line(host):
    refused = _serve("--host", host)
    assert refused.returncode != 0
    assert refused.stdout == ""
    (line,) = refused.stderr.splitlines()
    assert "--admin-token" in line and "adminToken" in line


def test_workers_are_refused_before_any_starts(tmp_path):
    refused = _serve("--host", "0.0.0.0", "--workers", "2", "--redis-url", "redis://127.0.0.1:1")
    assert refused.returncode != 0
    assert len(refused.stderr.splitlines()) == 1


def test_the_default_token_set_in_the_config_file_is_refused_too(tmp_path):
    config = tmp_path / "mock.yaml"
    config.write_text(f"adminToken: {DEFAULT_ADMIN_TOKEN}\n")
    refused = _serve("--host", "0.0.0.0", "--config", str(config))
    assert refused.returncode != 0 and "adminToken" in refused.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_keeps_the_default_token(host):
    assert aiohttp_app.exposure_refusal(host, DEFAULT_ADMIN_TOKEN) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.0.2.7", "no-such-host.invalid"])
def test_an_own_token_may_listen_anywhere_and_the_default_or_none_may_not(host):
    assert aiohttp_app.exposure_refusal(host, "my-own-admin-token") is None
    assert aiohttp_app.exposure_refusal(host, DEFAULT_ADMIN_TOKEN) is not None
    assert aiohttp_app.exposure_refusal(host, "") is not None


async def test_starting_in_process_off_loopback_is_refused():
    app = aiohttp_app.create_app(build_service(MockConfig()))
    with pytest.raises(ValueError, match="--admin-token"):
        await aiohttp_app.start(app, "0.0.0.0", 0)
