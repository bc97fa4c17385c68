"""pytest fixtures for SDK authors: the ChildrenBooks mock one fixture away.

* ``cbk_respx`` — the mock in-process behind a respx router, active for the test
  (``mockserver.testing.respx_router.ChildrenBooksRouter``): httpx clients reach it at the API's
  production URL, with no port, subprocess or network.
* ``cbk_server`` — a live ``cbk-mock serve`` on a free port, started once per session
  (``mockserver.testing.sdk_kit.LiveMock``): ``.url``, ``.keys`` and the control operations.

Both offer the same control operations (``advance_clock``, ``fail_next_job``, ``queue_errors``,
``create_user``, ``usage``, ``set_usage``...) and start every test from a clean state: fresh dev
users, no books, the clock back at its start. Choose with:

* ``@pytest.mark.cbk_clock("system")``, ``--cbk-clock=system`` or the ini option ``cbk_clock``:
  the clock mode (default ``manual``: time moves only when a test advances it);
* ``@pytest.mark.cbk_keep_state``: keep what earlier tests left instead of resetting;
* ``@pytest.mark.cbk_respx(using="httpx", base_url=..., assert_all_mocked=...)``: router options.

The plugin is registered for every pytest run where the toolkit is installed, so it imports
nothing beyond pytest until a test asks for one of its fixtures.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mockserver.testing.respx_router import ChildrenBooksRouter, InProcessMock
    from mockserver.testing.sdk_kit import LiveMock

INSTALL_HINT = "pip install 'childrenbooks-toolkit[sdk]'"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("childrenbooks", "ChildrenBooks mock (cbk_respx, cbk_server)")
    group.addoption(
        "--cbk-clock",
        dest="cbk_clock",
        default=None,
        help="clock mode of the cbk_respx and cbk_server mocks: manual (default) or system",
    )
    parser.addini("cbk_clock", "clock mode of the ChildrenBooks mocks (manual or system)")


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "cbk_clock(mode): clock mode of cbk_respx / cbk_server for this test (manual or system)",
        "cbk_keep_state: cbk_respx / cbk_server keep earlier tests' state instead of resetting",
        "cbk_respx(**options): ChildrenBooksRouter options (using, base_url, assert_all_mocked)",
    ):
        config.addinivalue_line("markers", line)


class _SessionMocks:
    """The session's mocks, one per kind and clock mode, started on first use."""

    def __init__(self) -> None:
        self._in_process: dict[str, InProcessMock] = {}
        self._servers: dict[str, LiveMock] = {}
        self._stack = contextlib.ExitStack()

    def in_process(self, clock: str) -> InProcessMock:
        if clock not in self._in_process:
            from mockserver.core.config import MockConfig
            from mockserver.testing.respx_router import InProcessMock

            mock = InProcessMock(MockConfig(clock=clock, validate_responses=True))
            self._stack.callback(mock.close)
            self._in_process[clock] = mock
        return self._in_process[clock]

    def server(self, clock: str) -> LiveMock:
        if clock not in self._servers:
            from mockserver.testing.process import MockProcess

            process = MockProcess("--clock", clock, "--validate-responses", "--no-access-log")
            self._servers[clock] = self._stack.enter_context(process).control()
        return self._servers[clock]

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="session")
def _cbk_session_mocks() -> Iterator[_SessionMocks]:
    mocks = _SessionMocks()
    yield mocks
    mocks.close()


def _clock_mode(request: pytest.FixtureRequest) -> str:
    from mockserver.core.clock import CLOCK_MODES, TEST_CLOCK

    marker = request.node.get_closest_marker("cbk_clock")
    mode = (
        (marker and (marker.args[0] if marker.args else marker.kwargs.get("mode")))
        or request.config.getoption("cbk_clock")
        or request.config.getini("cbk_clock")
        or TEST_CLOCK
    )
    if mode not in CLOCK_MODES:
        raise pytest.UsageError(f"cbk clock mode must be one of {CLOCK_MODES}, not {mode!r}")
    return mode


def _fresh(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("cbk_keep_state") is None


@pytest.fixture
def cbk_respx(
    request: pytest.FixtureRequest, _cbk_session_mocks: _SessionMocks
) -> Iterator[ChildrenBooksRouter]:
    """The mock in-process behind a respx router, patched in for this test."""
    try:
        from mockserver.testing.respx_router import ChildrenBooksRouter
    except ImportError as exc:
        pytest.fail(f"cbk_respx needs respx and httpx ({exc}): {INSTALL_HINT}", pytrace=False)
    marker = request.node.get_closest_marker("cbk_respx")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    mock = _cbk_session_mocks.in_process(_clock_mode(request))
    router = ChildrenBooksRouter(mock, **options)
    if _fresh(request):
        router.reset_state()
    seen = len(mock.gateway.violations)
    with router:
        yield router
    violations = mock.gateway.violations[seen:]
    assert not violations, f"the mock's responses violated openapi.yaml: {violations}"


@pytest.fixture
def cbk_server(request: pytest.FixtureRequest, _cbk_session_mocks: _SessionMocks) -> LiveMock:
    """A live ``cbk-mock serve`` on a free port (one per session and clock mode)."""
    server = _cbk_session_mocks.server(_clock_mode(request))
    if _fresh(request):
        server.reset_state()
    return server
