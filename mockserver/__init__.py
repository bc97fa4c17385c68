"""A stateful mock of the ChildrenBooks Developer API v1.

Typical in-process use::

    from mockserver import MockConfig, build_service, create_app

The live server is ``cbk-mock serve``; the in-process httpx router is ``mockserver.respx_router``.
"""

from mockserver.aiohttp_app import create_app
from mockserver.config import MockConfig
from mockserver.core.errors import ApiError
from mockserver.core.service import MockService
from mockserver.gateway import Gateway, HttpReply, HttpRequest
from mockserver.runtime import build_service

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
