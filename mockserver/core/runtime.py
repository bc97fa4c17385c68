"""Assembling a running mock from a config: backends, service, app, server."""

from __future__ import annotations

import uuid

from mockserver.core.config import MockConfig
from mockserver.core.service import MockService
from mockserver.core.state import MemoryBackend, open_backend


def build_service(config: MockConfig) -> MockService:
    """Where state lives, by config:

    * no Redis: everything in process memory;
    * ``redis_url``: records in memory, limit counters and idempotency records in Redis (the
      page's "API-side Redis"), under a namespace of this run — the records they refer to die
      with the process, so a later run must not see them;
    * ``redis_url`` and ``shared_records`` (``--workers N``): everything in Redis, under the
      configured prefix, shared by every process that points there.
    """
    if config.redis_url and config.shared_records:
        shared = open_backend(config.redis_url, prefix=config.redis_prefix)
        return MockService(config, db=shared, cache=shared)
    if config.redis_url:
        run_prefix = f"{config.redis_prefix}run-{uuid.uuid4().hex[:12]}:"
        cache = open_backend(config.redis_url, prefix=run_prefix)
        return MockService(config, db=MemoryBackend(), cache=cache)
    return MockService(config, db=MemoryBackend())
