"""Assembling a running mock from a config: backends, service, app, server."""

from __future__ import annotations

from mockserver.config import MockConfig
from mockserver.core.service import MockService
from mockserver.core.state import MemoryBackend, open_backend


def build_service(config: MockConfig) -> MockService:
    """Records in memory unless shared; limits and idempotency in Redis when it is configured."""
    if config.redis_url and config.shared_records:
        shared = open_backend(config.redis_url)
        return MockService(config, db=shared, cache=shared)
    cache = open_backend(config.redis_url) if config.redis_url else None
    return MockService(config, db=MemoryBackend(), cache=cache)
