"""A stateful mock of the ChildrenBooks Developer API v1.

Typical in-process use::

    from mockserver import MockConfig, build_service, create_app

The live server is ``cbk-mock serve``; the in-process httpx router is
``mockserver.testing.respx_router``. Names are imported on first use: the pytest plugin lives
in this package and is loaded by every pytest run in an environment that has it installed,
which should not pay for aiohttp.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockserver.core.config import MockConfig
    from mockserver.core.errors import ApiError
    from mockserver.core.runtime import build_service
    from mockserver.core.service import MockService
    from mockserver.http.gateway import Gateway
    from mockserver.http.messages import HttpReply, HttpRequest
    from mockserver.serve.app import create_app

_EXPORTS = {
    "ApiError": "mockserver.core.errors",
    "Gateway": "mockserver.http.gateway",
    "HttpReply": "mockserver.http.messages",
    "HttpRequest": "mockserver.http.messages",
    "MockConfig": "mockserver.core.config",
    "MockService": "mockserver.core.service",
    "build_service": "mockserver.core.runtime",
    "create_app": "mockserver.serve.app",
}
__all__ = [
    "ApiError",
    "Gateway",
    "HttpReply",
    "HttpRequest",
    "MockConfig",
    "MockService",
    "build_service",
    "create_app",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
