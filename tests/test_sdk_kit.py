"""``mockserver.testing.sdk_kit``, the one client of ``/_mock/``: standard library only, one set
of operations over a blocking and an awaitable transport."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mockserver.core.dev import ADMIN_HEADER
from mockserver.http.control import control_spec
from mockserver.testing.sdk_kit import AsyncLiveMock, MockControlError

pytestmark = pytest.mark.mock_config(clock="manual")

#: What an SDK without those dependencies could not import.
HEAVY = ("aiohttp", "httpx", "yaml", "jsonschema", "multidict", "orjson", "mockserver.spec")


def test_importing_the_client_loads_no_third_party_package_and_no_spec():
    probe = (
        "import json, sys; import mockserver.testing.sdk_kit; "
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == []


def test_admin_header_is_the_control_specs_admin_token_scheme():
    scheme = control_spec().document["components"]["securitySchemes"]["AdminToken"]
    assert (scheme["in"], scheme["name"]) == ("header", ADMIN_HEADER)


async def test_async_client_drives_a_running_mock_without_blocking_its_loop(mock):
    control = AsyncLiveMock(mock.url, admin_token=mock.admin_token)
    before = (await control.clock())["now"]
    after = await control.advance_clock(3600)
    assert (before[:13], after["now"][:13]) == ("2026-01-05T09", "2026-01-05T10")
    assert (await control.usage("pro"))["creditsUsed"] == 0


async def test_async_client_raises_the_refusal_with_status_and_code(mock):
    control = AsyncLiveMock(mock.url, admin_token=mock.admin_token)
    with pytest.raises(MockControlError) as refused:
        await control.usage("nobody")
    assert (refused.value.status, refused.value.code) == (404, "NOT_FOUND")


async def test_async_client_without_keys_says_how_to_get_them(mock):
    with pytest.raises(LookupError, match="dev_users"):
        AsyncLiveMock(mock.url).keys  # noqa: B018


async def test_wrong_admin_token_is_refused_as_unauthorized(mock):
    control = AsyncLiveMock(mock.url, admin_token="wrong")
    with pytest.raises(MockControlError) as refused:
        await control.clock()
    assert (refused.value.status, refused.value.code) == (401, "UNAUTHORIZED")
