"""The web console's static files (``mockserver/console/``), served under ``/_mock/ui/``.

No build step: the files ship in the package as they are and are read once. They are public
(they hold no data); the page asks for the admin token and gets every piece of data, and makes
every change, through the control API. A Content-Security-Policy keeps the page to its own
origin: no inline script but the import map (allowed by its hash), nothing from elsewhere.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from pathlib import Path

from mockserver.core.errors import ApiError
from mockserver.http.messages import HttpReply

ENTRY = "/_mock/ui/"
INDEX = "index.html"
CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
_IMPORT_MAP = re.compile(rb'<script type="importmap">(.*?)</script>', re.S)


@functools.cache
def _files() -> dict[str, tuple[bytes, str]]:
    """Relative name → (content, content type), for every servable file of the console."""
    return {
        path.relative_to(CONSOLE_DIR).as_posix(): (path.read_bytes(), _TYPES[path.suffix])
        for path in sorted(CONSOLE_DIR.rglob("*"))
        if path.is_file() and path.suffix in _TYPES
    }


@functools.cache
def content_security_policy() -> str:
    scripts = ["'self'"]
    for block in _IMPORT_MAP.findall(_files()[INDEX][0]):
        scripts.append(f"'sha256-{base64.b64encode(hashlib.sha256(block).digest()).decode()}'")
    return (
        f"default-src 'none'; script-src {' '.join(scripts)}; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )


def reply(name: str) -> HttpReply:
    """The file ``name`` (a path relative to the console's folder); NOT_FOUND for anything
    else, so no name — ``..`` or an encoded ``/`` included — reaches another file."""
    found = _files().get(name)
    if found is None:
        raise ApiError("NOT_FOUND", "No such console file.")
    content, content_type = found
    headers = {
        "content-type": content_type,
        "cache-control": "no-cache",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
    }
    if content_type.startswith("text/html"):
        headers["content-security-policy"] = content_security_policy()
    return HttpReply(200, headers, content)
