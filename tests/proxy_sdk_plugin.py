"""A pytest plugin that points the example SDK's tests at a validating proxy: ``cbk_server``
is the mock behind ``CBK_PROXY_URL``, reached through the proxy for API and control calls alike
(the proxy forwards ``/_mock/`` and follows the mock's clock and resets). Loaded with
``-p no:childrenbooks -p tests.proxy_sdk_plugin`` by ``tests/test_proxy.py``."""

from __future__ import annotations

import os

import pytest

from mockserver.testing.sdk_kit import LiveMock


@pytest.fixture
def cbk_server() -> LiveMock:
    server = LiveMock(os.environ["CBK_PROXY_URL"])
    server.reset_state()
    return server


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cbk_respx(**options): (not run through the proxy)")
