"""The console's files at ``/_mock/ui/``: served from the package, public, and no way around
the admin token — a path can name only the console's own files, and every data path still
needs the token. (``test_console_browser.py`` drives the page itself.)"""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from mockserver.http import console
from mockserver.http.control import control_spec
from tests.mock_kit import control, data_of, error_of

MODULE_IMPORT = re.compile(r'from\s*"(\./[^"]+)"')


async def test_the_console_page_is_served_without_a_token(mock, client):
    reply = await client.get("/_mock/ui/")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>ChildrenBooks mock · console</title>" in reply.text


async def test_the_bare_path_redirects_to_the_page(mock, client):
    reply = await client.get("/_mock/ui")
    assert reply.status_code == 308
    assert reply.headers["location"] == "/_mock/ui/"


async def test_the_page_may_run_only_its_own_scripts(mock, client):
    reply = await client.get("/_mock/ui/")
    policy = reply.headers["content-security-policy"]
    import_map = re.search(r'<script type="importmap">(.*?)</script>', reply.text, re.S)
    digest = base64.b64encode(hashlib.sha256(import_map.group(1).encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy


async def test_every_module_the_page_imports_is_served(mock, client):
    """From the page's own script through every relative import, vendored libraries included."""
    pending, seen = ["app.js"], set()
    while pending:
        name = pending.pop()
        seen.add(name)
        reply = await client.get(f"/_mock/ui/{name}")
        assert reply.status_code == 200, name
        assert reply.headers["content-type"] == "text/javascript; charset=utf-8"
        folder = name.rpartition("/")[0]
        for target in MODULE_IMPORT.findall(reply.text):
            resolved = f"{folder}/{target[2:]}" if folder else target[2:]
            if resolved not in seen:
                pending.append(resolved)
    assert {"app.js", "api.js", "ui.js", "journal.js"} <= seen
    for vendored in ("preact.mjs", "hooks.mjs", "htm.mjs"):
        assert (await client.get(f"/_mock/ui/vendor/{vendored}")).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/_mock/ui/..%2F..%2Fcontrol-api.yaml",
        "/_mock/ui/%2e%2e%2fhttp%2fconsole.py",
        "/_mock/ui/vendor/..%2Findex.html",
        "/_mock/ui/vendor/LICENSE-preact",
        "/_mock/ui/nothing.js",
    ],
)
async def test_only_the_consoles_own_files_are_served(mock, client, path):
    error_of(await client.get(path), 404, "NOT_FOUND")


def test_only_the_console_files_and_health_need_no_token():
    public = {
        op["operationId"]
        for item in control_spec().document["paths"].values()
        for method, op in item.items()
        if isinstance(op, dict) and op.get("security") == []
    }
    assert public == {"health", "consoleEntry", "consoleFile", "consoleVendorFile", "consoleAsset"}


async def test_the_console_shows_illustrations_outside_the_journal(mock, client):
    book = (await control(client, mock, "POST", "users/user_dev_pro/books", {}))["id"]
    reply = await client.get(f"/_mock/ui/assets/{book}/cover.png")
    assert (reply.status_code, reply.headers["content-type"]) == (200, "image/png")
    assert reply.content == (await client.get(f"/assets/{book}/cover.png")).content
    journaled = data_of(await client.get("/_mock/requests", headers=mock.admin_headers))
    assert [r["path"] for r in journaled] == [f"/assets/{book}/cover.png"]


async def test_health_tells_the_page_where_the_token_goes(mock, client):
    health = data_of(await client.get("/_mock/health"))
    assert (health["adminHeader"], health["console"]) == ("X-Mock-Admin-Token", "/_mock/ui/")


def test_vendored_libraries_are_the_published_files():
    vendor = console.CONSOLE_DIR / "vendor"
    table = re.findall(
        r"^\| (\S+\.mjs) \|.*\| ([0-9a-f]{64}) \|$", (vendor / "README.md").read_text(), re.M
    )
    assert {name for name, _ in table} == {p.name for p in vendor.glob("*.mjs")}
    for name, digest in table:
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
